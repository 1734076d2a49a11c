/**
 * YouTube live chat as a `ChatSource`: a small InnerTube client on `fetch`, as the chat packages do.
 *
 *   1. the watch page (`/watch?v=<id>`, or a channel's `/@handle/live` / `/channel/<id>/live`, which
 *      is the watch page of its current stream) gives the video id, the web client's version and
 *      the live chat's first continuation;
 *   2. POST `/youtubei/v1/live_chat/get_live_chat?prettyPrint=false` with that continuation returns
 *      the chat actions and the next continuation with `timeoutMs`; poll again after it (bounded
 *      1-10 s); no continuation = the stream ended.
 *
 * Why not youtubei.js 18 (installed; judged by reading its LiveChat): it parses the server's
 * `timeoutMs` but does not wait it (it polls again as soon as a page is emitted, or after a fixed
 * 2 s when a page is empty, and re-emits actions through a randomised "smoothed" queue), gives up
 * for good after 10 failed polls (emitting 'end'), and before the first poll needs its session
 * bootstrap plus `/player`, `/next` and `/updated_metadata` answers. Its timers are its own (no
 * injected clock), and its retry/stop policy is not the one `ChatSource` promises. The protocol
 * chat needs is two requests, so this is a small client on `fetch`.
 *
 * Failures: network errors and HTTP 5xx/429 retry the same continuation with `backoffMs`
 * (status reconnecting); a 4xx on get_live_chat (an expired continuation) reloads the watch page;
 * an answer that is not a chat page is reported through `sink.malformed` and retried with
 * back-off. A replayed page is not re-emitted (the last ids seen are remembered).
 */
import type { ChatConnection } from '../../../shared/config.js';
import type { ChatConnectionState } from '../../../shared/live-chat.js';
import { backoffMs, type ChatSink, type ChatSource, type ChatSourceDeps, type ChatSourceFactory } from '../source.js';
import { parseTarget, readWatchPage, type YouTubeTarget } from './youtube-page.js';
import { parseChatPage } from './youtube-parse.js';

export const YOUTUBE_ORIGIN = 'https://www.youtube.com';
/** Used when the page does not say (a recent web client version; YouTube accepts older ones for months). */
export const FALLBACK_CLIENT_VERSION = '2.20261201.01.00';
export const MIN_POLL_MS = 1000;
export const MAX_POLL_MS = 10_000;
/** A channel that is not live is looked at again after this long. */
export const NOT_LIVE_RETRY_MS = 60_000;
const REQUEST_TIMEOUT_MS = 20_000;
/** Unreadable get_live_chat answers in a row before the watch page is loaded again. */
const MAX_BAD_PAGES = 3;
const SEEN_IDS = 5000;
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

export interface Timer {
  cancel(): void;
}

export interface YouTubeSourceDeps extends ChatSourceDeps {
  /** Schedules the next poll or retry (tests record the delays and fire at once). */
  setTimer?: (fn: () => void, ms: number) => Timer;
  /** Jitter for the back-off (tests fix it). */
  random?: () => number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    what: string,
  ) {
    super(`${what} answered HTTP ${status}`);
  }
}

interface Live {
  videoId: string;
  continuation: string;
  clientVersion: string;
  visitorData?: string;
}

export class YouTubeChatSource implements ChatSource {
  private readonly origin: string;
  private readonly now: () => number;
  private readonly fetch: typeof fetch;
  private readonly setTimer: (fn: () => void, ms: number) => Timer;
  private readonly random: () => number;
  private stopped = false;
  private timer?: Timer;
  private request?: AbortController;
  private state?: ChatConnectionState;
  private live?: Live;
  private failures = 0;
  /** Ids already emitted, oldest first (a Set keeps insertion order). */
  private readonly seen = new Set<string>();

  constructor(
    private readonly conn: ChatConnection,
    private readonly sink: ChatSink,
    private readonly deps: YouTubeSourceDeps,
  ) {
    this.origin = (conn.endpoint ?? YOUTUBE_ORIGIN).replace(/\/+$/, '');
    this.now = deps.now ?? Date.now;
    this.fetch = deps.fetch ?? globalThis.fetch;
    this.random = deps.random ?? Math.random;
    this.setTimer =
      deps.setTimer ??
      ((fn, ms) => {
        const t = setTimeout(fn, ms);
        return { cancel: () => clearTimeout(t) };
      });
  }

  start(): Promise<void> {
    const target = parseTarget(this.conn.channel);
    if (!target) {
      this.setStatus(
        'error',
        `"${this.conn.channel}" is not a YouTube video id, watch URL, @handle or channel id: set one of those as the connection's channel`,
      );
      return Promise.resolve();
    }
    this.setStatus('connecting');
    this.run(() => this.open(target), target);
    return Promise.resolve();
  }

  stop(): Promise<void> {
    if (!this.stopped) {
      this.setStatus('stopped');
      this.stopped = true;
      this.timer?.cancel();
      this.timer = undefined;
      this.request?.abort();
    }
    return Promise.resolve();
  }

  /** Loads the watch page (or the channel's live page) and starts polling its chat. */
  private async open(target: YouTubeTarget): Promise<void> {
    const path = target.kind === 'video' ? `/watch?v=${target.videoId}` : target.path;
    const name = target.kind === 'video' ? `video ${target.videoId}` : target.label;
    let html: string;
    try {
      const res = await this.http(`${this.origin}${path}`, {
        headers: { 'Accept-Language': 'en-US,en;q=0.9', Cookie: 'SOCS=CAI', 'User-Agent': USER_AGENT },
      });
      if (res.status === 404 && target.kind === 'channel') {
        return this.setStatus('error', `YouTube has no channel ${name}: check the channel in the connection's settings`);
      }
      if (res.status >= 400) throw new HttpError(res.status, `YouTube's page for ${name}`);
      html = res.text;
    } catch (err) {
      return this.retry(reason(err), () => this.open(target));
    }
    if (this.stopped) return;
    const page = readWatchPage(html);
    if (page.unreadable) {
      this.sink.malformed(`YouTube's page for ${name} has no ytInitialData`, html.slice(0, 200));
      return this.retry(`YouTube's page for ${name} could not be read (a consent or bot-check page?)`, () => this.open(target));
    }
    const videoId = target.kind === 'video' ? target.videoId : page.videoId;
    if (!videoId) {
      // A channel page instead of a watch page: the channel is not streaming now.
      this.failures = 0;
      return this.wait(
        `${name} is not live now: checking again in ${NOT_LIVE_RETRY_MS / 1000} s (start the stream, or set its video id)`,
        NOT_LIVE_RETRY_MS,
        () => this.open(target),
      );
    }
    const ps = page.playability;
    if (ps && ps.status !== 'OK' && !page.chat) {
      return this.setStatus(
        'error',
        `YouTube says video ${videoId} is unavailable (${ps.reason ?? ps.status}): check the video id in the connection's settings`,
      );
    }
    if (!page.chat) {
      return this.setStatus(
        'error',
        `video ${videoId} has no live chat (not a live stream, or its chat is off): set the id of a live stream with chat`,
      );
    }
    if (page.chat.isReplay) {
      return this.setStatus('ended', `the stream ${videoId} has ended (its chat is a replay): set the id of a live stream`);
    }
    this.live = {
      videoId,
      continuation: page.chat.continuation,
      clientVersion: page.clientVersion ?? FALLBACK_CLIENT_VERSION,
      visitorData: page.visitorData,
    };
    await this.poll(target);
  }

  /** One get_live_chat round: emit what is new, then schedule the next at the server's interval. */
  private async poll(target: YouTubeTarget): Promise<void> {
    const live = this.live;
    if (!live || this.stopped) return;
    let raw: string;
    try {
      const res = await this.http(`${this.origin}/youtubei/v1/live_chat/get_live_chat?prettyPrint=false`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': USER_AGENT,
          'X-Youtube-Client-Name': '1',
          'X-Youtube-Client-Version': live.clientVersion,
        },
        body: JSON.stringify({
          context: {
            client: { clientName: 'WEB', clientVersion: live.clientVersion, hl: 'en', gl: 'US', visitorData: live.visitorData },
          },
          continuation: live.continuation,
        }),
      });
      if (res.status >= 400 && res.status < 500 && res.status !== 429) {
        // The continuation expired or was refused: start over from the watch page.
        return this.retry(`get_live_chat answered HTTP ${res.status} (reloading the watch page)`, () => this.open(target));
      }
      if (res.status >= 400) throw new HttpError(res.status, 'get_live_chat');
      raw = res.text;
    } catch (err) {
      return this.retry(reason(err), () => this.poll(target));
    }
    if (this.stopped) return;
    const received = this.now();
    let page;
    try {
      page = parseChatPage(JSON.parse(raw) as unknown, { connection: this.conn.id, videoId: live.videoId, receivedAt: received });
    } catch (err) {
      const what = err instanceof SyntaxError ? 'get_live_chat answered with invalid JSON' : `get_live_chat: ${(err as Error).message}`;
      this.sink.malformed(what, raw.slice(0, 200));
      if (this.failures >= MAX_BAD_PAGES - 1) {
        return this.retry(`get_live_chat answered ${MAX_BAD_PAGES} unreadable pages in a row (reloading the watch page)`, () => this.open(target));
      }
      // Same continuation again, after the back-off (the state does not change for one bad page).
      return this.schedule(backoffMs(this.failures++, this.random), () => this.poll(target), target);
    }
    this.failures = 0;
    if (this.state !== 'live') this.setStatus('live', `reading the live chat of ${live.videoId}`);
    for (const bad of page.malformed) this.sink.malformed(bad.what, bad.sample);
    for (const m of page.messages) {
      if (this.seen.has(m.id)) continue;
      this.remember(m.id);
      this.sink.message(m);
    }
    if (!page.continuation) {
      this.live = undefined;
      return this.setStatus('ended', `the stream ${live.videoId} has ended: set the next stream's video id (or its channel) to read its chat`);
    }
    live.continuation = page.continuation.token;
    const interval = Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, page.continuation.timeoutMs ?? MIN_POLL_MS));
    this.schedule(interval, () => this.poll(target), target);
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > SEEN_IDS) this.seen.delete(this.seen.values().next().value!);
  }

  /** A transient failure: status reconnecting with the back-off, then `again`. */
  private retry(why: string, again: () => Promise<void>): void {
    if (this.stopped) return;
    const ms = backoffMs(this.failures++, this.random);
    this.wait(`${why}: retrying in ${Math.round(ms / 100) / 10} s`, ms, again);
  }

  private wait(detail: string, ms: number, again: () => Promise<void>): void {
    if (this.stopped) return;
    this.setStatus('reconnecting', detail, { retry_in_ms: ms });
    this.schedule(ms, again);
  }

  private schedule(ms: number, fn: () => Promise<void>, target?: YouTubeTarget): void {
    if (this.stopped) return;
    this.timer?.cancel();
    this.timer = this.setTimer(() => {
      this.timer = undefined;
      this.run(fn, target);
    }, ms);
  }

  /** Runs one step; an unexpected throw (a sink that threw, a bug) becomes a reconnect, never an unhandled rejection. */
  private run(fn: () => Promise<void>, target?: YouTubeTarget): void {
    fn().catch((err: unknown) => {
      this.deps.log.warn({ err, connection: this.conn.id }, "youtube chat: unexpected error, reloading the watch page");
      if (target) this.retry(`unexpected error (${(err as Error).message})`, () => this.open(target));
    });
  }

  private setStatus(state: ChatConnectionState, detail?: string, extra?: { retry_in_ms?: number }): void {
    if (this.stopped) return;
    this.state = state;
    this.sink.status(state, detail, { ...extra, can_post: false });
  }

  /** fetch with a deadline, aborted by stop() (the body too). */
  private async http(url: string, init: RequestInit): Promise<{ status: number; text: string }> {
    const ctl = new AbortController();
    this.request = ctl;
    try {
      const signal = AbortSignal.any([ctl.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]);
      const res = await this.fetch(url, { ...init, signal });
      return { status: res.status, text: await res.text() };
    } finally {
      if (this.request === ctl) this.request = undefined;
    }
  }
}

/** The `ChatSourceFactory` for YouTube (it also takes the test seams of `YouTubeSourceDeps`). */
function reason(err: unknown): string {
  if (err instanceof HttpError) return err.message;
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `YouTube did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  // undici says "fetch failed" and keeps what happened (ECONNREFUSED, a closed socket) in the cause.
  const code = e.cause?.code ?? '';
  const detail = NET_ERRORS[code] ?? e.cause?.message ?? e.message;
  return `YouTube could not be reached (${detail}${NET_ERRORS[code] ? `, ${code}` : ''})`;
}

const NET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'the connection was reset',
  UND_ERR_SOCKET: 'the connection was cut',
  ENOTFOUND: 'no DNS answer: is this machine online?',
  EAI_AGAIN: 'no DNS answer: is this machine online?',
  ETIMEDOUT: 'the connection timed out',
};

export const createYouTubeSource = ((conn: ChatConnection, sink: ChatSink, deps: YouTubeSourceDeps): ChatSource =>
  new YouTubeChatSource(conn, sink, deps)) satisfies ChatSourceFactory;
