/**
 * Pieces shared by the dialog-engine and output-handler tests: a real worker process on a real
 * bus (started like the supervisor starts it, stopped gracefully), a tap that records channel
 * messages with their arrival time and wakes waiters on arrival (no polling), and a stand-in
 * consumer of a queue.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { CONFIG_KEY, Channels, StatusEvent } from '../../src/shared/bus.js';
import { ConfigSchema, type ConfigInput } from '../../src/shared/config.js';
import { NodeProcessHost } from '../../src/main/supervisor/index.js';
import type { HostedProcess } from '../../src/main/supervisor/process-host.js';
import { nowMs } from '../../src/shared/voice.js';
import { tempDataDir } from '../supervisor/helpers.js';

export interface Received<T = Record<string, unknown>> {
  channel: string;
  msg: T;
  /** nowMs() when it arrived here. */
  at: number;
}

/** Records every message of some channels; `next` waits for one matching a predicate. */
export class Tap {
  readonly all: Received[] = [];
  private waiters: Array<{ pred: (r: Received) => boolean; from: number; resolve: (r: Received) => void }> = [];
  private constructor(private readonly sub: Redis) {}

  static async open(url: string, channels: string[]): Promise<Tap> {
    const sub = new Redis(url, { lazyConnect: true });
    await sub.connect();
    const tap = new Tap(sub);
    sub.on('message', (channel: string, message: string) => tap.push({ channel, msg: JSON.parse(message) as Record<string, unknown>, at: nowMs() }));
    await sub.subscribe(...channels);
    return tap;
  }

  private push(r: Received): void {
    this.all.push(r);
    const idx = this.all.length - 1;
    this.waiters = this.waiters.filter((w) => {
      if (idx < w.from || !w.pred(r)) return true;
      w.resolve(r);
      return false;
    });
  }

  /** Messages of one channel matching pred, in arrival order. */
  on(channel: string, pred: (m: Record<string, unknown>) => boolean = () => true): Received[] {
    return this.all.filter((r) => r.channel === channel && pred(r.msg));
  }

  /** A mark to wait from: messages before it do not count. */
  get mark(): number {
    return this.all.length;
  }

  /** The first message (from index `from`) on `channel` matching pred; rejects after timeoutMs. */
  next(channel: string, pred: (m: Record<string, unknown>) => boolean, timeoutMs = 5000, from = 0): Promise<Received> {
    const match = (r: Received) => r.channel === channel && pred(r.msg);
    for (let i = from; i < this.all.length; i++) if (match(this.all[i]!)) return Promise.resolve(this.all[i]!);
    return new Promise((resolve, reject) => {
      const w = { pred: match, from, resolve: (r: Received) => (clearTimeout(t), resolve(r)) };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting on ${channel}; seen: ${JSON.stringify(this.on(channel).slice(-5).map((r) => r.msg))}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  async close(): Promise<void> {
    await this.sub.quit().catch(() => undefined);
    this.sub.disconnect();
  }
}

/** Stores app settings on the bus the way the core does before starting services. */
export async function publishSettings(redis: Redis, input: Omit<ConfigInput, 'dataDir'>): Promise<void> {
  const settings = ConfigSchema.parse({ ...input, dataDir: tempDataDir() });
  await redis.set(CONFIG_KEY, JSON.stringify(settings));
}

/** One worker process of `service` on the bus at `url`, ready when returned. */
export class WorkerProcess {
  private readonly out: string[] = [];
  private exited: Promise<void>;
  private constructor(
    readonly instanceId: string,
    private readonly proc: HostedProcess,
  ) {
    proc.onStdout((c) => this.keep(c));
    proc.onStderr((c) => this.keep(c));
    this.exited = new Promise((r) => proc.onExit(() => r()));
  }

  private keep(chunk: string): void {
    this.out.push(chunk);
    if (this.out.length > 200) this.out.shift();
  }

  /** The worker's last log lines (for failure messages). */
  get log(): string {
    return this.out.join('');
  }

  static async start(service: string, url: string, env: Record<string, string> = {}): Promise<WorkerProcess> {
    const instanceId = `${service}@test#${randomUUID().slice(0, 8)}`;
    const status = new Redis(url, { lazyConnect: true });
    await status.connect();
    await status.subscribe(Channels.status);
    const ready = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${service} not ready in 60 s:\n${w.log}`)), 60_000);
      status.on('message', (_c: string, m: string) => {
        const ev = StatusEvent.safeParse(JSON.parse(m));
        if (ev.success && ev.data.instance === instanceId && ev.data.state === 'ready') {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const proc = new NodeProcessHost().spawn({ service, instanceId, args: ['--redis', url], env: { FAV_LOG_LEVEL: 'info', ...env } });
    const w = new WorkerProcess(instanceId, proc);
    try {
      await ready;
    } finally {
      status.disconnect();
    }
    return w;
  }

  /** Graceful stop (the supervisor's stop message), SIGKILL if it takes longer than 5 s. */
  async stop(): Promise<void> {
    if (!this.proc.send?.({ type: 'stop' })) this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

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
        this.items.push({ channel: queue, msg: JSON.parse(got[1]) as Record<string, unknown>, at: nowMs() });
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
