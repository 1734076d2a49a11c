/**
 * Pieces shared by the dialog-engine and output-handler tests: the shared worker starter and bus
 * recorder (test/helpers) under the names these suites use, and a stand-in consumer of a queue.
 */
import { Redis } from 'ioredis';
import { CONFIG_KEY } from '../../../src/shared/bus.js';
import { ConfigSchema, type ConfigInput } from '../../../src/shared/config.js';
import { nowMs } from '../../../src/shared/voice.js';
import type { Received } from '../../helpers/bus-recorder.js';
import { startWorker, type Worker } from '../../helpers/worker.js';
import { tempDataDir } from '../../main/supervisor/helpers.js';

export type { Received } from '../../helpers/bus-recorder.js';
/** The shared bus recorder (test/helpers/bus-recorder.ts) under the name these suites use. */
export { BusRecorder as Tap } from '../../helpers/bus-recorder.js';

/** Stores app settings on the bus the way the core does before starting services. */
export async function publishSettings(redis: Redis, input: Omit<ConfigInput, 'dataDir'>): Promise<void> {
  const settings = ConfigSchema.parse({ ...input, dataDir: tempDataDir() });
  await redis.set(CONFIG_KEY, JSON.stringify(settings));
}

/** A worker process of `service` on the bus at `url`, ready when returned (test/helpers/worker.ts). */
export type WorkerProcess = Worker;
export const WorkerProcess = {
  start: (service: string, url: string, env: Record<string, string> = {}): Promise<Worker> => startWorker(service, url, { env, graceMs: 5000 }),
};

/** Stand-in consumer of a queue (e.g. memory on user_input_queue): pops everything into `items`. */
export class QueueDrain {
  readonly items: Received[] = [];
  private running = true;
  private readonly loop: Promise<void>;
  private waiters: Array<() => void> = [];
  private constructor(
    private readonly r: Redis,
    queue: string,
  ) {
    this.loop = (async () => {
      while (this.running) {
        const got = await this.r.brpop(queue, 0.2).catch(() => null);
        if (!got) continue;
        this.items.push({ channel: queue, msg: JSON.parse(got[1]) as Record<string, unknown>, raw: got[1], at: nowMs() });
        for (const w of this.waiters.splice(0)) w();
      }
    })();
  }

  static async open(url: string, queue: string): Promise<QueueDrain> {
    const r = new Redis(url, { lazyConnect: true });
    await r.connect();
    return new QueueDrain(r, queue);
  }

  find(pred: (m: Record<string, unknown>) => boolean): Received | undefined {
    return this.items.find((i) => pred(i.msg));
  }

  async next(pred: (m: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting on the queue; items: ${JSON.stringify(this.items.slice(-5).map((i) => i.msg))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
  }

  async close(): Promise<void> {
    this.running = false;
    await this.loop;
    this.r.disconnect();
  }
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
