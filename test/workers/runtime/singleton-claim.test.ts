/**
 * The singleton claim on a real bus (redis-server and the embedded bus): one holder at a time, the
 * same instance id takes its own claim over, a lapsed claim is free, a taken one is reported lost,
 * release removes only one's own claim.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { singletonKey } from '../../../src/shared/bus.js';
import { SingletonClaim, singletonRefusal } from '../../../src/workers/runtime/singleton-claim.js';
import { BACKENDS, client, startBackend, waitFor, type Backend } from '../../main/supervisor/helpers.js';

describe.each(BACKENDS)('SingletonClaim (%s)', (kind) => {
  let bus: Backend;
  let redis: Redis;
  beforeAll(async () => {
    bus = await startBackend(kind);
    redis = await client(bus.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await bus?.stop();
  });

  const key = singletonKey('output-handler');
  const claim = (id: string, ttlMs = 60_000) => new SingletonClaim(redis, 'output-handler', id, ttlMs);

  it('refuses a second instance while the first holds it; the same id takes it over', async () => {
    await redis.del(key);
    expect(await claim('a').acquire()).toEqual({ ok: true });
    expect(await claim('b').acquire()).toEqual({ ok: false, holder: 'a' });
    // A respawn of the same slot (same instance id) takes its own claim, with a fresh time to live.
    await redis.pexpire(key, 5000);
    expect(await claim('a').acquire()).toEqual({ ok: true });
    expect(await redis.pttl(key)).toBeGreaterThan(5000);
    expect(await redis.get(key)).toBe('a');
  });

  it('a lapsed claim is free for another instance, and its old holder learns it lost it', async () => {
    await redis.del(key);
    const a = claim('a', 300);
    expect(await a.acquire()).toEqual({ ok: true });
    await waitFor(async () => (await redis.get(key)) === null, 'the claim to lapse');
    expect(await claim('b').acquire()).toEqual({ ok: true });
    expect(await a.refresh()).toEqual({ ok: false, holder: 'b' });
  });

  it('refresh keeps the claim alive, and claims it again when the bus lost it', async () => {
    await redis.del(key);
    const a = claim('a', 10_000);
    await a.acquire();
    await redis.pexpire(key, 1000);
    expect(await a.refresh()).toEqual({ ok: true });
    expect(await redis.pttl(key)).toBeGreaterThan(1000);
    await redis.del(key);
    expect(await a.refresh()).toEqual({ ok: true });
    expect(await redis.get(key)).toBe('a');
  });

  it('release removes only its own claim', async () => {
    await redis.set(key, 'b');
    await claim('a').release();
    expect(await redis.get(key)).toBe('b');
    await claim('b').release();
    expect(await redis.get(key)).toBeNull();
  });

  it('the refusal names the service, the running instance, the reason and the fix', () => {
    const msg = singletonRefusal('output-handler', 'output-handler@studio#0');
    expect(msg).toMatch(/^output-handler is a singleton service and output-handler@studio#0 already runs it/);
    expect(msg).toMatch(/twice/);
    expect(msg).toMatch(/Stop that instance first/);
  });
});
