/**
 * Both client libraries with their DEFAULT options (as an app or tool would create them) against
 * every target. ioredis 6 and node-redis 6 both open with `HELLO 3`: ioredis falls back to RESP2 on
 * NOPROTO, node-redis does not. The suite's other files pin RESP2; this one checks what a user who
 * changes nothing gets: a working connection on every target, commands and pub/sub included.
 */
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { useConformance } from '../lib/differential.js';
import type { Target } from '../lib/targets.js';

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
      return [await c.set('k', 'v'), await c.get('k'), await c.publish('defaults', 'hi'), await got];
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
      expect(await withNodeRedis(t).catch((e: Error) => `failed: ${e.message}`), t.name).toEqual(['OK', 'v', 1, 'hi']);
    }
  });
});
