/**
 * A local stand-in for YouTube's live chat as web clients read it (InnerTube), written from the
 * shape of YouTube's public pages and JSON:
 *
 *   GET  /watch?v=<id>              the watch page: `ytcfg.set({INNERTUBE_CLIENT_VERSION, VISITOR_DATA})`,
 *                                   `ytInitialPlayerResponse` (playabilityStatus) and `ytInitialData` whose
 *                                   conversationBar.liveChatRenderer carries the first continuations
 *                                   ("Top chat" by default, "Live chat" in the view selector); an unknown id
 *                                   gets playabilityStatus ERROR, an ended stream a replay chat (isReplay).
 *   GET  /@handle/live, /channel/<UC id>/live   the watch page of the channel's stream; a channel page
 *                                   (canonical /channel/<id>) when it is not live; 404 for an unknown channel.
 *   POST /youtubei/v1/live_chat/get_live_chat   body {context:{client:{clientName:'WEB', clientVersion}},
 *                                   continuation}: the actions since that continuation and the next one
 *                                   (invalidationContinuationData or timedContinuationData with timeoutMs);
 *                                   none once the stream has ended. A bad body or an unknown continuation
 *                                   gets HTTP 400 INVALID_ARGUMENT, as InnerTube answers.
 *
 * A test pushes chat items (text, Super Chat, Super Sticker, membership, gifted memberships, or any
 * raw action), ends the stream, makes the next polls fail (garbage JSON, HTTP 500/404, a dropped
 * socket, a replayed page) or page loads (HTTP 500, a consent page), holds polls open, and reads
 * every request the client made. One call starts it; `connection()` is a ChatConnection to it:
 *
 *   const yt = await startYouTubeServer();
 *   const source = createYouTubeSource(yt.connection('yt'), sink, { log });
 *   yt.pushSuperChat({ name: '@fan' }, '$5.00', 'hello');
 */
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatConnection } from '../../../src/shared/config.js';

export type YouTubeBadge = 'owner' | 'moderator' | 'member' | 'verified';
export interface YouTubeAuthor {
  name: string;
  /** Default: a stable UC… id made from the name. */
  channelId?: string;
  badges?: YouTubeBadge[];
}
export type YouTubeFailure = 'garbage' | 'http500' | 'http404' | 'drop' | 'replay';

export interface YouTubeServerOptions {
  /** The live stream's video id (11 characters). */
  videoId?: string;
  channelId?: string;
  handle?: string;
  /** What the server asks the client to wait between polls. */
  timeoutMs?: number;
  continuation?: 'invalidation' | 'timed';
  /** false: the channel is not streaming (its /live page is the channel page). */
  live?: boolean;
  /** Other videos the server knows: a finished stream (chat replay) or an ordinary video (no chat). */
  videos?: Record<string, 'replay' | 'vod'>;
}

export interface YouTubeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body?: unknown;
  /** For get_live_chat: which view the continuation belongs to. */
  view?: 'top' | 'all';
}

export interface YouTubeServer {
  url: string;
  port: number;
  videoId: string;
  channelId: string;
  handle: string;
  received: YouTubeRequest[];
  /** get_live_chat requests only. */
  polls(): YouTubeRequest[];
  pushText(author: YouTubeAuthor, runs: string | unknown[]): string;
  pushSuperChat(author: YouTubeAuthor, amount: string, text?: string): string;
  pushSuperSticker(author: YouTubeAuthor, amount: string, label: string): string;
  /** A new member (no months) or a milestone ("Member for N months", with an optional message). */
  pushMembership(author: YouTubeAuthor, months?: number, text?: string): string;
  pushGiftedMemberships(author: YouTubeAuthor, count: number): string;
  /** Any action object as is (malformed ones included). */
  pushRaw(action: unknown): void;
  /** The next `times` polls fail this way. */
  failNext(kind: YouTubeFailure, times?: number): void;
  /** The next poll's connection is cut without an answer (as failNext('drop')). */
  drop(): void;
  /** The next `times` page loads (watch, /live) answer HTTP 500, or a page without YouTube's data (a captcha or consent page). */
  failNextPage(kind: 'http500' | 'garbage', times?: number): void;
  /** A live-chat connection that reads this stand-in (`channel` defaults to the live video id). */
  connection(id?: string, channel?: string): ChatConnection;
  endStream(): void;
  setTimeoutMs(ms: number): void;
  setLive(live: boolean): void;
  /** Polls wait (unanswered) until release(); `aborted` counts held polls the client gave up. */
  hold(): void;
  release(): void;
  held(): number;
  aborted(): number;
  /** Resolves when `pred` holds, re-checked on every request (rejects after `ms`). */
  until(pred: () => boolean, ms?: number): Promise<void>;
  close(): Promise<void>;
}

const CLIENT_VERSION = '2.20261130.01.00';
const INVALID = { error: { code: 400, message: 'Request contains an invalid argument.', errors: [{ reason: 'badRequest' }], status: 'INVALID_ARGUMENT' } };

function itemId(): string {
  return `ChwKGkN${randomBytes(19).toString('base64url')}`;
}
function channelIdOf(author: YouTubeAuthor): string {
  return author.channelId ?? `UC${createHash('sha256').update(author.name).digest('base64url').slice(0, 22)}`;
}
function badge(b: YouTubeBadge): unknown {
  if (b === 'member') {
    return { liveChatAuthorBadgeRenderer: { customThumbnail: { thumbnails: [{ url: 'https://yt3.ggpht.com/badge=s16' }] }, tooltip: 'Member (6 months)', accessibility: { accessibilityData: { label: 'Member (6 months)' } } } };
  }
  const tip = { owner: 'Owner', moderator: 'Moderator', verified: 'Verified' }[b];
  return { liveChatAuthorBadgeRenderer: { icon: { iconType: b.toUpperCase() }, tooltip: tip, accessibility: { accessibilityData: { label: tip } } } };
}
function authorFields(a: YouTubeAuthor): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    authorName: { simpleText: a.name },
    authorPhoto: { thumbnails: [{ url: 'https://yt4.ggpht.com/photo=s32', width: 32, height: 32 }] },
    authorExternalChannelId: channelIdOf(a),
    contextMenuEndpoint: { commandMetadata: { webCommandMetadata: { ignoreNavigation: true } }, liveChatItemContextMenuEndpoint: { params: 'Q2g0S0dn' } },
    contextMenuAccessibility: { accessibilityData: { label: 'Chat actions' } },
  };
  if (a.badges?.length) fields.authorBadges = a.badges.map(badge);
  return fields;
}
function runsOf(text: string | unknown[]): { runs: unknown[] } {
  return { runs: typeof text === 'string' ? [{ text }] : text };
}
function html(cfg: unknown, player: unknown, data: unknown, canonical: string): string {
  return `<!DOCTYPE html><html lang="en"><head><link rel="canonical" href="${canonical}"><script>ytcfg.set(${JSON.stringify(cfg)});</script></head><body><script>var ytInitialPlayerResponse = ${JSON.stringify(player)};var meta = {"a":"}"};</script><script>var ytInitialData = ${JSON.stringify(data)};</script></body></html>`;
}

export async function startYouTubeServer(opts: YouTubeServerOptions = {}): Promise<YouTubeServer> {
  const videoId = opts.videoId ?? 'liveStream1';
  const channelId = opts.channelId ?? 'UCfavStandInChannel00001';
  const handle = opts.handle ?? '@favstandin';
  const videos = opts.videos ?? {};
  let timeoutMs = opts.timeoutMs ?? 1000;
  let live = opts.live ?? true;
  let ended = false;
  const actions: { action: unknown; paid: boolean }[] = [];
  /** Continuation token -> the offset in `actions` it reads from. */
  const tokens = new Map<string, { offset: number; view: 'top' | 'all' }>();
  const failures: YouTubeFailure[] = [];
  const pageFailures: ('http500' | 'garbage')[] = [];
  const received: YouTubeRequest[] = [];
  const events = new EventEmitter();
  let holding = false;
  const heldPolls = new Set<() => void>();
  let abortedPolls = 0;

  const token = (offset: number, view: 'top' | 'all'): string => {
    const t = Buffer.from(`0ofMyAN${videoId}:${offset}:${view}:${randomBytes(6).toString('hex')}`).toString('base64url');
    tokens.set(t, { offset, view });
    return t;
  };

  const watchPage = (id: string): string => {
    const cfg = { INNERTUBE_API_KEY: 'AIzaStandInKey', INNERTUBE_CLIENT_VERSION: CLIENT_VERSION, VISITOR_DATA: 'CgtTdGFuZEluVmlzaXQ%3D' };
    const known = id === videoId ? (ended ? 'replay' : 'live') : videos[id];
    if (!known) {
      return html(cfg, { playabilityStatus: { status: 'ERROR', reason: 'This video is unavailable' } }, { contents: {} }, 'https://www.youtube.com/');
    }
    const player = { playabilityStatus: { status: 'OK' }, videoDetails: { videoId: id, isLive: known === 'live' } };
    const item = (title: string, selected: boolean, view: 'top' | 'all'): unknown => ({
      title,
      selected,
      continuation: { reloadContinuationData: { continuation: token(0, view), clickTrackingParams: 'CAEQl98BIhM' } },
    });
    const chat =
      known === 'vod'
        ? undefined
        : {
            liveChatRenderer: {
              continuations: [{ reloadContinuationData: { continuation: token(0, 'top'), clickTrackingParams: 'CAEQl98BIhM' } }],
              clientMessages: { reconnectMessage: { runs: [{ text: 'Chat disconnected' }] }, fatalError: { runs: [{ text: 'Chat error' }] } },
              header: { liveChatHeaderRenderer: { viewSelector: { sortFilterSubMenuRenderer: { subMenuItems: [item('Top chat', true, 'top'), item('Live chat', false, 'all')] } } } },
              ...(known === 'replay' ? { isReplay: true } : {}),
            },
          };
    const data = { contents: { twoColumnWatchNextResults: { results: { results: { contents: [] } }, ...(chat ? { conversationBar: chat } : {}) } } };
    return html(cfg, player, data, `https://www.youtube.com/watch?v=${id}`);
  };

  const channelPage = (): string =>
    html({ INNERTUBE_CLIENT_VERSION: CLIENT_VERSION }, {}, { contents: { twoColumnBrowseResultsRenderer: { tabs: [] } } }, `https://www.youtube.com/channel/${channelId}`);

  const chatAnswer = (from: { offset: number; view: 'top' | 'all' }, replay: boolean): unknown => {
    const start = replay ? 0 : from.offset;
    const page = actions.slice(start).filter((a) => from.view === 'all' || a.paid).map((a) => a.action);
    const next = token(actions.length, from.view);
    const data = { timeoutMs, continuation: next };
    const continuations = ended ? [] : [opts.continuation === 'timed' ? { timedContinuationData: data } : { invalidationContinuationData: { invalidationId: { objectSource: 1056, objectId: `Y2hhdH4${videoId}`, topic: `chat~${videoId}`, subscribeToGcmTopics: true }, ...data } }];
    const chat: Record<string, unknown> = ended ? {} : { continuations };
    if (page.length) chat.actions = page;
    return { responseContext: { mainAppWebResponseContext: { loggedOut: true } }, continuationContents: { liveChatContinuation: chat } };
  };

  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8' }).end(JSON.stringify(body));
  };

  const answerPoll = (req: YouTubeRequest, res: http.ServerResponse): void => {
    const body = req.body as { context?: { client?: { clientName?: unknown; clientVersion?: unknown } }; continuation?: unknown } | undefined;
    const client = body?.context?.client;
    const from = typeof body?.continuation === 'string' ? tokens.get(body.continuation) : undefined;
    if (client?.clientName !== 'WEB' || typeof client.clientVersion !== 'string' || !/^2\.\d{8}\.\d{2}\.\d{2}$/.test(client.clientVersion) || !from) {
      return json(res, 400, INVALID);
    }
    req.view = from.view;
    const failure = failures.shift();
    if (failure === 'drop') return void res.socket?.destroy();
    if (failure === 'http500') return json(res, 500, { error: { code: 500, message: 'Internal error encountered.', status: 'INTERNAL' } });
    if (failure === 'http404') return json(res, 404, { error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND' } });
    if (failure === 'garbage') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"responseContext": {"mainAppWeb');
    json(res, 200, chatAnswer(from, failure === 'replay'));
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? (JSON.parse(text) as unknown) : undefined;
      } catch {
        body = text;
      }
      const record: YouTubeRequest = { method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body };
      received.push(record);
      const path = url.pathname;
      if (req.method === 'POST' && path === '/youtubei/v1/live_chat/get_live_chat') {
        if (holding) {
          const answer = (): void => answerPoll(record, res);
          heldPolls.add(answer);
          res.on('close', () => {
            if (heldPolls.delete(answer)) {
              abortedPolls++;
              events.emit('change');
            }
          });
        } else answerPoll(record, res);
      } else if (req.method === 'GET' && pageFailures.length && (path === '/watch' || path.endsWith('/live'))) {
        if (pageFailures.shift() === 'http500') res.writeHead(500, { 'Content-Type': 'text/html' }).end('<html><body>500 Internal Server Error</body></html>');
        else res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html><body><form action="https://consent.youtube.com/save">Before you continue</form></body></html>');
      } else if (req.method === 'GET' && path === '/watch') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(watchPage(url.searchParams.get('v') ?? ''));
      } else if (req.method === 'GET' && (path === `/${handle}/live` || path === `/channel/${channelId}/live`)) {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(live ? watchPage(videoId) : channelPage());
      } else {
        res.writeHead(404, { 'Content-Type': 'text/html' }).end('<html><body>404 Not Found</body></html>');
      }
      events.emit('change');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const add = (item: Record<string, unknown>, paid: boolean, extra: unknown[] = []): string => {
    const renderer = Object.values(item)[0] as { id: string };
    actions.push({ action: { clickTrackingParams: 'CAEQl98BIhM', addChatItemAction: { item, clientId: randomBytes(8).toString('hex') } }, paid });
    for (const a of extra) actions.push({ action: a, paid });
    return renderer.id;
  };
  const base = (author: YouTubeAuthor): Record<string, unknown> & { id: string } => ({ id: itemId(), timestampUsec: String(Date.now() * 1000), ...authorFields(author) });

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    videoId,
    channelId,
    handle,
    received,
    polls: () => received.filter((r) => r.path === '/youtubei/v1/live_chat/get_live_chat'),
    pushText: (author, runs) => add({ liveChatTextMessageRenderer: { ...base(author), message: runsOf(runs) } }, false),
    pushSuperChat: (author, amount, text) => {
      const r = { ...base(author), purchaseAmountText: { simpleText: amount }, headerBackgroundColor: 4278239141, bodyBackgroundColor: 4280150454, ...(text ? { message: runsOf(text) } : {}) };
      // YouTube also puts a paid message on the ticker: a separate action that is not a chat item.
      return add({ liveChatPaidMessageRenderer: r }, true, [{ addLiveChatTickerItemAction: { item: { liveChatTickerPaidMessageItemRenderer: { id: r.id, amount: { simpleText: amount } } }, durationSec: '120' } }]);
    },
    pushSuperSticker: (author, amount, label) =>
      add({ liveChatPaidStickerRenderer: { ...base(author), purchaseAmountText: { simpleText: amount }, sticker: { thumbnails: [{ url: '//lh3.googleusercontent.com/sticker=s40' }], accessibility: { accessibilityData: { label } } } } }, true),
    pushMembership: (author, months, text) => {
      const header = months ? { headerPrimaryText: runsOf([{ text: 'Member for ' }, { text: String(months) }, { text: ' months' }]), headerSubtext: { simpleText: 'Member' } } : { headerSubtext: runsOf([{ text: 'Welcome to ' }, { text: 'Stand-in' }, { text: '!' }]) };
      return add({ liveChatMembershipItemRenderer: { ...base({ ...author, badges: [...(author.badges ?? []), 'member'] }), ...header, ...(text ? { message: runsOf(text) } : {}) } }, true);
    },
    pushGiftedMemberships: (author, count) => {
      const { authorExternalChannelId, ...head } = authorFields(author);
      const primaryText = runsOf([{ text: 'Gifted ', bold: true }, { text: String(count), bold: true }, { text: ' Stand-in memberships', bold: true }]);
      return add({ liveChatSponsorshipsGiftPurchaseAnnouncementRenderer: { id: itemId(), timestampUsec: String(Date.now() * 1000), authorExternalChannelId, header: { liveChatSponsorshipsHeaderRenderer: { ...head, primaryText } } } }, true);
    },
    pushRaw: (action) => void actions.push({ action, paid: false }),
    failNext: (kind, times = 1) => {
      for (let i = 0; i < times; i++) failures.push(kind);
    },
    drop: () => void failures.push('drop'),
    failNextPage: (kind, times = 1) => {
      for (let i = 0; i < times; i++) pageFailures.push(kind);
    },
    connection: (id = 'youtube', channel = videoId) => ({ id, platform: 'youtube', channel, enabled: true, postReplies: false, endpoint: `http://127.0.0.1:${port}` }),
    endStream: () => void (ended = true),
    setTimeoutMs: (ms) => void (timeoutMs = ms),
    setLive: (v) => void (live = v),
    hold: () => void (holding = true),
    release: () => {
      holding = false;
      for (const answer of heldPolls) answer();
      heldPolls.clear();
    },
    held: () => heldPolls.size,
    aborted: () => abortedPolls,
    until: (pred, ms = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!pred()) return;
          clearTimeout(timer);
          events.off('change', check);
          resolve();
        };
        const timer = setTimeout(() => {
          events.off('change', check);
          reject(new Error(`youtube stand-in: condition not met within ${ms} ms`));
        }, ms);
        events.on('change', check);
        check();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const answer of heldPolls) answer();
        heldPolls.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
