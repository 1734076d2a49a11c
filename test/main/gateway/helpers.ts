/**
 * Shared pieces of the gateway voice tests: a real gateway with its voice endpoints on a real bus,
 * a WebSocket client that queues what it receives, and a small fake pipeline that takes InputTasks
 * from fav:input, records fav:mic / fav:control / fav:events, and publishes ClientEvents on fav:deliver.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { Channels, Queues } from '../../../src/shared/bus.js';
import type { ClientEvent, InputTask } from '../../../src/shared/voice.js';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGateway, type Gateway } from '../../../src/main/gateway/server.js';
import type { GatewayDeps } from '../../../src/main/gateway/types.js';
import { ModelLibrary } from '../../../src/main/models/index.js';
import type { VoiceOptions } from '../../../src/main/gateway/voice/index.js';
import { Recorder, startBackend, waitFor, type Backend } from '../supervisor/helpers.js';

export { BACKENDS, waitFor, sleep } from '../supervisor/helpers.js';

/**
 * What every test gateway needs and no test looks at (version, an empty services table and log
 * hub, a bus that answers pings), plus the model routes as startStudio sets them up: the renderer's
 * built-in models (when `rendererDir` is given) and a fresh data dir for imports. Override any part.
 */
export function testGatewayDeps(overrides: Partial<GatewayDeps> & { token: string }): GatewayDeps {
  const { rendererDir } = overrides;
  return {
    version: '0.0.0-test',
    services: { status: () => [], restart: async () => {} },
    logs: { tail: () => [], subscribe: () => () => {} },
    bus: { kind: 'external', url: 'redis://test', ping: async () => true },
    models: {
      library: new ModelLibrary({
        ...(rendererDir ? { builtinDir: path.join(rendererDir, 'live2d', 'models') } : {}),
        dataDir: mkdtempSync(path.join(os.tmpdir(), 'fav-test-models-')),
      }),
    },
    ...overrides,
  };
}

export interface VoiceRig {
  backend: Backend;
  gateway: Gateway;
  token: string;
  ws: string;
  logs: Array<{ level: string; msg: string; fields?: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** A gateway on port 0 with voice endpoints on the backend's bus; small limits unless overridden. */
export async function startVoiceGateway(backend: Backend, voice: Partial<VoiceOptions> = {}, host = '127.0.0.1'): Promise<VoiceRig> {
  const token = randomBytes(24).toString('base64url');
  const logs: VoiceRig['logs'] = [];
  const gateway = await startGateway(
    {
      version: '0.0.0-test',
      token,
      services: { status: () => [], restart: async () => {} },
      logs: { tail: () => [], subscribe: () => () => {} },
      bus: { kind: 'external', url: 'redis://test', ping: async () => true },
      voice: {
        busUrl: backend.url,
        input: { maxBytes: 64 * 1024, maxTextChars: 200 },
        asrTimeoutMs: 2000,
        log: (level, msg, fields) => void logs.push({ level, msg, fields }),
        ...voice,
      },
    },
    { host, port: 0 },
  );
  return { backend, gateway, token, ws: gateway.url.replace(/^http/, 'ws'), logs, close: () => gateway.close() };
}

/** A received frame: binary, JSON text, or plain text (the seed's acknowledgements and chunk-order errors). */
export type Received = { json: Json; bin?: undefined; text?: undefined } | { bin: Buffer; json?: undefined; text?: undefined } | { text: string; json?: undefined; bin?: undefined };

function textFrame(s: string): Received {
  try {
    return { json: JSON.parse(s) };
  } catch {
    return { text: s };
  }
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- received JSON is checked field by field
export type Json = any;

/** A `ws` client whose messages queue up in order; `next()` takes the oldest or waits for one. */
export class WsClient {
  readonly received: Received[] = [];
  private waiters: Array<(m: Received) => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      const m: Received = isBinary ? { bin: buf } : textFrame(buf.toString('utf8'));
      const w = this.waiters.shift();
      if (w) w(m);
      else this.received.push(m);
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
    const socket = new WebSocket(url, { headers });
    const c = new WsClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return c;
  }

  next(timeoutMs = 5000): Promise<Received> {
    const m = this.received.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const w = (x: Received) => {
        clearTimeout(t);
        resolve(x);
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((f) => f !== w);
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  async json(timeoutMs?: number): Promise<Json> {
    const m = await this.next(timeoutMs);
    if (m.bin) throw new Error(`expected a JSON frame, got ${m.bin.byteLength} binary bytes`);
    if (m.text !== undefined) throw new Error(`expected a JSON frame, got the text ${JSON.stringify(m.text)}`);
    return m.json;
  }

  /** The next frame, which must be plain (non-JSON) text. */
  async text(timeoutMs?: number): Promise<string> {
    const m = await this.next(timeoutMs);
    if (m.text === undefined) throw new Error(`expected a plain text frame, got ${m.bin ? `${m.bin.byteLength} binary bytes` : JSON.stringify(m.json)}`);
    return m.text;
  }

  async bin(timeoutMs?: number): Promise<Buffer> {
    const m = await this.next(timeoutMs);
    if (!m.bin) throw new Error(`expected a binary frame, got ${JSON.stringify(m.json)}`);
    return m.bin;
  }

  /** Nothing (more) arrives within `ms`. */
  async quiet(ms = 150): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    return this.received.length === 0;
  }

  send(msg: unknown): void {
    this.socket.send(Buffer.isBuffer(msg) ? msg : JSON.stringify(msg), { binary: Buffer.isBuffer(msg) });
  }

  sendText(text: string): void {
    this.socket.send(text, { binary: false });
  }

  close(): void {
    this.socket.close();
  }
}

/** Stands in for the services: reads fav:input, records the channels, publishes fav:deliver. */
export class FakePipeline {
  private constructor(
    private readonly pub: Redis,
    private readonly pop: Redis,
    readonly rec: Recorder,
  ) {}

  static async start(url: string): Promise<FakePipeline> {
    const pub = new Redis(url, { lazyConnect: true });
    const pop = new Redis(url, { lazyConnect: true });
    await Promise.all([pub.connect(), pop.connect()]);
    const rec = await Recorder.open(url, [Channels.mic, Channels.control, Channels.events]);
    return new FakePipeline(pub, pop, rec);
  }

  /** The next InputTask the gateway queued (oldest first, as input-handler would take it). */
  async nextInput(timeoutS = 5): Promise<InputTask> {
    const r = await this.pop.brpop(Queues.input, timeoutS);
    if (!r) throw new Error(`no InputTask on ${Queues.input} within ${timeoutS} s`);
    return JSON.parse(r[1]) as InputTask;
  }

  async inputsLeft(): Promise<number> {
    return this.pub.llen(Queues.input);
  }

  async deliver(...events: ClientEvent[]): Promise<void> {
    for (const e of events) await this.pub.publish(Channels.deliver, JSON.stringify(e));
  }

  async deliverRaw(raw: string): Promise<void> {
    await this.pub.publish(Channels.deliver, raw);
  }

  /** Messages recorded on a channel, waiting until at least `n` are there. */
  async waitOn<T = Json>(channel: string, n: number, pred: (m: Json) => boolean = () => true, timeoutMs = 5000): Promise<T[]> {
    return waitFor(
      () => {
        const got = this.rec.msgs(channel).filter(pred);
        return got.length >= n ? (got as T[]) : undefined;
      },
      `${n} message(s) on ${channel}`,
      timeoutMs,
      10,
    );
  }

  async close(): Promise<void> {
    await this.rec.close();
    this.pub.disconnect();
    this.pop.disconnect();
  }
}

export async function startRig(kind: 'redis-server' | 'embedded', voice: Partial<VoiceOptions> = {}): Promise<{ rig: VoiceRig; pipe: FakePipeline; stop(): Promise<void> }> {
  const backend = await startBackend(kind);
  const rig = await startVoiceGateway(backend, voice);
  const pipe = await FakePipeline.start(backend.url);
  return {
    rig,
    pipe,
    stop: async () => {
      await pipe.close();
      await rig.close();
      await backend.stop();
    },
  };
}

/** PCM bytes with a recognisable pattern (s16le ramp from `start`). */
export function pcm(samples: number, start = 0): Buffer {
  const b = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) b.writeInt16LE(((start + i * 37) % 65536) - 32768, i * 2);
  return b;
}

type Audio = Extract<ClientEvent, { type: 'audio' }>;
/** A ClientEvent `audio` carrying `bytes`. */
export function audioEvent(session_id: string, turn_id: string, seq: number, bytes: Buffer, extra: Partial<Audio> = {}): Audio {
  return {
    type: 'audio',
    session_id,
    turn_id,
    task_id: turn_id,
    seq,
    index: 0,
    chunk: seq,
    format: 'pcm_s16le',
    sample_rate: 24000,
    envelope: [0.1, 0.5],
    envelope_frame_ms: 20,
    visemes: [{ t_ms: 0, v: 'A' }],
    text: 'Hello.',
    pcm_b64: bytes.toString('base64'),
    ...extra,
  };
}

/**
 * A WebSocket client that can stop reading for real: the handshake by hand on a plain TCP socket,
 * then `pause()` leaves the server's frames in the kernel and the server's send buffer (a `ws`
 * client resumes its socket on its own). `frames()` parses what arrived once resumed.
 */
export class RawWsClient {
  private buf = Buffer.alloc(0);
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => (this.buf = Buffer.concat([this.buf, d])));
  }

  static open(url: string): Promise<RawWsClient> {
    return new Promise((resolve, reject) => {
      const req = http.request(url.replace(/^ws/, 'http'), {
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') },
      });
      req.on('upgrade', (_res, socket, head) => {
        const c = new RawWsClient(socket);
        if (head.length > 0) c.buf = Buffer.from(head);
        resolve(c);
      });
      req.on('response', (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Complete frames received so far (server frames are unmasked): text parsed as JSON. */
  frames(): Received[] {
    const out: Received[] = [];
    let off = 0;
    const b = this.buf;
    while (off + 2 <= b.length) {
      const opcode = b[off] & 0x0f;
      let len = b[off + 1] & 0x7f;
      let p = off + 2;
      if (len === 126) {
        if (p + 2 > b.length) break;
        len = b.readUInt16BE(p);
        p += 2;
      } else if (len === 127) {
        if (p + 8 > b.length) break;
        len = Number(b.readBigUInt64BE(p));
        p += 8;
      }
      if (p + len > b.length) break;
      const payload = b.subarray(p, p + len);
      if (opcode === 1) out.push(textFrame(payload.toString('utf8')));
      else if (opcode === 2) out.push({ bin: Buffer.from(payload) });
      off = p + len;
    }
    return out;
  }

  close(): void {
    this.socket.destroy();
  }
}
