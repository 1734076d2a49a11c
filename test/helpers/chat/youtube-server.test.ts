/**
 * The YouTube stand-in checked with plain fetch (no connector): the pages and the InnerTube answers
 * have the shapes the connector and other tests rely on, and it refuses what YouTube refuses.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startYouTubeServer, type YouTubeServer } from './youtube-server.js';

let srv: YouTubeServer;
afterEach(async () => srv?.close());

function initialData(html: string): { liveChatRenderer?: Record<string, unknown> } {
  const json = /var ytInitialData = (\{.*?\});<\/script>/s.exec(html)?.[1];
  const data = JSON.parse(json ?? 'null') as { contents: { twoColumnWatchNextResults: { conversationBar?: { liveChatRenderer: Record<string, unknown> } } } };
  return { liveChatRenderer: data.contents.twoColumnWatchNextResults?.conversationBar?.liveChatRenderer };
}

type Chat = { continuations?: Record<string, { continuation: string; timeoutMs: number }>[]; actions?: Record<string, { item: Record<string, { id: string }> }>[] };
async function poll(continuation: unknown, client: unknown = { clientName: 'WEB', clientVersion: '2.20261130.01.00' }): Promise<{ status: number; chat?: Chat }> {
  const res = await fetch(`${srv.url}/youtubei/v1/live_chat/get_live_chat?prettyPrint=false`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ context: { client }, continuation }),
  });
  const body = (await res.json()) as { continuationContents?: { liveChatContinuation: Chat } };
  return { status: res.status, chat: body.continuationContents?.liveChatContinuation };
}

function tokens(renderer: Record<string, unknown>): { top: string; all: string } {
  const items = (renderer.header as { liveChatHeaderRenderer: { viewSelector: { sortFilterSubMenuRenderer: { subMenuItems: { title: string; continuation: { reloadContinuationData: { continuation: string } } }[] } } } }).liveChatHeaderRenderer.viewSelector.sortFilterSubMenuRenderer.subMenuItems;
  const of = (title: string): string => items.find((i) => i.title === title)!.continuation.reloadContinuationData.continuation;
  return { top: of('Top chat'), all: of('Live chat') };
}

describe('the YouTube InnerTube stand-in', () => {
  it('serves a watch page whose continuations read the chat page by page, "Top chat" holding only paid items', async () => {
    srv = await startYouTubeServer({ timeoutMs: 4000 });
    const textId = srv.pushText({ name: '@a' }, 'hello');
    const paidId = srv.pushSuperChat({ name: '@b' }, '$2.00', 'paid');
    const html = await (await fetch(`${srv.url}/watch?v=${srv.videoId}`)).text();
    expect(html).toContain(`<link rel="canonical" href="https://www.youtube.com/watch?v=${srv.videoId}">`);
    expect(html).toMatch(/ytcfg\.set\(\{"INNERTUBE_API_KEY":"[^"]+","INNERTUBE_CLIENT_VERSION":"2\.\d{8}\.\d{2}\.\d{2}"/);
    const renderer = initialData(html).liveChatRenderer!;
    expect(renderer.isReplay).toBeUndefined();
    const { top, all } = tokens(renderer);

    const first = await poll(all);
    expect(first.status).toBe(200);
    const items = first.chat!.actions!.flatMap((a) => (a.addChatItemAction ? Object.values(a.addChatItemAction.item).map((r) => r.id) : []));
    expect(items).toEqual([textId, paidId]);
    expect(first.chat!.actions!.some((a) => 'addLiveChatTickerItemAction' in a)).toBe(true);
    const next = first.chat!.continuations![0]!.invalidationContinuationData!;
    expect(next.timeoutMs).toBe(4000);
    expect((await poll(next.continuation)).chat!.actions).toBeUndefined(); // nothing new since

    const topPage = await poll(top);
    expect(topPage.chat!.actions!.flatMap((a) => (a.addChatItemAction ? Object.values(a.addChatItemAction.item).map((r) => r.id) : []))).toEqual([paidId]);
  });

  it('answers 400 INVALID_ARGUMENT to an unknown continuation or a client that is not WEB', async () => {
    srv = await startYouTubeServer();
    const { all } = tokens(initialData(await (await fetch(`${srv.url}/watch?v=${srv.videoId}`)).text()).liveChatRenderer!);
    expect((await poll('made-up')).status).toBe(400);
    expect((await poll(all, { clientName: 'ANDROID', clientVersion: '19.01.1' })).status).toBe(400);
    expect((await poll(all, { clientName: 'WEB' })).status).toBe(400);
    expect((await poll(all)).status).toBe(200);
  });

  it('fails polls on request, then ends the stream: no continuation, and the watch page turns to a replay', async () => {
    srv = await startYouTubeServer({ continuation: 'timed' });
    const { all } = tokens(initialData(await (await fetch(`${srv.url}/watch?v=${srv.videoId}`)).text()).liveChatRenderer!);
    srv.failNext('http500');
    srv.failNext('garbage');
    srv.drop();
    expect((await poll(all)).status).toBe(500);
    const garbage = await fetch(`${srv.url}/youtubei/v1/live_chat/get_live_chat`, { method: 'POST', body: JSON.stringify({ context: { client: { clientName: 'WEB', clientVersion: '2.20261130.01.00' } }, continuation: all }) });
    await expect(garbage.json()).rejects.toThrow(SyntaxError);
    await expect(poll(all)).rejects.toThrow(/fetch failed/);
    const ok = await poll(all);
    expect(ok.chat!.continuations![0]!.timedContinuationData).toBeDefined();
    srv.endStream();
    expect((await poll(all)).chat).toEqual({});
    expect(initialData(await (await fetch(`${srv.url}/watch?v=${srv.videoId}`)).text()).liveChatRenderer!.isReplay).toBe(true);
  });

  it('finds the stream from the channel, and says when the channel is not live or unknown', async () => {
    srv = await startYouTubeServer();
    expect(await (await fetch(`${srv.url}/${srv.handle}/live`)).text()).toContain(`watch?v=${srv.videoId}"`);
    expect(await (await fetch(`${srv.url}/channel/${srv.channelId}/live`)).text()).toContain(`watch?v=${srv.videoId}"`);
    srv.setLive(false);
    expect(await (await fetch(`${srv.url}/${srv.handle}/live`)).text()).toContain(`href="https://www.youtube.com/channel/${srv.channelId}"`);
    expect((await fetch(`${srv.url}/@unknown/live`)).status).toBe(404);
    expect(await (await fetch(`${srv.url}/watch?v=unknownVid1`)).text()).toContain('"status":"ERROR"');
  });

  it('holds polls open and counts the ones a client gives up', async () => {
    srv = await startYouTubeServer();
    const { all } = tokens(initialData(await (await fetch(`${srv.url}/watch?v=${srv.videoId}`)).text()).liveChatRenderer!);
    srv.hold();
    const ctl = new AbortController();
    const body = JSON.stringify({ context: { client: { clientName: 'WEB', clientVersion: '2.20261130.01.00' } }, continuation: all });
    const given = fetch(`${srv.url}/youtubei/v1/live_chat/get_live_chat`, { method: 'POST', body, signal: ctl.signal });
    const kept = fetch(`${srv.url}/youtubei/v1/live_chat/get_live_chat`, { method: 'POST', body });
    await srv.until(() => srv.held() === 2);
    ctl.abort();
    await expect(given).rejects.toThrow(/abort/i);
    await srv.until(() => srv.aborted() === 1);
    srv.release();
    expect((await kept).status).toBe(200);
    expect(srv.polls()).toHaveLength(2);
  });
});
