/**
 * Runs the real tts worker process (src/workers/main.ts through tsx) against a bus, with settings
 * published under fav:config, and records what it publishes with arrival times.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { CONFIG_KEY, Channels, Queues, TASK_RESPONSE_PATTERN, newEventId } from '../../src/shared/bus.js';
import { ConfigSchema, type ConfigInput } from '../../src/shared/config.js';
import { nowMs, type TtsChunk, type TtsRequest, type TurnEvent } from '../../src/shared/voice.js';
import { ROOT } from '../supervisor/helpers.js';

export interface Received<T> {
  at: number;
  channel: string;
  msg: T;
}

/** Everything on task_response:* and fav:events, in arrival order, with performance.now() times. */
export class BusRecorder {
  readonly chunks: Array<Received<TtsChunk>> = [];
  readonly events: Array<Received<TurnEvent>> = [];
  private waiters = new Set<() => void>();
  private constructor(private readonly sub: Redis) {}

  static async open(url: string): Promise<BusRecorder> {
    const sub = new Redis(url, { lazyConnect: true });
    await sub.connect();
    const rec = new BusRecorder(sub);
    sub.on('pmessage', (_p: string, channel: string, message: string) => {
      const at = performance.now();
      if (channel === Channels.events) rec.events.push({ at, channel, msg: JSON.parse(message) as TurnEvent });
      else rec.chunks.push({ at, channel, msg: JSON.parse(message) as TtsChunk });
      for (const w of rec.waiters) w();
    });
    await sub.psubscribe(TASK_RESPONSE_PATTERN, Channels.events);
    return rec;
  }

  of(turnId: string): Array<Received<TtsChunk>> {
    return this.chunks.filter((c) => c.msg.turn_id === turnId);
  }

  eventsOf(turnId: string): Array<Received<TurnEvent>> {
    return this.events.filter((e) => e.msg.turn_id === turnId);
  }

  /** Resolves when pred holds (checked on every message), rejects after timeoutMs. */
  until<T>(pred: () => T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = pred();
        if (!v) return false;
        cleanup();
        resolve(v);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      if (!check()) this.waiters.add(check);
    });
  }

  async close(): Promise<void> {
    await this.sub.quit().catch(() => undefined);
    this.sub.disconnect();
  }
}

export interface TtsWorker {
  child: ChildProcess;
  output(): string;
  ready: Promise<void>;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** Publishes the settings and starts `main.ts tts`; `ready` resolves on its 'ready' log line. */
export async function startTtsWorker(url: string, tts: ConfigInput['tts'], env: NodeJS.ProcessEnv = {}): Promise<TtsWorker> {
  const redis = new Redis(url);
  await redis.set(CONFIG_KEY, JSON.stringify(ConfigSchema.parse({ dataDir: join(tmpdir(), 'fav-tts-test'), tts })));
  redis.disconnect();
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'workers', 'main.ts'), 'tts', '--redis', url, '--instance', `tts-test-${randomUUID().slice(0, 8)}`], {
    cwd: ROOT,
    env: { ...process.env, FAV_LOG_LEVEL: 'debug', FAV_BLOCK_SECONDS: '0.2', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d;
      if (/"msg":"ready"/.test(out)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`tts worker exited (${code}) before ready:\n${out.slice(-3000)}`)));
  });
  ready.catch(() => undefined);
  return {
    child,
    output: () => out,
    ready,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 8000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}


/** A TtsRequest as chat-ai sends it. */
export function ttsRequest(turn: { session_id: string; turn_id: string; task_id?: string; turn_start?: number }, index: number, text: string, last = false): TtsRequest {
  return {
    session_id: turn.session_id,
    turn_id: turn.turn_id,
    task_id: turn.task_id ?? turn.turn_id,
    event_id: newEventId(),
    ts: Date.now(),
    marks: { turn_start: turn.turn_start ?? nowMs(), ...(index === 0 ? { sentence_0: nowMs() } : {}) },
    text,
    index,
    last,
  };
}

export async function pushRequests(redis: Redis, reqs: TtsRequest[]): Promise<void> {
  for (const r of reqs) await redis.lpush(Queues.ttsRequests, JSON.stringify(r));
}
