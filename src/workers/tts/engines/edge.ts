/**
 * Microsoft Edge's read-aloud voices (the seed's engine), through our own small WebSocket client so
 * the endpoint is configurable (`tts.edge.url`: a proxy, or a test stand-in).
 *
 * Protocol (as Edge speaks it):
 *   connect  {url}?TrustedClientToken=..&Sec-MS-GEC=<token>&Sec-MS-GEC-Version=1-<chromium>&ConnectionId=<32 hex>
 *            with Edge's Origin and User-Agent. The token is SHA-256 of (Windows file time rounded
 *            down to 5 minutes + the client token), upper-case hex; a 403 means a bad token, often a
 *            skewed clock: the server's Date header corrects it and the connect is retried once.
 *   send     `speech.config` (JSON, output format) once per connection, then one `ssml` frame per
 *            sentence (X-RequestId, X-Timestamp, <speak><voice><prosody>text</prosody></voice></speak>).
 *   receive  text frames `Path:turn.start`, `response`, `audio.metadata` (word boundaries, 100 ns
 *            units), `turn.end`; binary frames = 2-byte big-endian header length + headers
 *            (`Path:audio`, `Content-Type:audio/mpeg`) + MP3 bytes; an empty audio frame without
 *            Content-Type closes the stream.
 * The service sends only MP3 (24 kHz 48 kbit/s mono here): each sentence's MP3 is collected until
 * turn.end and decoded with src/workers/audio/mp3.ts (whole-file decoder), then yielded once.
 * One connection is kept open across sentences (closed after 30 s idle, or on abort/failure).
 */
import { createHash, randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { ErrorCodes } from '../../../shared/voice.js';
import { decodeMp3 } from '../../audio/mp3.js';
import { TtsEngineError, abortError, networkReason, type AudioPiece, type SynthOptions, type TtsEngine } from '../engine.js';

export const EDGE_TRUSTED_CLIENT_TOKEN = '6A5AA1D4EAFF4E9FB37E23D68491D6F4';
export const EDGE_CHROMIUM_VERSION = '130.0.2849.68';
export const EDGE_ORIGIN = 'chrome-extension://jdiccldimpdaibmpdkjnbmckianbfold';
export const EDGE_OUTPUT_FORMAT = 'audio-24khz-48kbitrate-mono-mp3';
const EDGE_USER_AGENT =
  `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ` +
  `Chrome/${EDGE_CHROMIUM_VERSION.split('.')[0]}.0.0.0 Safari/537.36 Edg/${EDGE_CHROMIUM_VERSION.split('.')[0]}.0.0.0`;
/** Seconds between 1601-01-01 (Windows file time epoch) and 1970-01-01. */
const WIN_EPOCH_S = 11_644_473_600n;
const CONNECT_TIMEOUT_MS = 10_000;
const RECEIVE_TIMEOUT_MS = 15_000;
const IDLE_CLOSE_MS = 30_000;

/** The Sec-MS-GEC token for a wall-clock time (ms since 1970). */
export function secMsGec(nowMs: number): string {
  let ticks = (BigInt(Math.floor(nowMs / 1000)) + WIN_EPOCH_S) * 10_000_000n;
  ticks -= ticks % 3_000_000_000n;
  return createHash('sha256').update(`${ticks}${EDGE_TRUSTED_CLIENT_TOKEN}`, 'ascii').digest('hex').toUpperCase();
}

/** `en-US-AriaNeural` -> `Microsoft Server Speech Text to Speech Voice (en-US, AriaNeural)` (the form Edge sends). */
export function edgeVoiceName(voice: string): string {
  const m = /^([a-z]{2,3})-([A-Z]{2})-(.+Neural)$/.exec(voice);
  if (m) {
    let region = m[2]!;
    let name = m[3]!;
    const dash = name.indexOf('-');
    if (dash >= 0) {
      region = `${region}-${name.slice(0, dash)}`;
      name = name.slice(dash + 1);
    }
    return `Microsoft Server Speech Text to Speech Voice (${m[1]}-${region}, ${name})`;
  }
  if (/^Microsoft Server Speech Text to Speech Voice \(.+, .+\)$/.test(voice)) return voice;
  throw new TtsEngineError(`"${voice}" is not an Edge voice name: set tts.voice to one such as en-US-AriaNeural or zh-CN-XiaoxiaoNeural`);
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Speaking rate multiplier -> the prosody rate Edge takes ('+25%', '-10%'). */
export function edgeRate(rate: number): string {
  const pct = Math.round((rate - 1) * 100);
  return `${pct >= 0 ? '+' : ''}${pct}%`;
}

export function buildSsml(text: string, voiceName: string, rate: number): string {
  // Control characters (vertical tabs and the like) make the service fail the request.
  // eslint-disable-next-line no-control-regex
  const clean = escapeXml(text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, ' '));
  return (
    `<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='en-US'>` +
    `<voice name='${voiceName}'><prosody pitch='+0Hz' rate='${edgeRate(rate)}' volume='+0%'>${clean}</prosody></voice></speak>`
  );
}

/** JavaScript-style date, as Edge puts in X-Timestamp. */
function jsDate(d = new Date()): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${p(d.getUTCDate())} ${d.getUTCFullYear()} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} GMT+0000 (Coordinated Universal Time)`
  );
}

const connectionId = () => randomUUID().replace(/-/g, '');

/** Headers and body of a text frame, or of a binary frame's header block. */
export function parseHeaders(block: string): Map<string, string> {
  const h = new Map<string, string>();
  for (const line of block.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) h.set(line.slice(0, i), line.slice(i + 1));
  }
  return h;
}

class HandshakeError extends Error {
  constructor(
    readonly status: number,
    readonly serverDate: string | undefined,
  ) {
    super(`the Edge TTS service refused the connection (HTTP ${status})`);
  }
}

/** The socket closed before the service started the turn: safe to retry on a fresh connection. */
class ClosedBeforeStart extends Error {}

interface Pending {
  requestId: string;
  started: boolean;
  audio: Buffer[];
  words: number;
  resolve(mp3: Buffer): void;
  reject(e: Error): void;
}

class EdgeConnection {
  private pending: Pending | undefined;
  private idle: NodeJS.Timeout | undefined;
  private receiveTimer: NodeJS.Timeout | undefined;
  closed = false;
  /** Word boundaries the service reported for the last finished sentence. */
  lastWords = 0;

  constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('close', (code: number, reason: Buffer) => this.onClose(code, reason.toString('utf8')));
    ws.on('error', () => undefined); // followed by 'close'
    ws.send(
      `X-Timestamp:${jsDate()}\r\nContent-Type:application/json; charset=utf-8\r\nPath:speech.config\r\n\r\n` +
        JSON.stringify({
          context: { synthesis: { audio: { metadataoptions: { sentenceBoundaryEnabled: 'false', wordBoundaryEnabled: 'true' }, outputFormat: EDGE_OUTPUT_FORMAT } } },
        }) +
        '\r\n',
    );
    this.armIdle();
  }

  speak(ssml: string, signal: AbortSignal): Promise<Buffer> {
    if (signal.aborted) return Promise.reject(abortError(signal));
    if (this.closed) return Promise.reject(new ClosedBeforeStart('connection closed'));
    clearTimeout(this.idle);
    const requestId = connectionId();
    return new Promise<Buffer>((resolve, reject) => {
      const onAbort = () => {
        const p = this.pending;
        this.close();
        p?.reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        signal.removeEventListener('abort', onAbort);
        clearTimeout(this.receiveTimer);
        this.pending = undefined;
        this.armIdle();
      };
      this.pending = {
        requestId,
        started: false,
        audio: [],
        words: 0,
        resolve: (b) => {
          done();
          resolve(b);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      this.armReceive();
      this.ws.send(`X-RequestId:${requestId}\r\nContent-Type:application/ssml+xml\r\nX-Timestamp:${jsDate()}Z\r\nPath:ssml\r\n\r\n${ssml}`);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idle);
    clearTimeout(this.receiveTimer);
    this.ws.terminate();
  }

  private armIdle(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.close(), IDLE_CLOSE_MS);
    this.idle.unref();
  }

  private armReceive(): void {
    clearTimeout(this.receiveTimer);
    this.receiveTimer = setTimeout(() => {
      const p = this.pending;
      this.close();
      p?.reject(new TtsEngineError(`the Edge TTS service sent nothing for ${RECEIVE_TIMEOUT_MS / 1000} s`, ErrorCodes.ttsUnavailable));
    }, RECEIVE_TIMEOUT_MS);
  }

  private fail(message: string): void {
    const p = this.pending;
    this.close();
    p?.reject(new TtsEngineError(`the Edge TTS service answered something unexpected: ${message}`));
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    const p = this.pending;
    if (!p) return;
    this.armReceive();
    if (!isBinary) {
      const text = data.toString('utf8');
      const sep = text.indexOf('\r\n\r\n');
      const headers = parseHeaders(sep >= 0 ? text.slice(0, sep) : text);
      if (headers.get('X-RequestId') !== undefined && headers.get('X-RequestId') !== p.requestId) return; // a stale turn's tail
      const path = headers.get('Path');
      if (path === 'turn.start') p.started = true;
      else if (path === 'audio.metadata') {
        try {
          const meta = JSON.parse(text.slice(sep + 4)) as { Metadata?: Array<{ Type?: string }> };
          p.words += (meta.Metadata ?? []).filter((m) => m.Type === 'WordBoundary').length;
        } catch {
          return this.fail('audio.metadata that is not JSON');
        }
      } else if (path === 'turn.end') {
        this.lastWords = p.words;
        p.resolve(Buffer.concat(p.audio));
      } else if (path !== 'response') return this.fail(`a text frame with Path ${path ?? '(none)'}`);
      return;
    }
    if (data.length < 2) return this.fail('a binary frame without its header length');
    const headerLen = data.readUInt16BE(0);
    if (2 + headerLen > data.length) return this.fail('a binary frame shorter than its header');
    const headers = parseHeaders(data.toString('utf8', 2, 2 + headerLen));
    if (headers.get('Path') !== 'audio') return this.fail(`a binary frame with Path ${headers.get('Path') ?? '(none)'}`);
    if (headers.get('X-RequestId') !== undefined && headers.get('X-RequestId') !== p.requestId) return;
    const body = data.subarray(2 + headerLen);
    const type = headers.get('Content-Type');
    if (type === undefined) {
      if (body.length > 0) return this.fail('audio bytes without a Content-Type');
      return; // the end-of-stream frame
    }
    if (type !== 'audio/mpeg') return this.fail(`audio of type ${type}`);
    p.audio.push(Buffer.from(body));
  }

  private onClose(code: number, reason: string): void {
    const p = this.pending;
    this.closed = true;
    clearTimeout(this.idle);
    clearTimeout(this.receiveTimer);
    if (!p) return;
    const why = `code ${code}${reason ? `: ${reason}` : ''}`;
    if (!p.started && p.audio.length === 0) p.reject(new ClosedBeforeStart(why));
    else p.reject(new TtsEngineError(`the Edge TTS connection closed in the middle of a sentence (${why})`));
  }
}

export class EdgeEngine implements TtsEngine {
  readonly name = 'edge';
  readonly sampleRate = 24_000;
  private readonly url: string;
  private readonly voice: string;
  private conn: EdgeConnection | undefined;
  /** Server clock minus ours, learnt from a 403's Date header. */
  private skewMs = 0;
  /** Word boundaries reported for the last sentence (logged by callers that care). */
  lastWordBoundaries = 0;

  constructor(opts: { url: string; voice: string }) {
    this.url = opts.url;
    this.voice = opts.voice;
  }

  /** Checks the settings only: the service is on the internet, which may be down at start-up. */
  async init(): Promise<void> {
    if (!/^wss?:\/\//.test(this.url)) throw new TtsEngineError(`tts.edge.url must be a ws:// or wss:// URL, got "${this.url}"`, ErrorCodes.ttsUnavailable);
    edgeVoiceName(this.voice);
  }

  async *synthesize(text: string, opts: SynthOptions): AsyncGenerator<AudioPiece> {
    const { signal } = opts;
    if (signal.aborted) throw abortError(signal);
    const ssml = buildSsml(text, edgeVoiceName(opts.voice), opts.rate);
    let mp3: Buffer | undefined;
    for (let attempt = 0; mp3 === undefined; attempt++) {
      const conn = await this.connection(signal);
      try {
        mp3 = await conn.speak(ssml, signal);
        this.lastWordBoundaries = conn.lastWords;
      } catch (e) {
        if (signal.aborted) throw abortError(signal);
        if (this.conn === conn && conn.closed) this.conn = undefined;
        // A kept connection the service had closed meanwhile: once more on a fresh one.
        if (e instanceof ClosedBeforeStart && attempt === 0) continue;
        if (e instanceof ClosedBeforeStart) throw new TtsEngineError(`the Edge TTS service closed the connection without answering (${e.message})`);
        throw e;
      }
    }
    if (mp3.length === 0) throw new TtsEngineError(`the Edge TTS service sent no audio for voice "${opts.voice}": check tts.voice`);
    let pcm;
    try {
      pcm = await decodeMp3(mp3, { allowDamage: true });
    } catch (e) {
      throw new TtsEngineError(`the Edge TTS audio could not be decoded: ${(e as Error).message}`);
    }
    if (signal.aborted) throw abortError(signal);
    yield { samples: pcm.samples, sampleRate: pcm.sampleRate };
  }

  private async connection(signal: AbortSignal): Promise<EdgeConnection> {
    if (this.conn && !this.conn.closed) return this.conn;
    this.conn = undefined;
    let ws: WebSocket;
    try {
      ws = await this.open(signal);
    } catch (e) {
      if (signal.aborted) throw abortError(signal);
      if (!(e instanceof HandshakeError) || e.status !== 403 || !e.serverDate) throw this.explain(e);
      // 403: most likely our clock is off; Edge's Date header tells by how much. Retry once.
      const server = Date.parse(e.serverDate);
      if (!Number.isFinite(server)) throw this.explain(e);
      this.skewMs = server - Date.now();
      try {
        ws = await this.open(signal);
      } catch (e2) {
        if (signal.aborted) throw abortError(signal);
        throw this.explain(e2);
      }
    }
    this.conn = new EdgeConnection(ws);
    return this.conn;
  }

  private open(signal: AbortSignal): Promise<WebSocket> {
    const sep = this.url.includes('?') ? '&' : '?';
    const url =
      `${this.url}${sep}TrustedClientToken=${EDGE_TRUSTED_CLIENT_TOKEN}` +
      `&Sec-MS-GEC=${secMsGec(Date.now() + this.skewMs)}&Sec-MS-GEC-Version=1-${EDGE_CHROMIUM_VERSION}&ConnectionId=${connectionId()}`;
    const ws = new WebSocket(url, {
      handshakeTimeout: CONNECT_TIMEOUT_MS,
      headers: {
        Pragma: 'no-cache',
        'Cache-Control': 'no-cache',
        Origin: EDGE_ORIGIN,
        'User-Agent': EDGE_USER_AGENT,
        'Accept-Encoding': 'gzip, deflate, br',
        'Accept-Language': 'en-US,en;q=0.9',
      },
    });
    // terminate() before the handshake completes emits an error of its own: never unhandled.
    ws.on('error', () => undefined);
    return new Promise<WebSocket>((resolve, reject) => {
      const onAbort = () => {
        ws.terminate();
        reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const settle = () => {
        signal.removeEventListener('abort', onAbort);
        ws.off('open', onOpen);
        ws.off('error', onError);
        ws.off('unexpected-response', onResponse);
      };
      const onOpen = () => {
        settle();
        resolve(ws);
      };
      const onError = (e: Error) => {
        settle();
        ws.terminate();
        reject(e);
      };
      const onResponse = (_req: unknown, res: { statusCode?: number; headers: Record<string, string | string[] | undefined>; resume(): void }) => {
        settle();
        res.resume();
        ws.terminate();
        const date = res.headers.date;
        reject(new HandshakeError(res.statusCode ?? 0, typeof date === 'string' ? date : undefined));
      };
      ws.once('open', onOpen);
      ws.once('error', onError);
      ws.once('unexpected-response', onResponse);
    });
  }

  private explain(e: unknown): TtsEngineError {
    if (e instanceof TtsEngineError) return e;
    if (e instanceof HandshakeError) {
      return new TtsEngineError(
        e.status === 403
          ? `the Edge TTS service refused the connection (HTTP 403): its token check failed; check the system clock, or update the app if Microsoft changed the protocol`
          : `${e.message}: check tts.edge.url`,
        ErrorCodes.ttsUnavailable,
      );
    }
    const reason = networkReason(e) ?? (e as Error).message;
    return new TtsEngineError(`the Edge TTS service at ${this.url} is not reachable (${reason}): check the internet connection or tts.edge.url`, ErrorCodes.ttsUnavailable);
  }

  async dispose(): Promise<void> {
    this.conn?.close();
    this.conn = undefined;
  }
}
