/**
 * The YouTube connector against the InnerTube stand-in over real HTTP. Polls and retries go through
 * an injected timer: each test fires the next one when it chooses and reads the delay the connector
 * asked for, so the pacing rules are asserted exactly and nothing waits on the wall clock.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChatConnection } from '../../../src/shared/config.js';
import { LiveChatMessage, type ChatConnectionState } from '../../../src/shared/live-chat.js';
import { createYouTubeSource, YouTubeChatSource, type Timer } from '../../../src/workers/live-chat/platforms/youtube.js';
import { backoffMs, type ChatSink, type ChatSource } from '../../../src/workers/live-chat/source.js';
import { startYouTubeServer, type YouTubeServer } from '../../helpers/chat/youtube-server.js';

type Call =
  | { type: 'message'; m: LiveChatMessage }
  | { type: 'status'; state: ChatConnectionState; detail?: string; retry_in_ms?: number }
  | { type: 'malformed'; what: string };

function recorder(): ChatSink & { calls: Call[]; messages(): LiveChatMessage[]; states(): ChatConnectionState[]; last(): Call | undefined } {
  const calls: Call[] = [];
  return {
    calls,
    message: (m) => void calls.push({ type: 'message', m }),
    status: (state, detail, extra) => void calls.push({ type: 'status', state, detail, retry_in_ms: extra?.retry_in_ms }),
    malformed: (what) => void calls.push({ type: 'malformed', what }),
    messages: () => calls.flatMap((c) => (c.type === 'message' ? [c.m] : [])),
    states: () => calls.flatMap((c) => (c.type === 'status' ? [c.state] : [])),
    last: () => calls.at(-1),
  };
}

/** Timers that fire only when the test says, recording the delay each was set for. */
function stepTimers(): { setTimer: (fn: () => void, ms: number) => Timer; pending: { fn: () => void; ms: number }[]; fire(): Promise<number> } {
  const pending: { fn: () => void; ms: number }[] = [];
  return {
    pending,
    setTimer: (fn, ms) => {
      const t = { fn, ms };
      pending.push(t);
      return {
        cancel: () => {
          const i = pending.indexOf(t);
          if (i >= 0) pending.splice(i, 1);
        },
      };
    },
    async fire() {
      await vi.waitFor(() => expect(pending.length).toBe(1), { timeout: 10_000, interval: 5 });
      const t = pending.shift()!;
      t.fn();
      return t.ms;
    },
  };
}

const log = pino({ level: 'silent' });
const until = (check: () => void): Promise<void> => vi.waitFor(check, { timeout: 10_000, interval: 5 });
const alice = { name: '@alice', channelId: 'UCaliceaaaaaaaaaaaaaaaaa' };

let server: YouTubeServer | undefined;
const sources: ChatSource[] = [];
afterEach(async () => {
  for (const s of sources.splice(0)) await s.stop();
  await server?.close();
  server = undefined;
});

async function connect(channel: string, opts: Parameters<typeof startYouTubeServer>[0] = {}) {
  server = await startYouTubeServer(opts);
  const sink = recorder();
  const timers = stepTimers();
  const conn: ChatConnection = { id: 'yt1', platform: 'youtube', channel: channel || server.videoId, enabled: true, postReplies: false, endpoint: server.url };
  const source = new YouTubeChatSource(conn, sink, { log, now: () => 1_900_000_000_000, random: () => 0.5, setTimer: timers.setTimer });
  sources.push(source);
  return { srv: server, sink, timers, source };
}

describe('YouTube live chat against the InnerTube stand-in', () => {
  it('turns every kind of chat item into the right LiveChatMessage, reading the "Live chat" view', async () => {
    const { srv, sink, source } = await connect('');
    const ids = [
      srv.pushText({ ...alice, badges: ['moderator'] }, [{ text: 'hi ' }, { emoji: { emojiId: '😀', shortcuts: [':grinning:'] } }, { text: ' there' }]),
      srv.pushSuperChat({ name: '@bob', badges: ['member', 'verified'] }, 'NT$150.00', 'for the stream'),
      srv.pushSuperSticker({ name: '@carol' }, '€2,00', 'Cat waving'),
      srv.pushMembership({ name: '@dan' }),
      srv.pushMembership({ name: '@erin' }, 6, 'half a year'),
      srv.pushGiftedMemberships({ name: '@frank', badges: ['owner'] }, 5),
    ];
    await source.start();
    await until(() => expect(sink.messages()).toHaveLength(6));
    const m = sink.messages().map((x) => LiveChatMessage.parse(x));
    expect(m.map((x) => x.id)).toEqual(ids.map((id) => `youtube:${id}`));
    for (const x of m) expect(x).toMatchObject({ platform: 'youtube', connection: 'yt1', channel: srv.videoId, received_at: 1_900_000_000_000 });
    expect(m[0]).toMatchObject({ kind: 'message', text: 'hi :grinning: there', author: { id: alice.channelId, name: '@alice', roles: ['moderator'] } });
    expect(m[1]).toMatchObject({ kind: 'paid', text: 'for the stream', paid: { amount: 150, currency: 'TWD', display: 'NT$150.00' } });
    expect(m[1]!.author.roles.sort()).toEqual(['member', 'verified']);
    expect(m[2]).toMatchObject({ kind: 'paid', text: '', paid: { amount: 2, currency: 'EUR' }, gift: { name: 'Super Sticker: Cat waving', count: 1 } });
    expect(m[3]).toMatchObject({ kind: 'member', text: '', gift: { name: 'membership', count: 1 }, author: { name: '@dan', roles: ['member'] } });
    expect(m[4]).toMatchObject({ kind: 'member', text: 'half a year', gift: { name: 'Member', count: 6 } });
    expect(m[5]).toMatchObject({ kind: 'gift', gift: { name: 'membership', count: 5 }, author: { name: '@frank', roles: ['broadcaster'] } });
    expect(sink.states()).toEqual(['connecting', 'live']);
    expect(sink.calls.filter((c) => c.type === 'malformed')).toEqual([]); // the ticker action next to a Super Chat is not chat

    const poll = srv.polls()[0]!;
    expect(poll.query.prettyPrint).toBe('false');
    expect(poll.view).toBe('all');
    expect(poll.body).toMatchObject({ context: { client: { clientName: 'WEB', clientVersion: '2.20261130.01.00', visitorData: 'CgtTdGFuZEluVmlzaXQ%3D' } } });
  });

  it("polls at the server's timeoutMs bounded to 1-10 s, following each continuation", async () => {
    const { srv, sink, timers, source } = await connect('', { timeoutMs: 2500, continuation: 'timed' });
    await source.start();
    await until(() => expect(sink.states()).toEqual(['connecting', 'live']));
    const id = srv.pushText(alice, 'first');
    expect(await timers.fire()).toBe(2500);
    await until(() => expect(sink.messages().map((x) => x.id)).toEqual([`youtube:${id}`]));
    // Each delay is the one asked for by the page just read (changes apply from the next answer).
    srv.setTimeoutMs(50);
    expect(await timers.fire()).toBe(2500);
    expect(await timers.fire()).toBe(1000);
    await until(() => expect(timers.pending).toHaveLength(1)); // that poll was answered
    srv.setTimeoutMs(60_000);
    expect(await timers.fire()).toBe(1000);
    expect(await timers.fire()).toBe(10_000);
    // The stand-in answers 400 to a continuation it never issued, so every poll used the latest one.
    const tokens = srv.polls().map((p) => (p.body as { continuation: string }).continuation);
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(sink.states()).toEqual(['connecting', 'live']);
  });

  it('does not emit a replayed page twice', async () => {
    const { srv, sink, timers, source } = await connect('');
    srv.pushText(alice, 'one');
    await source.start();
    await until(() => expect(sink.messages()).toHaveLength(1));
    srv.pushText(alice, 'two');
    await timers.fire();
    await until(() => expect(sink.messages()).toHaveLength(2));
    srv.failNext('replay');
    const three = srv.pushText(alice, 'three');
    await timers.fire(); // one, two, three again
    const four = srv.pushText(alice, 'four');
    await timers.fire();
    await until(() => expect(sink.messages().at(-1)?.id).toBe(`youtube:${four}`));
    expect(sink.messages().map((x) => x.text)).toEqual(['one', 'two', 'three', 'four']);
    expect(sink.messages()[2]!.id).toBe(`youtube:${three}`);
  });

  it('reconnects with back-off after a dropped socket and HTTP 500s, then messages flow again', async () => {
    const { srv, sink, timers, source } = await connect('');
    await source.start();
    await until(() => expect(sink.states()).toEqual(['connecting', 'live']));
    srv.failNext('drop');
    await timers.fire();
    await until(() => expect(sink.last()).toMatchObject({ type: 'status', state: 'reconnecting', retry_in_ms: backoffMs(0, () => 0.5) }));
    expect((sink.last() as { detail: string }).detail).toMatch(/^YouTube could not be reached \(the connection was (cut|reset), \w+\): retrying in 1 s$/);
    srv.failNext('http500', 2);
    expect(await timers.fire()).toBe(1000);
    await until(() => expect(sink.last()).toMatchObject({ type: 'status', state: 'reconnecting', retry_in_ms: 2000 }));
    expect((sink.last() as { detail: string }).detail).toMatch(/get_live_chat answered HTTP 500: retrying in 2 s/);
    expect(await timers.fire()).toBe(2000);
    await until(() => expect(sink.last()).toMatchObject({ state: 'reconnecting', retry_in_ms: 4000 }));
    const id = srv.pushText(alice, 'back');
    expect(await timers.fire()).toBe(4000);
    await until(() => expect(sink.messages().map((x) => x.id)).toEqual([`youtube:${id}`]));
    expect(sink.states()).toEqual(['connecting', 'live', 'reconnecting', 'reconnecting', 'reconnecting', 'live']);
    // After a success the back-off starts over.
    srv.failNext('http500');
    await timers.fire();
    await until(() => expect(sink.last()).toMatchObject({ state: 'reconnecting', retry_in_ms: 1000 }));
  });

  it('reloads the watch page when a continuation is refused (4xx), without re-emitting the backlog', async () => {
    const { srv, sink, timers, source } = await connect('');
    srv.pushText(alice, 'old');
    await source.start();
    await until(() => expect(sink.messages()).toHaveLength(1));
    srv.failNext('http404');
    await timers.fire();
    await until(() => expect(sink.last()).toMatchObject({ state: 'reconnecting' }));
    srv.pushText(alice, 'new');
    await timers.fire(); // watch page again, then a poll from its first continuation (the whole backlog)
    await until(() => expect(sink.messages().map((x) => x.text)).toEqual(['old', 'new']));
    expect(srv.received.filter((r) => r.path === '/watch')).toHaveLength(2);
    expect(sink.states().at(-1)).toBe('live');
  });

  it('reports garbage JSON and a malformed action through sink.malformed, and the next message still arrives', async () => {
    const { srv, sink, timers, source } = await connect('');
    await source.start();
    await until(() => expect(sink.states()).toEqual(['connecting', 'live']));
    srv.failNext('garbage');
    await timers.fire();
    await until(() => expect(sink.last()).toEqual({ type: 'malformed', what: 'get_live_chat answered with invalid JSON' }));
    srv.pushRaw({ addChatItemAction: { item: { liveChatTextMessageRenderer: { message: { runs: [{ text: 'no id, no author' }] } } } } });
    const id = srv.pushText(alice, 'still here');
    expect(await timers.fire()).toBe(1000); // the back-off, same continuation
    await until(() => expect(sink.messages().map((x) => x.id)).toEqual([`youtube:${id}`]));
    expect(sink.calls.filter((c) => c.type === 'malformed')).toEqual([
      { type: 'malformed', what: 'get_live_chat answered with invalid JSON' },
      { type: 'malformed', what: 'liveChatTextMessageRenderer has no id' },
    ]);
    expect(sink.states()).toEqual(['connecting', 'live']);
  });

  it('reloads the watch page after three unreadable answers in a row', async () => {
    const { srv, sink, timers, source } = await connect('');
    await source.start();
    await until(() => expect(sink.states()).toEqual(['connecting', 'live']));
    srv.failNext('garbage', 3);
    expect(await timers.fire()).toBe(1000);
    expect(await timers.fire()).toBe(1000); // after the first bad answer
    expect(await timers.fire()).toBe(2000); // after the second
    await until(() => expect(sink.last()).toMatchObject({ state: 'reconnecting', retry_in_ms: 4000 }));
    expect((sink.last() as { detail: string }).detail).toMatch(/3 unreadable pages in a row \(reloading the watch page\)/);
    const id = srv.pushText(alice, 'recovered');
    await timers.fire();
    await until(() => expect(sink.messages().map((x) => x.id)).toEqual([`youtube:${id}`]));
    expect(srv.received.filter((r) => r.path === '/watch')).toHaveLength(2);
    expect(sink.calls.filter((c) => c.type === 'malformed')).toHaveLength(3);
  });

  it('ends when the stream ends: status ended naming the fix, and no further poll', async () => {
    const { srv, sink, timers, source } = await connect('');
    await source.start();
    await until(() => expect(sink.states()).toEqual(['connecting', 'live']));
    srv.pushText(alice, 'bye');
    srv.endStream();
    await timers.fire();
    await until(() => expect(sink.last()).toMatchObject({ type: 'status', state: 'ended' }));
    expect(sink.messages().map((x) => x.text)).toEqual(['bye']);
    expect((sink.last() as { detail: string }).detail).toMatch(/has ended: set the next stream's video id/);
    expect(timers.pending).toEqual([]);
  });

  it('stop() aborts the poll in flight and cancels its timer; no sink call after it', async () => {
    const { srv, sink, timers, source } = await connect('');
    await source.start();
    await until(() => expect(sink.states()).toEqual(['connecting', 'live']));
    srv.hold();
    await timers.fire();
    await srv.until(() => srv.held() === 1);
    await source.stop();
    await srv.until(() => srv.aborted() === 1); // the stand-in saw the client go
    const callsAtStop = sink.calls.length;
    expect(sink.last()).toMatchObject({ state: 'stopped' });
    // A second client on the same stream reads a message pushed after the stop: the first would have too.
    srv.release();
    const other = recorder();
    const b = createYouTubeSource({ id: 'yt2', platform: 'youtube', channel: srv.videoId, enabled: true, postReplies: false, endpoint: srv.url }, other, { log });
    sources.push(b);
    const id = srv.pushText(alice, 'after stop');
    await b.start();
    await until(() => expect(other.messages().map((x) => x.id)).toContain(`youtube:${id}`));
    expect(sink.calls.length).toBe(callsAtStop);
    expect(timers.pending).toEqual([]);
  });
});

describe('YouTube channel input and errors that need the user', () => {
  it("finds a channel's live stream from its @handle and its UC id", async () => {
    const { srv, sink, source } = await connect('@favstandin');
    const id = srv.pushText(alice, 'via handle');
    await source.start();
    await until(() => expect(sink.messages().map((x) => x.id)).toEqual([`youtube:${id}`]));
    expect(sink.messages()[0]!.channel).toBe(srv.videoId);
    const other = recorder();
    const b = createYouTubeSource({ id: 'yt2', platform: 'youtube', channel: `https://www.youtube.com/channel/${srv.channelId}`, enabled: true, postReplies: false, endpoint: srv.url }, other, { log });
    sources.push(b);
    await b.start();
    await until(() => expect(other.messages().map((x) => x.id)).toEqual([`youtube:${id}`]));
    expect(srv.received.filter((r) => r.path.endsWith('/live')).map((r) => r.path)).toEqual(['/@favstandin/live', `/channel/${srv.channelId}/live`]);
  });

  it('waits for a channel that is not live, checking again every minute', async () => {
    const { srv, sink, timers, source } = await connect('@favstandin', { live: false });
    await source.start();
    await until(() => expect(sink.last()).toMatchObject({ type: 'status', state: 'reconnecting', retry_in_ms: 60_000 }));
    expect((sink.last() as { detail: string }).detail).toMatch(/@favstandin is not live now: checking again in 60 s/);
    srv.setLive(true);
    const id = srv.pushText(alice, 'we are live');
    expect(await timers.fire()).toBe(60_000);
    await until(() => expect(sink.messages().map((x) => x.id)).toEqual([`youtube:${id}`]));
    expect(sink.states()).toEqual(['connecting', 'reconnecting', 'live']);
  });

  it.each([
    ['an unknown video', 'zzzzzzzzzzz', 'error', /video zzzzzzzzzzz is unavailable \(This video is unavailable\): check the video id/],
    ['a video without live chat', 'vodVideo001', 'error', /vodVideo001 has no live chat .*: set the id of a live stream with chat/],
    ['a finished stream', 'pastStream1', 'ended', /pastStream1 has ended \(its chat is a replay\): set the id of a live stream/],
    ['an unknown channel', '@nobodyhere', 'error', /YouTube has no channel @nobodyhere: check the channel/],
  ])('%s becomes a status whose detail names the fix', async (_what, channel, state, detail) => {
    const { srv, sink, timers, source } = await connect(channel, { videos: { vodVideo001: 'vod', pastStream1: 'replay' } });
    await source.start();
    await until(() => expect(sink.last()).toMatchObject({ type: 'status', state }));
    expect((sink.last() as { detail: string }).detail).toMatch(detail);
    expect(srv.polls()).toEqual([]);
    expect(timers.pending).toEqual([]);
  });

  it('retries the watch page with back-off when it fails or is not a YouTube page (a consent page)', async () => {
    server = await startYouTubeServer();
    const srv = server;
    srv.failNextPage('http500');
    srv.failNextPage('garbage');
    const sink = recorder();
    const timers = stepTimers();
    const source = createYouTubeSource(srv.connection('yt1'), sink, { log, random: () => 0.5, setTimer: timers.setTimer });
    sources.push(source);
    const id = srv.pushText(alice, 'finally');
    await source.start();
    await until(() => expect(sink.last()).toMatchObject({ state: 'reconnecting', retry_in_ms: 1000 }));
    expect((sink.last() as { detail: string }).detail).toMatch(/YouTube's page for video liveStream1 answered HTTP 500: retrying in 1 s/);
    expect(await timers.fire()).toBe(1000);
    await until(() => expect(sink.last()).toMatchObject({ state: 'reconnecting', retry_in_ms: 2000 }));
    expect(sink.calls.filter((c) => c.type === 'malformed')).toEqual([{ type: 'malformed', what: "YouTube's page for video liveStream1 has no ytInitialData" }]);
    expect((sink.last() as { detail: string }).detail).toMatch(/could not be read \(a consent or bot-check page\?\): retrying in 2 s/);
    expect(await timers.fire()).toBe(2000);
    await until(() => expect(sink.messages().map((x) => x.id)).toEqual([`youtube:${id}`]));
    expect(sink.states()).toEqual(['connecting', 'reconnecting', 'reconnecting', 'live']);
  });

  it('refuses a channel setting that is no YouTube form, without a request', async () => {
    const { srv, sink, source } = await connect('not a channel');
    await source.start();
    expect(sink.calls).toEqual([{ type: 'status', state: 'error', detail: expect.stringMatching(/"not a channel" is not a YouTube video id, watch URL, @handle or channel id: set one/) }]);
    expect(srv.received).toEqual([]);
  });
});
