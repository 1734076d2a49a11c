/**
 * Bilibili danmaku connector: one live room's chat, gifts, Super Chats and guard purchases.
 *
 *   1. GET <api>/room/v1/Room/room_init?id=<room>: the real room id (rooms also have short ids) and
 *      the streamer's uid;
 *   2. GET <main api>/x/frontend/finger/spi: the buvid3/buvid4 browser ids, sent as cookies (risk
 *      control refuses requests without them) and in the auth packet;
 *   3. GET <main api>/x/web-interface/nav: the WBI signing keys and, with a SESSDATA token, the
 *      viewer's uid (Bilibili shows names in full only to a logged-in viewer);
 *   4. GET <api>/xlive/web-room/v1/index/getDanmuInfo?id=<room>&type=0&web_location=444.8, WBI-signed
 *      (bilibili-wbi.ts): a `token` and a `host_list`;
 *   5. WebSocket wss://<host>:<wss_port>/sub (ws://<host>:<ws_port>/sub when the API origin is
 *      plain http, as a local stand-in is): an auth packet, then a heartbeat every 30 s; the server
 *      answers the auth (op 8), every heartbeat (op 3, popularity) and pushes commands (op 5) in
 *      zlib/brotli bundles. No heartbeat reply for 70 s: the socket is dead, reconnect.
 *
 * The packet codec is our own (bilibili-packet.ts) on `ws` instead of bilibili-live-ws: that library
 * decodes inside an async event listener, so a bad zlib body or bad JSON becomes an unhandled
 * rejection (which ends a Node process) and a zero length loops forever; it has no hook to report a
 * malformed packet and go on, nor a 70 s silence rule.
 */
import WebSocket from 'ws';
import type { ChatConnection } from '../../../shared/config.js';
import type { ChatConnectionState } from '../../../shared/live-chat.js';
import { backoffMs, type ChatSink, type ChatSource, type ChatSourceDeps, type ChatSourceFactory } from '../source.js';
import { decodeFrame, encodePacket, Op, Ver, type Packet } from './bilibili-packet.js';
import { parseCommand, type BilibiliRoom } from './bilibili-parse.js';
import { signWbi, wbiKeys } from './bilibili-wbi.js';

export const BILIBILI_LIVE_API = 'https://api.live.bilibili.com';
export const BILIBILI_MAIN_API = 'https://api.bilibili.com';
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

export interface BilibiliTiming {
  /** Between heartbeats (Bilibili's web client: 30 s). */
  heartbeatMs: number;
  /** No heartbeat reply for this long: the connection is dead. */
  silenceMs: number;
  /** How long stop() waits for the close handshake before cutting the socket. */
  closeWaitMs: number;
  /** An HTTP lookup with no answer for this long fails (and is retried with back-off). */
  httpTimeoutMs: number;
  /** Jitter source of the back-off. */
  random: () => number;
}

export const BILIBILI_TIMING: BilibiliTiming = { heartbeatMs: 30_000, silenceMs: 70_000, closeWaitMs: 1000, httpTimeoutMs: 15_000, random: Math.random };

/** Needs the user: no retry until the settings change. */
class NeedsUser extends Error {}

interface Target {
  room: BilibiliRoom;
  uid: number;
  key: string;
  address: string;
  broadcasting: boolean;
}

/** The room number from "21452505" or a room address ("https://live.bilibili.com/21452505?..."). */
export function roomNumber(channel: string): number | undefined {
  const m = /^\s*(\d+)\s*$/.exec(channel) ?? /live\.bilibili\.com\/(?:h5\/)?(\d+)/.exec(channel);
  const n = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

export class BilibiliSource implements ChatSource {
  private stopped = false;
  /** The room is gone (locked): no reconnect until the service makes a new source. */
  private ended = false;
  private attempt = 0;
  private ws: WebSocket | undefined;
  private abort: AbortController | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private heartbeat: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  /** Why the current socket was cut by us (the close handler reports it). */
  private cutReason: string | undefined;
  private readonly now: () => number;
  private readonly fetch: typeof fetch;
  private readonly timing: BilibiliTiming;
  /** The browser ids Bilibili gave this client (kept across reconnects, as a browser keeps its cookies). */
  private buvid: { b3: string; b4?: string } | undefined;

  constructor(
    private readonly conn: ChatConnection,
    private readonly sink: ChatSink,
    private readonly deps: ChatSourceDeps,
    timing: Partial<BilibiliTiming> = {},
  ) {
    this.now = deps.now ?? Date.now;
    this.fetch = deps.fetch ?? globalThis.fetch;
    this.timing = { ...BILIBILI_TIMING, ...timing };
  }

  async start(): Promise<void> {
    this.status('connecting', `looking up Bilibili room ${this.conn.channel}`);
    this.connectSafely();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.clearSocketTimers();
    this.abort?.abort();
    const ws = this.ws;
    this.ws = undefined;
    if (ws) await closeSocket(ws, this.timing.closeWaitMs);
    this.sink.status('stopped', 'stopped');
  }

  private status(state: ChatConnectionState, detail?: string, extra?: { retry_in_ms?: number; can_post?: boolean }): void {
    if (!this.stopped) this.sink.status(state, detail, extra);
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private retry(detail: string): void {
    if (this.stopped) return;
    const delay = backoffMs(this.attempt++, this.timing.random);
    this.status('reconnecting', `${detail}; retrying in ${Math.ceil(delay / 1000)} s`, { retry_in_ms: delay });
    this.later(delay, () => this.connectSafely());
  }

  /** connect() reports its own failures; this only keeps a throwing sink from becoming an unhandled rejection. */
  private connectSafely(): void {
    this.connect().catch((err: unknown) => this.deps.log.error({ connection: this.conn.id, err: (err as Error).message }, 'bilibili: connect failed'));
  }

  private async connect(): Promise<void> {
    let target: Target;
    try {
      target = await this.lookup();
    } catch (err) {
      if (this.stopped) return;
      if (err instanceof NeedsUser) {
        this.deps.log.warn({ connection: this.conn.id, err: err.message }, 'bilibili: needs the user');
        this.status('error', err.message);
      } else {
        const cause = (err as { cause?: { code?: unknown } }).cause?.code;
        this.retry(`Bilibili lookup failed: ${(err as Error).message}${typeof cause === 'string' ? ` (${cause})` : ''}`);
      }
      return;
    }
    if (!this.stopped) this.open(target);
  }

  private async getJson(url: string): Promise<{ code: number; message: string; data: unknown }> {
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT, Referer: 'https://live.bilibili.com/' };
    const cookies: string[] = [];
    const token = this.conn.token?.trim();
    if (token) cookies.push(token.includes('=') ? token : `SESSDATA=${token}`);
    if (this.buvid && !/buvid3=/.test(token ?? '')) cookies.push(`buvid3=${this.buvid.b3}`, ...(this.buvid.b4 ? [`buvid4=${encodeURIComponent(this.buvid.b4)}`] : []));
    if (cookies.length) headers.Cookie = cookies.join('; ');
    const path = new URL(url).pathname;
    // Each request ends with stop() (the shared abort) or after httpTimeoutMs, whichever comes first.
    const ctrl = new AbortController();
    const parent = this.abort?.signal;
    const onStop = () => ctrl.abort(new Error('stopped'));
    parent?.addEventListener('abort', onStop, { once: true });
    const timer = setTimeout(() => ctrl.abort(new Error(`${path}: no answer within ${Math.round(this.timing.httpTimeoutMs / 1000)} s`)), this.timing.httpTimeoutMs);
    let body: unknown;
    try {
      const res = await this.fetch(url, { headers, signal: ctrl.signal });
      if (!res.ok) throw new Error(`HTTP ${res.status} from ${path}`);
      try {
        body = await res.json();
      } catch (err) {
        if (ctrl.signal.aborted) throw err;
        throw new Error(`${path} did not answer JSON`, { cause: err });
      }
    } finally {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onStop);
    }
    const o = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    return { code: Number(o.code ?? -1), message: String(o.message ?? o.msg ?? ''), data: o.data };
  }

  private async lookup(): Promise<Target> {
    this.abort = new AbortController();
    const wanted = roomNumber(this.conn.channel);
    if (!wanted) {
      throw new NeedsUser(`"${this.conn.channel}" is not a Bilibili room number: use the number at the end of the room's address (live.bilibili.com/<number>)`);
    }
    const liveApi = (this.conn.endpoint ?? BILIBILI_LIVE_API).replace(/\/+$/, '');
    const mainApi = (this.conn.endpoint ?? BILIBILI_MAIN_API).replace(/\/+$/, '');

    const init = await this.getJson(`${liveApi}/room/v1/Room/room_init?id=${wanted}`);
    const d = (init.data ?? {}) as Record<string, unknown>;
    if (init.code === 60004 || (init.code !== 0 && /不存在|not exist/i.test(init.message))) {
      throw new NeedsUser(`Bilibili room ${wanted} does not exist: check the number at the end of the room's address (live.bilibili.com/<number>)`);
    }
    if (init.code !== 0 || typeof d.room_id !== 'number') throw new Error(`room_init answered code ${init.code} (${init.message || 'no message'})`);
    if (d.is_locked === true || d.is_locked === 1) throw new NeedsUser(`Bilibili room ${wanted} is locked by Bilibili: connect another room`);
    const room: BilibiliRoom = { connection: this.conn.id, roomId: d.room_id, shortId: Number(d.short_id) || 0, ownerUid: Number(d.uid) || 0 };

    if (!this.buvid) this.buvid = await this.fetchBuvid(mainApi);

    // nav answers logged out too: it carries the WBI keys getDanmuInfo's signature needs.
    const nav = await this.getJson(`${mainApi}/x/web-interface/nav`);
    const n = (nav.data ?? {}) as Record<string, unknown>;
    let uid = 0;
    if (this.conn.token?.trim()) {
      if (nav.code === -101 || n.isLogin === false) {
        throw new NeedsUser(
          "Bilibili refused the SESSDATA token (logged out or expired): copy a fresh SESSDATA cookie of bilibili.com from your browser into the connection's token, or clear it to read anonymously",
        );
      }
      if (nav.code !== 0) throw new Error(`nav answered code ${nav.code} (${nav.message || 'no message'})`);
      uid = Number(n.mid) || 0;
    }
    const keys = wbiKeys(n);
    if (!keys) this.deps.log.warn({ connection: this.conn.id }, 'bilibili: nav gave no WBI keys; asking for the danmaku server unsigned');
    const params = { id: room.roomId, type: 0, web_location: '444.8' };
    const query = keys ? signWbi(params, keys, Math.floor(this.now() / 1000)) : new URLSearchParams(params as unknown as Record<string, string>).toString();
    const info = await this.getJson(`${liveApi}/xlive/web-room/v1/index/getDanmuInfo?${query}`);
    if (info.code !== 0) {
      const hint = info.code === -352 ? " (Bilibili's risk control; a SESSDATA token in the connection usually lets it through)" : '';
      throw new Error(`getDanmuInfo answered code ${info.code} (${info.message || 'no message'})${hint}`);
    }
    const di = (info.data ?? {}) as Record<string, unknown>;
    const hosts = Array.isArray(di.host_list) ? (di.host_list as Record<string, unknown>[]) : [];
    const host = hosts.find((h) => typeof h?.host === 'string' && h.host);
    if (typeof di.token !== 'string' || !host) throw new Error('getDanmuInfo answered no token or no host');
    const plain = liveApi.startsWith('http:');
    const port = Number(plain ? host.ws_port : host.wss_port) || (plain ? 2244 : 443);
    const address = `${plain ? 'ws' : 'wss'}://${String(host.host)}:${port}/sub`;
    return { room, uid, key: di.token, address, broadcasting: d.live_status === 1 };
  }

  /** Browser ids (buvid3/4 cookies) from finger/spi: Bilibili's risk control refuses requests without them. */
  private async fetchBuvid(mainApi: string): Promise<{ b3: string; b4?: string } | undefined> {
    try {
      const spi = await this.getJson(`${mainApi}/x/frontend/finger/spi`);
      const d = (spi.data ?? {}) as Record<string, unknown>;
      if (spi.code === 0 && typeof d.b_3 === 'string' && d.b_3) return { b3: d.b_3, b4: typeof d.b_4 === 'string' ? d.b_4 : undefined };
      this.deps.log.warn({ connection: this.conn.id, code: spi.code }, 'bilibili: no buvid from finger/spi; going on without');
    } catch (err) {
      if (this.stopped) throw err;
      this.deps.log.warn({ connection: this.conn.id, err: (err as Error).message }, 'bilibili: finger/spi failed; going on without a buvid');
    }
    return undefined;
  }

  private liveDetail(t: Target, broadcasting: boolean): string {
    const parts = [`reading Bilibili room ${t.room.roomId}`];
    if (!broadcasting) parts.push('the streamer is not broadcasting now (chat still arrives)');
    if (!t.uid) parts.push('anonymous: Bilibili hides viewer names partly; set a SESSDATA token to see them');
    return parts.join('; ');
  }

  private open(t: Target): void {
    this.cutReason = undefined;
    const ws = new WebSocket(t.address, { headers: { 'User-Agent': USER_AGENT, Origin: 'https://live.bilibili.com' } });
    this.ws = ws;
    const current = () => this.ws === ws && !this.stopped;
    // Armed now, not on open: a handshake or an auth that never completes is a dead socket too.
    this.armWatchdog(ws);
    ws.on('open', () => {
      if (!current()) return;
      const auth = { uid: t.uid, roomid: t.room.roomId, protover: 3, platform: 'web', type: 2, key: t.key, ...(this.buvid ? { buvid: this.buvid.b3 } : {}) };
      ws.send(encodePacket(Op.auth, auth));
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!current()) return;
      try {
        if (!isBinary) {
          this.sink.malformed('a text frame (the danmaku server sends binary packets)', String(data).slice(0, 80));
          return;
        }
        const frame = decodeFrame(data);
        for (const e of frame.errors) this.sink.malformed(e.what, e.sample);
        for (const p of frame.packets) {
          if (!current()) return;
          this.packet(ws, t, p);
        }
      } catch (err) {
        this.deps.log.error({ connection: this.conn.id, err: (err as Error).message }, 'bilibili: a packet handler failed');
      }
    });
    ws.on('error', (err) => {
      this.deps.log.warn({ connection: this.conn.id, err: err.message }, 'bilibili: socket error');
    });
    ws.on('close', (code: number) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.clearSocketTimers();
      if (this.stopped || this.ended) return;
      this.retry(this.cutReason ?? `the danmaku connection closed (code ${code})`);
    });
  }

  private packet(ws: WebSocket, t: Target, p: Packet): void {
    if (p.op === Op.heartbeatReply) {
      this.armWatchdog(ws);
      return;
    }
    if (p.op === Op.authReply) {
      const code = jsonCode(p.body);
      if (code !== 0) {
        this.cut(ws, `Bilibili refused the auth packet (code ${code ?? 'unreadable'})`);
        return;
      }
      this.attempt = 0;
      this.status('live', this.liveDetail(t, t.broadcasting));
      this.sendHeartbeat(ws);
      if (this.heartbeat) clearInterval(this.heartbeat);
      this.heartbeat = setInterval(() => this.sendHeartbeat(ws), this.timing.heartbeatMs);
      this.armWatchdog(ws);
      return;
    }
    if (p.op !== Op.command) return;
    let body: unknown;
    try {
      body = JSON.parse(p.body.toString('utf8'));
    } catch {
      this.sink.malformed('a command packet whose body is not JSON', p.body.subarray(0, 80).toString('utf8'));
      return;
    }
    const parsed = parseCommand(t.room, body, this.now());
    if (parsed.type === 'message') this.sink.message(parsed.message);
    else if (parsed.type === 'malformed') this.sink.malformed(parsed.what, p.body.subarray(0, 120).toString('utf8'));
    else if (parsed.type === 'locked') {
      // No retry: a locked room stays locked; the service recreates the source when settings change.
      this.ended = true;
      this.status('ended', `Bilibili locked room ${t.room.roomId}: nothing more will come from it; connect another room`);
      this.clearSocketTimers();
      ws.terminate();
    } else if (parsed.type === 'broadcast') {
      t.broadcasting = parsed.live;
      this.status('live', this.liveDetail(t, parsed.live));
    }
  }

  private sendHeartbeat(ws: WebSocket): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(encodePacket(Op.heartbeat, '[object Object]', Ver.int));
  }

  private armWatchdog(ws: WebSocket): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    const seconds = Math.round(this.timing.silenceMs / 1000);
    this.watchdog = setTimeout(() => this.cut(ws, `no heartbeat reply from Bilibili for ${seconds} s`), this.timing.silenceMs);
  }

  /** Ends a socket we no longer trust; its close handler reconnects with `reason`. */
  private cut(ws: WebSocket, reason: string): void {
    this.deps.log.warn({ connection: this.conn.id, reason }, 'bilibili: reconnecting');
    this.cutReason = reason;
    this.clearSocketTimers();
    ws.terminate();
  }

  private clearSocketTimers(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.watchdog) clearTimeout(this.watchdog);
    this.heartbeat = undefined;
    this.watchdog = undefined;
  }
}

function jsonCode(body: Buffer): number | undefined {
  try {
    const o: unknown = JSON.parse(body.toString('utf8'));
    return typeof o === 'object' && o !== null && typeof (o as { code?: unknown }).code === 'number' ? (o as { code: number }).code : undefined;
  } catch {
    return undefined;
  }
}

/** A polite close, cut short after `waitMs` (a dead peer never answers the close frame). */
function closeSocket(ws: WebSocket, waitMs: number): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => ws.terminate(), waitMs);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'stopped');
    else ws.terminate();
  });
}

export const createBilibiliSource: ChatSourceFactory = (conn, sink, deps) => new BilibiliSource(conn, sink, deps);
