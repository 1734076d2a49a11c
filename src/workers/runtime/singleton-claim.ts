/**
 * The one live instance of a singleton service (SERVICE_SCALE): it holds `singletonKey(service)` =
 * its instance id, SET NX with a time to live, refreshed with every heartbeat and deleted on a
 * graceful stop. A crash leaves the claim to lapse; the supervisor's respawn of that slot carries
 * the same instance id and takes it over at once. Any other instance is refused while it is held.
 */
import type { Redis } from 'ioredis';
import { singletonKey, type ServiceName } from '../../shared/bus.js';

export type ClaimBus = Pick<Redis, 'set' | 'get' | 'pexpire' | 'watch' | 'unwatch' | 'multi'>;

export type ClaimResult = { ok: true } | { ok: false; holder: string };

export class SingletonClaim {
  readonly key: string;

  constructor(
    private readonly redis: ClaimBus,
    readonly service: ServiceName,
    readonly instanceId: string,
    private readonly ttlMs: number,
  ) {
    this.key = singletonKey(service);
  }

  /**
   * Takes the claim: free, lapsed, or held by this same instance id (an earlier incarnation of this
   * slot). WATCH makes the take-over atomic; call it while no other command of this connection
   * runs a transaction (start-up).
   */
  async acquire(): Promise<ClaimResult> {
    for (;;) {
      if ((await this.redis.set(this.key, this.instanceId, 'PX', this.ttlMs, 'NX')) === 'OK') return { ok: true };
      await this.redis.watch(this.key);
      const holder = await this.redis.get(this.key);
      if (holder === null) {
        await this.redis.unwatch(); // lapsed in between: try NX again
        continue;
      }
      if (holder !== this.instanceId) {
        await this.redis.unwatch();
        return { ok: false, holder };
      }
      // exec() answers null when the key changed after WATCH: look again.
      if ((await this.redis.multi().set(this.key, this.instanceId, 'PX', this.ttlMs).exec()) !== null) return { ok: true };
    }
  }

  /**
   * Keeps the claim alive (with the heartbeat). Lost (another instance holds it) is reported, not
   * repaired. Should the key lapse between the read and the PEXPIRE and be taken, the other
   * holder's claim is extended once and this instance sees the loss on its next refresh.
   */
  async refresh(): Promise<ClaimResult> {
    const holder = await this.redis.get(this.key);
    if (holder === this.instanceId) {
      await this.redis.pexpire(this.key, this.ttlMs);
      return { ok: true };
    }
    // Gone (a Redis restarted without its data): claim it again.
    if (holder === null && (await this.redis.set(this.key, this.instanceId, 'PX', this.ttlMs, 'NX')) === 'OK') return { ok: true };
    return { ok: false, holder: holder ?? (await this.redis.get(this.key)) ?? 'another instance' };
  }

  /** Gives the claim up if this instance still holds it (graceful stop). */
  async release(): Promise<void> {
    await this.redis.watch(this.key);
    if ((await this.redis.get(this.key)) !== this.instanceId) {
      await this.redis.unwatch();
      return;
    }
    await this.redis.multi().del(this.key).exec();
  }
}

/** The refusal a second instance prints: what is running, why one is enough, what to do. */
export function singletonRefusal(service: ServiceName, holder: string): string {
  return (
    `${service} is a singleton service and ${holder} already runs it on this bus: it reads pub/sub or owns external state, ` +
    `so a second live instance would act on every message twice. Stop that instance first (its claim ${singletonKey(service)} ` +
    `lapses a few seconds after it dies); only shared services run as several instances.`
  );
}
