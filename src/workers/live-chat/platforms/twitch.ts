/**
 * Twitch chat: IRC over WebSocket (wss://irc-ws.chat.twitch.tv:443) with the IRCv3 tags, commands
 * and membership capabilities. Anonymous reading logs in as `justinfan<digits>` (no PASS); with a
 * token it logs in as `conn.username` with `PASS oauth:<token>` and can post (`post()`).
 *
 * A small client on `ws`, not @twurple/chat 8, because twurple cannot be held to this interface
 * nor tested offline: its ChatClient passes only a host name to ircv3, so the port is always
 * 80/443 (another port is reached only by a trick, host "127.0.0.1:<port>/?" putting the ":80"
 * into the query); with a token it first validates it at https://id.twitch.tv/oauth2/validate, a
 * fixed URL no test can replace; it reconnects on its own Fibonacci schedule with real timers (no
 * `backoffMs`, no `retry_in_ms` to report); and a line it cannot parse only reaches its logger
 * (no `malformed`). Revisit if twurple gains a port/URL option and an injectable token check.
 *
 * Heartbeats: Twitch PINGs about every 5 minutes and we PONG; if the server is silent for
 * `idlePingMs` we PING it ourselves, and a missing PONG counts as a dropped connection.
 * Timers and randomness are injected (`TwitchSourceOptions`) so the rules are tested without waiting.
 */
import WebSocket from 'ws';
import { LiveChatMessage } from '../../../shared/live-chat.js';
import type { ChatConnection } from '../../../shared/config.js';
import { backoffMs, type ChatSink, type ChatSource, type ChatSourceDeps, type ChatSourceFactory } from '../source.js';
import { IrcParseError, nickOf, parseIrcLine, toLiveChat, twitchChannelLogin, twitchLineChunks, type IrcLine } from './twitch-parse.js';

export const TWITCH_IRC_URL = 'wss://irc-ws.chat.twitch.tv:443';
const CAPS = 'twitch.tv/tags twitch.tv/commands twitch.tv/membership';
const AUTH_FAILED = /login authentication failed|improperly formatted auth|invalid nick/i;
/** Twitch lets an account that is not a moderator send 20 lines per 30 s; past it the account is locked out of chat for 30 min. */
export const TWITCH_POST_LIMIT = { lines: 20, windowMs: 30_000 };

export interface TwitchTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface TwitchSourceOptions {
  /** For the back-off jitter and the anonymous nick. */
  random?: () => number;
  timers?: TwitchTimers;
  /** Server silent this long: PING it. Default 5.5 min (Twitch PINGs every ~5 min). */
  idlePingMs?: number;
  /** No PONG (nor any line) this long after our PING, or no first line this long after opening: reconnect. */
  pongTimeoutMs?: number;
  /** Joined not confirmed this long after JOIN: reconnect (the detail asks to check the channel). */
  joinTimeoutMs?: number;
}

const realTimers: TwitchTimers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Drop a pending timer (in a field) and return undefined to store back. */
function cancel(timers: TwitchTimers, h: unknown): undefined {
  if (h !== undefined) timers.clear(h);
  return undefined;
}

class TwitchSource implements ChatSource {
  private readonly timers: TwitchTimers;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly url: string;
  private readonly channel: string | undefined;
  private readonly token: string | undefined;
  private readonly nick: string;
  private ws: WebSocket | undefined;
  /** Bumped for every socket and on stop: events of an older socket are ignored. */
  private gen = 0;
  private attempt = 0;
  private joined = false;
  private stopped = false;
  /** An error only the user can fix: no more reconnects. */
  private gaveUp = false;
  private closeReason = '';
  /** Twitch said this account may not talk in the channel: read on, post nothing. */
  private postBanned = false;
  private watchdog: unknown;
  private joinTimer: unknown;
  private retryTimer: unknown;
  private readonly communityGifts = new Set<string>();
  /** When our recent lines were posted (the rate limit's window). */
  private readonly posted: number[] = [];

  constructor(
    private readonly conn: ChatConnection,
    private readonly sink: ChatSink,
    private readonly deps: ChatSourceDeps,
    private readonly opts: TwitchSourceOptions,
  ) {
    this.timers = opts.timers ?? realTimers;
    this.random = opts.random ?? Math.random;
    this.now = deps.now ?? Date.now;
    this.url = conn.endpoint ?? TWITCH_IRC_URL;
    this.channel = twitchChannelLogin(conn.channel);
    const token = conn.token?.trim().replace(/^oauth:/i, '');
    this.token = token || undefined;
    this.nick = this.token ? (conn.username ?? '').trim().toLowerCase() : `justinfan${10_000 + Math.floor(this.random() * 89_999)}`;
  }

  private get canPost(): boolean {
    return this.token !== undefined && !this.postBanned;
  }

  async start(): Promise<void> {
    if (!this.channel) return this.fail(`"${this.conn.channel}" is not a Twitch channel: set the channel to its login (the name in twitch.tv/<login>)`);
    if (this.token && !this.nick) return this.fail('a Twitch token needs its account: set username to the login the token belongs to (or remove the token to read anonymously)');
    this.sink.status('connecting', `connecting to #${this.channel}`, { can_post: this.canPost });
    this.connect();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.gen++;
    this.clearTimers();
    const ws = this.ws;
    this.ws = undefined;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      // A clean close lets the server see us go; a server that does not answer it is cut off.
      await new Promise<void>((resolve) => {
        const guard = setTimeout(() => ws.terminate(), 2000);
        ws.once('close', () => {
          clearTimeout(guard);
          resolve();
        });
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else ws.close(1000);
      });
    }
    this.sink.status('stopped', undefined, { can_post: false });
  }

  async post(text: string): Promise<void> {
    if (!this.token) throw new Error(`Twitch connection ${this.conn.id} reads anonymously: add a token (chat:edit) and username to post`);
    if (this.postBanned) throw new Error(`${this.nick} is banned from talking in #${this.channel}; the line was not posted`);
    const ws = this.ws;
    if (!ws || !this.joined || ws.readyState !== WebSocket.OPEN) throw new Error(`Twitch connection ${this.conn.id} is not in #${this.channel} right now; the line was not posted`);
    const chunks = twitchLineChunks(text);
    if (chunks.length === 0) throw new Error('nothing to post: the text is empty');
    const now = this.now();
    while (this.posted.length && now - this.posted[0]! >= TWITCH_POST_LIMIT.windowMs) this.posted.shift();
    if (this.posted.length + chunks.length > TWITCH_POST_LIMIT.lines) {
      throw new Error(`Twitch allows ${TWITCH_POST_LIMIT.lines} chat lines per ${TWITCH_POST_LIMIT.windowMs / 1000} s: this reply (${chunks.length} line(s)) was not posted, to keep ${this.nick} from being locked out`);
    }
    for (const chunk of chunks) {
      ws.send(`PRIVMSG #${this.channel} :${chunk}`);
      this.posted.push(now);
    }
  }

  private connect(): void {
    const gen = ++this.gen;
    this.joined = false;
    this.closeReason = '';
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      return this.fail(`cannot connect to ${this.url} (${(e as Error).message}): set the connection's endpoint to a ws:// or wss:// URL, or clear it to use Twitch's own`);
    }
    this.ws = ws;
    this.arm(this.opts.pongTimeoutMs ?? 10_000, () => this.drop('no answer from the server'));
    ws.on('open', () => {
      if (gen !== this.gen) return;
      ws.send(`CAP REQ :${CAPS}`);
      if (this.token) ws.send(`PASS oauth:${this.token}`);
      ws.send(`NICK ${this.nick}`);
    });
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (gen !== this.gen) return;
      if (isBinary) return this.sink.malformed('a binary WebSocket frame (Twitch IRC is text)');
      for (const line of data.toString().split(/\r?\n/)) if (line && gen === this.gen) this.handle(line);
    });
    ws.on('error', (err: Error) => {
      if (gen === this.gen) this.closeReason ||= err.message;
    });
    ws.on('close', (code: number) => {
      if (gen !== this.gen) return;
      this.ws = undefined;
      this.joined = false;
      this.watchdog = cancel(this.timers, this.watchdog);
      this.joinTimer = cancel(this.timers, this.joinTimer);
      if (this.stopped || this.gaveUp) return;
      this.retry(this.closeReason || `closed with code ${code}`);
    });
  }

  /** One line, whatever goes wrong in it: a bug or a throwing sink must not take the socket down. */
  private handle(raw: string): void {
    try {
      this.onLine(raw);
    } catch (e) {
      this.log().error({ conn: this.conn.id, err: e, line: raw.slice(0, 200) }, 'twitch line could not be handled');
    }
  }

  private onLine(raw: string): void {
    let line: IrcLine;
    try {
      line = parseIrcLine(raw);
    } catch (e) {
      if (!(e instanceof IrcParseError)) throw e;
      return this.sink.malformed(`not an IRC line: ${e.message}`, raw.slice(0, 200));
    }
    this.arm(this.opts.idlePingMs ?? 330_000, () => this.ping());
    switch (line.command) {
      case 'PING':
        return this.send(`PONG :${line.params.at(-1) ?? 'tmi.twitch.tv'}`);
      case '001':
        this.send(`JOIN #${this.channel}`);
        this.joinTimer = cancel(this.timers, this.joinTimer);
        this.joinTimer = this.timers.set(() => {
          this.joinTimer = undefined;
          this.drop(`Twitch did not confirm joining #${this.channel}; check that the channel login is right`);
        }, this.opts.joinTimeoutMs ?? 20_000);
        return;
      case 'JOIN':
      case 'ROOMSTATE':
        if (line.params[0]?.toLowerCase() === `#${this.channel}` && (line.command === 'ROOMSTATE' || nickOf(line.prefix).toLowerCase() === this.nick)) this.live();
        return;
      case 'RECONNECT':
        this.log().info({ conn: this.conn.id }, 'twitch asked to reconnect');
        return this.drop('Twitch asked us to reconnect (server maintenance)');
      case 'NOTICE':
        return this.onNotice(line);
      case 'PRIVMSG':
      case 'USERNOTICE':
        return this.onChat(line, raw);
    }
  }

  private onNotice(line: IrcLine): void {
    const text = line.params.at(-1) ?? '';
    const id = line.tags.get('msg-id');
    if (AUTH_FAILED.test(text)) {
      return this.fail(`Twitch refused the login (${text}): make a fresh token with the chat:read and chat:edit scopes for ${this.nick} and save it in the connection, or remove the token to read anonymously`);
    }
    if (id === 'msg_channel_suspended') return this.fail(`Twitch channel #${this.channel} does not exist or is suspended: check the channel login in the connection`);
    if (id === 'msg_banned' && this.token && !this.postBanned) {
      // A banned account still reads the channel; only its lines are refused.
      this.postBanned = true;
      this.sink.status('live', `reading #${this.channel}, but ${this.nick} is banned from talking there: replies are not posted (use another account's token)`, { can_post: false });
      return;
    }
    this.log().info({ conn: this.conn.id, msgId: id, text }, 'twitch notice');
  }

  private onChat(line: IrcLine, raw: string): void {
    const out = toLiveChat(line, { connection: this.conn.id, channel: this.channel!, receivedAt: this.now() });
    if (out.kind === 'ignored') return;
    if (out.kind === 'malformed') return this.sink.malformed(out.what, raw.slice(0, 200));
    // A community gift of N subs is followed by N subgift notices naming it: thank it once.
    if (out.partOfCommunityGift && this.communityGifts.has(out.partOfCommunityGift)) return;
    if (out.communityGiftId) {
      this.communityGifts.add(out.communityGiftId);
      if (this.communityGifts.size > 100) this.communityGifts.delete(this.communityGifts.values().next().value!);
    }
    const parsed = LiveChatMessage.safeParse(out.message);
    if (!parsed.success) return this.sink.malformed(`${line.command} does not make a chat message: ${parsed.error.issues[0]?.message ?? 'invalid'}`, raw.slice(0, 200));
    this.sink.message(parsed.data);
  }

  private live(): void {
    if (this.joined) return;
    this.joined = true;
    this.attempt = 0;
    this.joinTimer = cancel(this.timers, this.joinTimer);
    this.sink.status('live', `reading #${this.channel}${this.canPost ? ` as ${this.nick}` : ' anonymously'}`, { can_post: this.canPost });
  }

  /** Any line from the server re-arms the idle timer, so a PONG (or anything else) in time cancels the drop. */
  private ping(): void {
    this.send('PING :fav');
    this.arm(this.opts.pongTimeoutMs ?? 10_000, () => this.drop('no PONG from the server'));
  }

  /** Cuts the current socket; its close event schedules the reconnect with `reason`. */
  private drop(reason: string): void {
    const ws = this.ws;
    if (!ws) return;
    this.closeReason = reason;
    ws.terminate();
  }

  private retry(reason: string): void {
    const delay = backoffMs(this.attempt++, this.random);
    this.log().warn({ conn: this.conn.id, reason, retryInMs: delay }, 'twitch chat connection lost');
    this.sink.status('reconnecting', `lost #${this.channel} (${reason}); retrying in ${(delay / 1000).toFixed(1)} s`, { retry_in_ms: delay, can_post: this.canPost });
    this.retryTimer = this.timers.set(() => {
      this.retryTimer = undefined;
      if (!this.stopped) this.connect();
    }, delay);
  }

  /** A state only the user can change: say what to fix, close, and do not retry. */
  private fail(detail: string): void {
    this.gaveUp = true;
    this.clearTimers();
    this.log().error({ conn: this.conn.id, detail }, 'twitch chat connection failed');
    this.sink.status('error', detail, { can_post: false });
    const ws = this.ws;
    this.ws = undefined;
    this.gen++;
    ws?.terminate();
  }

  private send(line: string): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(line);
  }

  private arm(ms: number, fn: () => void): void {
    this.watchdog = cancel(this.timers, this.watchdog);
    this.watchdog = this.timers.set(() => {
      this.watchdog = undefined;
      fn();
    }, ms);
  }

  private clearTimers(): void {
    this.watchdog = cancel(this.timers, this.watchdog);
    this.joinTimer = cancel(this.timers, this.joinTimer);
    this.retryTimer = cancel(this.timers, this.retryTimer);
  }

  private log(): ChatSourceDeps['log'] {
    return this.deps.log;
  }
}

/** The factory with injected timers/randomness (tests); `createTwitchSource` is it with the real ones. */
export function twitchSourceFactory(opts: TwitchSourceOptions = {}): ChatSourceFactory {
  return (conn, sink, deps) => new TwitchSource(conn, sink, deps, opts);
}

export const createTwitchSource: ChatSourceFactory = twitchSourceFactory();
