/**
 * A typed client for the studio session socket (`WS /api/session?token=...&session=<id>&role=...`).
 *
 * Down: every JSON frame is parsed with the ClientEvent schema at this edge (a frame that fails is
 * reported and ignored, never half-handled); an `audio` event is paired with the binary frame that
 * follows it. Up: SessionCommands as JSON, mic PCM as binary frames between mic_start and mic_stop.
 * Reconnects with exponential backoff (jittered); while the socket is down, typed text and
 * playback_done wait in a small queue, mic frames and claim_audio are dropped (the URL asks for
 * the audio on reconnect), and an open mic is re-announced
 * (mic_start) when the socket is back. A close with a policy code (1008, 4400, 4401, 4403) means
 * retrying cannot help (wrong token, bad session id): no retry, the page says why.
 *
 * No DOM types on purpose: the socket is anything WebSocket-shaped (the browser's, or `ws` in a
 * Node test), so the protocol logic is testable without a browser.
 */
import { ClientEvent, type SessionAccess, type SessionCommand } from '../../shared/voice.js';

export type AudioEvent = Extract<ClientEvent, { type: 'audio' }>;
export type NonAudioEvent = Exclude<ClientEvent, { type: 'audio' }>;
export type SessionState = 'connecting' | 'open' | 'closed' | 'refused';

/** The part of the WebSocket API this client uses (browser WebSocket and `ws` both fit). */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
}

export interface SessionHandlers {
  onEvent(event: NonAudioEvent): void;
  onAudio(meta: AudioEvent, pcm: ArrayBuffer): void;
  onState(state: SessionState, info: { retryInMs?: number; code?: number }): void;
  /** A frame that broke the protocol (bad JSON, unknown event, binary without metadata). */
  onProtocolError(message: string): void;
}

export interface SessionOptions {
  /** Read at every (re)connect: the page may change what it asks for (e.g. the audio flag). */
  url: string | (() => string);
  handlers: SessionHandlers;
  /** Defaults to the global WebSocket. */
  createSocket?: (url: string) => SocketLike;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Mic frames are dropped while the socket has more than this many bytes unsent. */
  maxBufferedBytes?: number;
}

const OPEN = 1;
/** Policy closes: 1008 (generic), 4401 no or wrong token, 4403 forbidden, 4400 a bad query (session id). */
const REFUSED_CODES = new Set([1008, 4400, 4401, 4403]);
/** Commands kept while disconnected; beyond this the oldest go (the page tells the user). */
const MAX_QUEUED = 32;

/**
 * The session socket URL for a page served by the gateway (same host, ws or wss). Without a token
 * only a view socket is let in (from this machine); without `access` the gateway's defaults apply
 * (control, with the audio).
 */
export function sessionUrl(location: { protocol: string; host: string }, token: string | undefined, session: string, access?: SessionAccess): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const q = new URLSearchParams(token ? { token, session } : { session });
  if (access) {
    q.set('role', access.role);
    q.set('audio', access.audio ? '1' : '0');
  }
  return `${scheme}://${location.host}/api/session?${q.toString()}`;
}

function defaultSocket(url: string): SocketLike {
  const Ctor = (globalThis as unknown as { WebSocket?: new (url: string) => SocketLike }).WebSocket;
  if (!Ctor) throw new Error('this environment has no WebSocket');
  return new Ctor(url);
}

function toArrayBuffer(data: unknown): ArrayBuffer | undefined {
  if (data instanceof ArrayBuffer) return data;
  if (ArrayBuffer.isView(data)) {
    return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  }
  return undefined;
}

export class SessionClient {
  private socket: SocketLike | undefined;
  private state: SessionState = 'closed';
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private attempts = 0;
  private disposed = false;
  private pendingAudio: AudioEvent | undefined;
  private readonly queue: string[] = [];
  private micOn: SessionCommand | undefined;
  private readonly createSocket: (url: string) => SocketLike;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxBufferedBytes: number;
  /** Counters for the page's debug view and tests; handleMs = time spent in receive() (parse + handlers). */
  readonly stats = { opened: 0, framesSent: 0, framesDropped: 0, eventsIn: 0, audioIn: 0, protocolErrors: 0, queuedDropped: 0, handleMs: 0 };

  constructor(private readonly opts: SessionOptions) {
    this.createSocket = opts.createSocket ?? defaultSocket;
    this.initialBackoffMs = opts.initialBackoffMs ?? 300;
    this.maxBackoffMs = opts.maxBackoffMs ?? 5000;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 256 * 1024;
  }

  get connection(): SessionState {
    return this.state;
  }

  get isOpen(): boolean {
    return this.socket?.readyState === OPEN && this.state === 'open';
  }

  connect(): void {
    if (this.disposed || this.socket) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.setState('connecting', {});
    let socket: SocketLike;
    try {
      const url = this.opts.url;
      socket = this.createSocket(typeof url === 'string' ? url : url());
    } catch (err) {
      this.opts.handlers.onProtocolError(err instanceof Error ? err.message : String(err));
      this.scheduleRetry(undefined);
      return;
    }
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.attempts = 0;
      this.stats.opened++;
      this.setState('open', {});
      if (this.micOn) socket.send(JSON.stringify(this.micOn));
      for (const text of this.queue.splice(0)) socket.send(text);
    };
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      const t0 = performance.now();
      this.receive(ev.data);
      this.stats.handleMs += performance.now() - t0;
    };
    socket.onerror = () => {
      // A close event always follows; it decides what happens next.
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.pendingAudio = undefined;
      if (this.disposed) return;
      if (REFUSED_CODES.has(ev.code)) {
        this.setState('refused', { code: ev.code });
        return;
      }
      this.scheduleRetry(ev.code);
    };
  }

  /**
   * Sends a command. Text and playback_done wait for the connection when it is down (returns
   * false then); `stop` is dropped when down (a stale stop must not hit a later turn).
   * mic_start / mic_stop go through startMic / stopMic.
   */
  send(cmd: SessionCommand): boolean {
    const text = JSON.stringify(cmd);
    if (this.isOpen) {
      this.socket!.send(text);
      return true;
    }
    if (cmd.type === 'text' || cmd.type === 'playback_done') {
      if (this.queue.length >= MAX_QUEUED) {
        this.queue.shift();
        this.stats.queuedDropped++;
      }
      this.queue.push(text);
    }
    return false;
  }

  startMic(language?: string): void {
    this.micOn = { type: 'mic_start', sample_rate: 16000, ...(language ? { language } : {}) };
    if (this.isOpen) this.socket!.send(JSON.stringify(this.micOn));
  }

  stopMic(): void {
    if (!this.micOn) return;
    this.micOn = undefined;
    if (this.isOpen) this.socket!.send(JSON.stringify({ type: 'mic_stop' } satisfies SessionCommand));
  }

  /** One mic frame (16 kHz s16le mono). Dropped unless the mic is on and the socket keeps up. */
  sendPcm(pcm: ArrayBuffer): boolean {
    if (!this.micOn || !this.isOpen || this.socket!.bufferedAmount > this.maxBufferedBytes) {
      this.stats.framesDropped++;
      return false;
    }
    this.socket!.send(pcm);
    this.stats.framesSent++;
    return true;
  }

  /** Closes the socket now (as if the network dropped): the client reconnects with backoff. */
  reconnectNow(): void {
    this.socket?.close(4000, 'reconnect');
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
      socket.close(1000, 'page closed');
    }
    this.state = 'closed';
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') {
      const pcm = toArrayBuffer(data);
      const meta = this.pendingAudio;
      this.pendingAudio = undefined;
      if (!meta || !pcm) {
        this.protocolError('a binary frame arrived without audio metadata before it');
        return;
      }
      this.stats.audioIn++;
      this.opts.handlers.onAudio(meta, pcm);
      return;
    }
    if (this.pendingAudio) {
      this.protocolError(`audio metadata (seq ${this.pendingAudio.seq}) was not followed by its PCM frame`);
      this.pendingAudio = undefined;
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      this.protocolError('a frame that is not JSON');
      return;
    }
    const parsed = ClientEvent.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const type = (json as { type?: unknown } | null)?.type;
      this.protocolError(`an invalid ${typeof type === 'string' ? `'${type}' ` : ''}event (${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'})`);
      return;
    }
    this.stats.eventsIn++;
    const event = parsed.data;
    if (event.type === 'audio') this.pendingAudio = event;
    else this.opts.handlers.onEvent(event);
  }

  private protocolError(message: string): void {
    this.stats.protocolErrors++;
    this.opts.handlers.onProtocolError(message);
  }

  private scheduleRetry(code: number | undefined): void {
    const base = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** this.attempts);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempts++;
    this.setState('closed', { retryInMs: delay, ...(code !== undefined ? { code } : {}) });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, delay);
  }

  private setState(state: SessionState, info: { retryInMs?: number; code?: number }): void {
    this.state = state;
    this.opts.handlers.onState(state, info);
  }
}
