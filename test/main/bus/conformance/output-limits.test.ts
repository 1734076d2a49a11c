/**
 * Differential: client-output-buffer-limit for pub/sub against redis-server. A subscriber that stops
 * reading while 1 MB messages are published is dropped by both servers once what they hold for it
 * passes the pubsub hard limit (32 MB by default, or what CONFIG SET made it), never before; a
 * subscriber that reads gets every message and the publisher carries on. Exactly when depends on how
 * much the kernel's socket buffers absorbed (the same on both servers, but machine-dependent), so what
 * is compared is: never before the limit, and a lower limit drops it at least 20 messages sooner.
 * The soft limit's 60 s are timed with an injected clock on the bus alone
 * (src/main/bus/output-limits-server.test.ts).
 */
import net from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { useConformance } from '../lib/differential.js';
import type { Target } from '../lib/targets.js';

const MB = 1024 * 1024;
/** Publishing stops here if the subscriber was never dropped (the kernel takes a few MB at most). */
const MAX_MESSAGES = 200;

interface Outcome {
  firstCount: number;
  /** Index of the first PUBLISH that reached only the reading subscriber (-1: never). */
  dropIndex: number;
  published: number;
  lastCount: number;
  readerGot: boolean;
  stalledClosed: boolean;
  stalledGotEverything: boolean;
  afterwards: unknown;
}

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function scenario(t: Target, limit: string | null): Promise<Outcome> {
  const pub = new Redis({ port: t.port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
  const reader = new Redis({ port: t.port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
  const stalled = net.connect(t.port, '127.0.0.1');
  stalled.on('error', () => undefined);
  try {
    if (limit !== null) await pub.call('CONFIG', 'SET', 'client-output-buffer-limit', limit);
    let readerGot = 0;
    reader.on('messageBuffer', () => readerGot++);
    await reader.subscribe('feed');
    await new Promise<void>((resolve) => {
      stalled.once('data', () => {
        stalled.pause();
        resolve();
      });
      stalled.write('SUBSCRIBE feed\r\n');
    });
    let closed = false;
    stalled.once('close', () => (closed = true));
    const payload = Buffer.alloc(MB, 'm');
    const counts: number[] = [];
    // The reading subscriber is under the same limit: it must take each message before the next is
    // published, or on a loaded machine it falls 2 MB behind and the lowered limit drops it as well.
    const publish = async () => {
      counts.push(await pub.publish('feed', payload));
      await until(() => readerGot >= counts.length, `the reader to get message ${counts.length}`);
    };
    // Two more after the drop: the count stays at one.
    while (counts.length < MAX_MESSAGES && counts.indexOf(1) < 0) await publish();
    for (let i = 0; i < 2; i++) await publish();
    const published = counts.length;
    // A paused socket sees the server's FIN only after reading what came before it.
    let received = 0;
    stalled.on('data', (d: Buffer) => (received += d.length));
    stalled.resume();
    await until(() => closed || received >= published * MB, 'the stalled subscriber to be closed or drained');
    await until(() => readerGot >= published, 'the reader to get every message');
    return {
      firstCount: counts[0],
      dropIndex: counts.indexOf(1),
      published,
      lastCount: counts[published - 1],
      readerGot: readerGot === published,
      stalledClosed: closed,
      stalledGotEverything: received >= published * MB,
      afterwards: [await pub.set('k', 'v'), await pub.get('k')],
    };
  } finally {
    await pub.call('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 33554432 8388608 60').catch(() => undefined);
    stalled.destroy();
    pub.disconnect();
    reader.disconnect();
  }
}

describe('pubsub output-buffer limit, against redis-server', () => {
  const conf = useConformance();

  it('drops a subscriber that stops reading past the limit, sooner under a lower CONFIG SET limit', async () => {
    const results: Array<{ target: string; outcome: unknown }> = [];
    for (const t of conf.targets()) {
      const byDefault = await scenario(t, null);
      const lowered = await scenario(t, 'pubsub 2mb 0 0');
      const summary = (o: Outcome, limitMb: number) => ({ ...o, dropIndex: o.dropIndex >= limitMb ? 'past the limit' : o.dropIndex, published: undefined });
      results.push({
        target: t.name,
        outcome: {
          byDefault: summary(byDefault, 32),
          lowered: summary(lowered, 2),
          loweredDropsSooner: lowered.dropIndex >= 0 && lowered.dropIndex + 20 < byDefault.dropIndex,
        },
      });
    }
    const [ref, ...others] = results;
    const dropped = { firstCount: 2, dropIndex: 'past the limit', lastCount: 1, readerGot: true, stalledClosed: true, stalledGotEverything: false, afterwards: ['OK', 'v'] };
    expect(ref.outcome).toEqual({ byDefault: dropped, lowered: dropped, loweredDropsSooner: true });
    for (const o of others) expect(o.outcome, `${o.target} vs ${ref.target}`).toEqual(ref.outcome);
  }, 180_000);
});
