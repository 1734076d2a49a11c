/**
 * Both client libraries with their DEFAULT options (as an app or tool would create them) against
 * every target. ioredis 6 and node-redis 6 both open with `HELLO 3` (ioredis would fall back to
 * RESP2 on NOPROTO, node-redis would give up). This file checks what a user who changes nothing
 * gets: a working connection on every target, commands and pub/sub included, RESP3 negotiated
 * where the client asks for it, and the same decoded values from every target.
 */
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { useConformance } from '../lib/differential.js';
import { startTarget, targetNames, type Target } from '../lib/targets.js';

async function withIoredis(t: Target): Promise<unknown[]> {
  const r = new Redis({ port: t.port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
  const sub = new Redis({ port: t.port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
  r.on('error', () => undefined);
  sub.on('error', () => undefined);
  try {
    await r.connect();
    await sub.connect();
    const got = new Promise<string>((resolve) => sub.on('message', (_ch: string, m: string) => resolve(m)));
    await sub.subscribe('defaults');
    return [await r.set('k', 'v'), await r.get('k'), await r.hgetall('nothing'), await r.publish('defaults', 'hi'), await got];
  } finally {
    r.disconnect();
    sub.disconnect();
  }
}

/** The `resp=` field of a CLIENT INFO text. */
const protoOf = (info: unknown) => /resp=(\d)/.exec(String(info))?.[1];

/**
 * node-redis with default options, typed commands (with their RESP3 reply mapping) on one RESP3
 * connection: maps decode to objects, sets to arrays, nulls to null; commands keep working on a
 * connection that is subscribed (no subscribed mode in RESP3).
 */
async function nodeRedisResp3(t: Target): Promise<unknown[]> {
  const c = createClient({ socket: { host: '127.0.0.1', port: t.port, reconnectStrategy: false, connectTimeout: 3000 } });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.hSet('h', { a: '1', b: '2' });
    await c.sAdd('s', ['1', '2', '3']);
    await c.xAdd('st', '1-1', { f: 'v' });
    const got: string[] = [];
    await c.subscribe('same-conn', (m) => got.push(m));
    // RESP3: the subscribed connection still runs ordinary commands.
    const whileSubscribed = [await c.get('missing'), await c.hGetAll('h'), (await c.sMembers('s')).sort(), await c.sendCommand(['HGETALL', 'h'])];
    await c.publish('same-conn', 'self');
    const deadline = Date.now() + 2000;
    while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await c.unsubscribe('same-conn');
    const xread = await c.xRead({ key: 'st', id: '0' });
    const blocked = await c.blPop('nolist', 0.05);
    return [whileSubscribed, got, xread, blocked, await c.configGet('maxmemory')];
  } finally {
    if (c.isOpen) c.destroy();
  }
}

/** node-redis with a password option sends `HELLO 3 AUTH default <password>`. */
async function nodeRedisWithPassword(t: Target, password: string): Promise<unknown> {
  const c = createClient({ password, socket: { host: '127.0.0.1', port: t.port, reconnectStrategy: false, connectTimeout: 3000 } });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return [await c.ping(), protoOf(await c.clientInfo().then((i) => `resp=${i.resp}`))];
  } catch (e) {
    return `failed: ${(e as Error).message}`;
  } finally {
    if (c.isOpen) c.destroy();
  }
}

async function withNodeRedis(t: Target): Promise<unknown[]> {
  const c = createClient({ socket: { host: '127.0.0.1', port: t.port, reconnectStrategy: false, connectTimeout: 3000 } });
  c.on('error', () => undefined);
  try {
    await c.connect();
    const sub = c.duplicate();
    sub.on('error', () => undefined);
    await sub.connect();
    try {
      const got = new Promise<string>((resolve) => void sub.subscribe('defaults', (m) => resolve(m)));
      await new Promise((r) => setTimeout(r, 50));
      return [await c.set('k', 'v'), await c.get('k'), await c.publish('defaults', 'hi'), await got, protoOf(await c.sendCommand(['CLIENT', 'INFO']))];
    } finally {
      sub.destroy();
    }
  } finally {
    if (c.isOpen) c.destroy();
  }
}

describe('clients with default options', () => {
  const conf = useConformance();

  it('ioredis (HELLO 3, RESP2 fallback where refused) works on every target', async () => {
    for (const t of conf.targets()) {
      expect(await withIoredis(t), t.name).toEqual(['OK', 'v', {}, 1, 'hi']);
    }
  });

  it('node-redis (HELLO 3) works on every target', async () => {
    for (const t of conf.targets()) {
      expect(await withNodeRedis(t).catch((e: Error) => `failed: ${e.message}`), t.name).toEqual(['OK', 'v', 1, 'hi', '3']);
    }
  });

  it('node-redis RESP3 replies decode alike on every target; commands run on a subscribed connection', async () => {
    const [ref, ...others] = conf.targets();
    const want = await nodeRedisResp3(ref);
    // The reference must itself show RESP3 types (an object for the map, null for nil).
    expect(want[0]).toEqual([null, { a: '1', b: '2' }, ['1', '2', '3'], { a: '1', b: '2' }]);
    for (const t of others) expect(await nodeRedisResp3(t), t.name).toEqual(want);
  });

  it('node-redis with a password authenticates in HELLO 3 AUTH; a wrong one is refused alike', async () => {
    const targets: Target[] = [];
    try {
      for (const name of targetNames()) targets.push(await startTarget(name, { password: 's3cret pw' }));
      for (const t of targets) {
        expect(await nodeRedisWithPassword(t, 's3cret pw'), t.name).toEqual(['PONG', '3']);
        expect(await nodeRedisWithPassword(t, 'wrong'), t.name).toBe(await nodeRedisWithPassword(targets[0], 'wrong'));
      }
      expect(await nodeRedisWithPassword(targets[0], 'wrong')).toMatch(/WRONGPASS/);
    } finally {
      await Promise.allSettled(targets.map((t) => t.close()));
    }
  });
});
