/**
 * The one bus recorder of the tests: subscribes to channels or patterns, keeps every message in
 * arrival order (parsed JSON, the raw text, the time it arrived), and wakes waiters on arrival, so
 * a test waits for a positive signal instead of polling or sleeping.
 */
import { Redis } from 'ioredis';
import { nowMs } from '../../src/shared/voice.js';

export interface Received<T = Record<string, unknown>> {
  channel: string;
  msg: T;
  /** The message as published (for a payload that is not JSON, msg is {}). */
  raw: string;
  /** nowMs() when it arrived here. */
  at: number;
}

type Waiter = () => boolean;

export class BusRecorder {
  readonly all: Received[] = [];
  private waiters = new Set<Waiter>();

  constructor(private readonly sub: Redis) {
    sub.on('pmessage', (_p: string, channel: string, raw: string) => this.push(channel, raw));
  }

  /** Records every channel matching one of `patterns` (plain channel names are patterns too). */
  static async open(url: string, patterns: string[]): Promise<BusRecorder> {
    const sub = new Redis(url, { lazyConnect: true });
    await sub.connect();
    const rec = new BusRecorder(sub);
    await sub.psubscribe(...patterns);
    return rec;
  }

  private push(channel: string, raw: string): void {
    let msg: Record<string, unknown> = {};
    try {
      msg = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      // kept as raw only
    }
    this.all.push({ channel, msg, raw, at: nowMs() });
    for (const w of this.waiters) w();
  }

  /** Messages of one channel matching pred, in arrival order. */
  on(channel: string, pred: (m: Record<string, unknown>) => boolean = () => true): Received[] {
    return this.all.filter((r) => r.channel === channel && pred(r.msg));
  }

  /** Just the payloads of `on`. */
  msgs<T = Record<string, unknown>>(channel: string, pred: (m: Record<string, unknown>) => boolean = () => true): T[] {
    return this.on(channel, pred).map((r) => r.msg as T);
  }

  count(channel: string, pred: (m: Record<string, unknown>) => boolean = () => true): number {
    return this.on(channel, pred).length;
  }

  /** A mark to wait from: messages before it do not count. */
  get mark(): number {
    return this.all.length;
  }

  /** The first message (from index `from`) on `channel` matching pred; rejects after timeoutMs. */
  async next(channel: string, pred: (m: Record<string, unknown>) => boolean, timeoutMs = 5000, from = 0): Promise<Received> {
    const find = () => this.all.slice(from).find((r) => r.channel === channel && pred(r.msg));
    try {
      return await this.waitFor(find, `a message on ${channel}`, timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message}; seen: ${JSON.stringify(this.msgs(channel).slice(-5))}`, { cause: err });
    }
  }

  /** Resolves with pick()'s first truthy value, checked now and on every message; rejects after timeoutMs. */
  waitFor<T>(pick: () => T | undefined | null | false, what: string, timeoutMs = 15_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check: Waiter = () => {
        const v = pick();
        if (v === undefined || v === null || v === false) return false;
        done();
        resolve(v);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      if (!check()) this.waiters.add(check);
    });
  }

  async close(): Promise<void> {
    for (const w of this.waiters) this.waiters.delete(w);
    await this.sub.quit().catch(() => undefined);
    this.sub.disconnect();
  }
}
