/**
 * Shared by the asr service tests: a real asr worker process on a real bus, AsrTasks and live
 * microphone frames made from flite speech.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Channels, Queues, newEventId } from '../../../src/shared/bus.js';
import { nowMs, type AsrTask, type MicFrame } from '../../../src/shared/voice.js';
import { floatToS16 } from '../../../src/workers/audio/pcm.js';
import { findOnPath } from '../../../src/workers/asr/pocketsphinx.js';
import { Tap, WorkerProcess, publishSettings, sleep } from '../dialog-engine/harness.js';
import { client, startBackend, type Backend } from '../../main/supervisor/helpers.js';
import { RATE } from './speech.js';

export const installed = Boolean(findOnPath('pocketsphinx_continuous'));
export const FRAME = 320; // 20 ms


export function makeTask(session: string, pcm: Float32Array, extra: Partial<AsrTask> = {}): AsrTask {
  const id = randomUUID();
  return {
    session_id: session,
    turn_id: id,
    task_id: id,
    event_id: newEventId(),
    ts: Date.now(),
    marks: { input: nowMs() },
    source: 'upload',
    pcm_b64: floatToS16(pcm).toString('base64'),
    sample_rate: 16000,
    duration_ms: (pcm.length / RATE) * 1000,
    ...extra,
  };
}

export function micFrame(session: string, n: number, kind: MicFrame['kind'], pcm?: Float32Array): MicFrame {
  return { session_id: session, seq: n, ts: Date.now(), kind, sample_rate: 16000, ...(pcm ? { pcm_b64: floatToS16(pcm).toString('base64') } : {}) };
}

/** A bus, a tap on asr_results and fav:events, and an asr worker using pocketsphinx. */
export class AsrRig {
  private constructor(
    readonly bus: Backend,
    readonly redis: Redis,
    readonly tap: Tap,
    readonly worker: WorkerProcess,
  ) {}

  static async start(kind: 'redis-server' | 'embedded'): Promise<AsrRig> {
    const bus = await startBackend(kind);
    const redis = await client(bus.url);
    await publishSettings(redis, { asr: { engine: 'pocketsphinx' } });
    const tap = await Tap.open(bus.url, [Channels.asrResults, Channels.events]);
    const worker = await WorkerProcess.start('asr', bus.url, { FAV_LOG_LEVEL: 'warn' });
    return new AsrRig(bus, redis, tap, worker);
  }

  push(t: AsrTask): Promise<number> {
    return this.redis.lpush(Queues.asrTasks, JSON.stringify(t));
  }

  resultOf(turnId: string, timeoutMs = 30_000) {
    return this.tap.next(Channels.asrResults, (m) => m.turn_id === turnId, timeoutMs);
  }

  events(session: string) {
    return this.tap.on(Channels.events, (m) => m.session_id === session);
  }

  /** Sends audio as a live mic: 20 ms frames on a real-time schedule. Returns when each frame was sent. */
  async stream(session: string, audio: Float32Array): Promise<number[]> {
    await this.redis.publish(Channels.mic, JSON.stringify(micFrame(session, 0, 'start')));
    const sentAt: number[] = [];
    const t0 = nowMs();
    for (let i = 0, n = 1; i < audio.length; i += FRAME, n++) {
      const wait = t0 + (i / RATE) * 1000 - nowMs();
      if (wait > 1) await sleep(wait);
      await this.redis.publish(Channels.mic, JSON.stringify(micFrame(session, n, 'audio', audio.subarray(i, i + FRAME))));
      sentAt.push(nowMs());
    }
    return sentAt;
  }

  end(session: string, n: number): Promise<number> {
    return this.redis.publish(Channels.mic, JSON.stringify(micFrame(session, n, 'end')));
  }

  async stop(): Promise<void> {
    await this.worker.stop();
    await this.tap.close();
    this.redis.disconnect();
    await this.bus.stop();
  }
}

/** Polls a list until it has n items (the tap and the bus answer quickly). */
export async function waitCount<T>(get: () => T[] | Promise<T[]>, n: number, timeoutMs: number): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const items = await get();
    if (items.length >= n) return items;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} items (have ${items.length})`);
    await sleep(50);
  }
}

