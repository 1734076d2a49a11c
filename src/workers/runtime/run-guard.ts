/**
 * Keeps a worker on the run of the core it joined. A core killed -9 takes its embedded bus along;
 * the next run may listen at the same address with the same password, and a worker reconnecting
 * there would take that run's tasks under an instance id the new supervisor also uses. So:
 * - a worker with a parent never reconnects once that parent is gone (guardReconnects), and stops
 *   reaching out at all when it leaves (cutOff);
 * - every worker compares RUN_KEY with the run it joined, on each heartbeat and reconnect
 *   (RunGuard): the core's workers get theirs as FAV_RUN_ID, a remote `fav worker` takes the one
 *   it found at start. Another run's id there means this worker belongs to no live core.
 */
import type { Redis } from 'ioredis';
import { RUN_KEY } from '../../shared/bus.js';

/** Makes every connection give up instead of reconnecting once `allowed()` says no. */
export function guardReconnects(conns: Redis[], allowed: () => boolean): void {
  for (const r of conns) {
    const retry = r.options.retryStrategy;
    r.options.retryStrategy = (times: number) => (allowed() ? retry?.(times) : null);
  }
}

/**
 * No connection reconnects from now on; those not connected right now are closed (a reconnect
 * timer pending would otherwise reach whatever listens at the address by then). Connected ones
 * stay for a bounded goodbye and end with the worker.
 */
export function cutOff(conns: Redis[]): void {
  for (const r of conns) {
    r.options.retryStrategy = () => null;
    if (r.status !== 'ready') r.disconnect();
  }
}

export class RunGuard {
  private expected: string | null | undefined;

  /** `expected`: the run this worker belongs to (FAV_RUN_ID), or undefined to take the bus's at start. */
  constructor(
    private readonly redis: Pick<Redis, 'get'>,
    expected: string | undefined,
  ) {
    this.expected = expected || undefined;
  }

  /** Reads the bus's run at start: undefined when joined, else why this worker must not join. */
  async join(): Promise<string | undefined> {
    if (this.expected !== undefined) return this.changed();
    this.expected = await this.redis.get(RUN_KEY);
    return undefined;
  }

  /**
   * undefined while the bus serves the joined run (or has no run key: a Redis restarted without
   * its data; the core writes it again), else why this worker must leave.
   */
  async changed(): Promise<string | undefined> {
    const current = await this.redis.get(RUN_KEY);
    if (current === null || current === this.expected) return undefined;
    return this.describe(current);
  }

  private describe(current: string): string {
    return `the bus now serves another run of the studio (${current}, joined ${this.expected ?? 'none'})`;
  }
}
