/**
 * Runs the real tts worker process (test/helpers/worker.ts) against a bus, with settings published
 * under fav:config, and records what it publishes with arrival times (test/helpers/bus-recorder.ts).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { CONFIG_KEY, Channels, Queues, TASK_RESPONSE_PATTERN, newEventId } from '../../../src/shared/bus.js';
import { ConfigSchema, type ConfigInput } from '../../../src/shared/config.js';
import { nowMs, type TtsChunk, type TtsRequest, type TurnEvent } from '../../../src/shared/voice.js';
import { BusRecorder as SharedRecorder } from '../../helpers/bus-recorder.js';
import { Worker } from '../../helpers/worker.js';

export interface Received<T> {
  at: number;
  channel: string;
  msg: T;
}

/** The shared recorder on task_response:* and fav:events, with tts views of what it holds. */
export class BusRecorder extends SharedRecorder {
  static override async open(url: string, patterns = [TASK_RESPONSE_PATTERN, Channels.events]): Promise<BusRecorder> {
    const sub = new Redis(url, { lazyConnect: true });
    await sub.connect();
    const rec = new BusRecorder(sub);
    await sub.psubscribe(...patterns);
    return rec;
  }

  get chunks(): Array<Received<TtsChunk>> {
    return this.all.filter((r) => r.channel !== Channels.events) as unknown as Array<Received<TtsChunk>>;
  }

  get events(): Array<Received<TurnEvent>> {
    return this.on(Channels.events) as unknown as Array<Received<TurnEvent>>;
  }

  of(turnId: string): Array<Received<TtsChunk>> {
    return this.chunks.filter((c) => c.msg.turn_id === turnId);
  }

  eventsOf(turnId: string): Array<Received<TurnEvent>> {
    return this.events.filter((e) => e.msg.turn_id === turnId);
  }

  /** Resolves when pred holds (checked on every message), rejects after timeoutMs. */
  until<T>(pred: () => T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
    return this.waitFor(pred, what, timeoutMs);
  }
}

export type TtsWorker = Worker;

/** Publishes the settings and starts the tts worker; its `ready` resolves on its ready status. */
export async function startTtsWorker(url: string, tts: ConfigInput['tts'], env: Record<string, string> = {}): Promise<TtsWorker> {
  const redis = new Redis(url);
  await redis.set(CONFIG_KEY, JSON.stringify(ConfigSchema.parse({ dataDir: join(tmpdir(), 'fav-tts-test'), tts })));
  redis.disconnect();
  return Worker.spawn('tts', url, { env: { FAV_LOG_LEVEL: 'debug', FAV_BLOCK_SECONDS: '0.2', ...env }, graceMs: 8000 });
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
