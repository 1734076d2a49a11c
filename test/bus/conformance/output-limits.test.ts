/**
 * Differential: client-output-buffer-limit for pub/sub against redis-server. A subscriber that stops
 * reading while 1 MB messages are published is dropped by both servers once what they hold for it
 * passes the pubsub hard limit (32 MB by default, or what CONFIG SET made it), never before; a
 * subscriber that reads gets every message and the publisher carries on. Exactly when within that
 * window depends on how much the kernel's socket buffers absorbed, so the window is what is compared.
 * The soft limit's 60 s are timed with an injected clock on the bus alone
 * (src/main/bus/output-limits-server.test.ts).
 */
import net from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { useConformance } from '../lib/differential.js';
import type { Target } from '../lib/targets.js';

const MB = 1024 * 1024;
const MESSAGES = 64;

interface Outcome {
  firstCount: number;
  /** Index of the first PUBLISH that reached only the reading subscriber (-1: never). */
  dropIndex: number;
  lastCount: number;
  readerGot: number;
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
    for (let i = 0; i < MESSAGES; i++) counts.push(await pub.publish('feed', payload));
    // A paused socket sees the server's FIN only after reading what came before it.
    let received = 0;
    stalled.on('data', (d: Buffer) => (received += d.length));
    stalled.resume();
    await until(() => closed || received >= MESSAGES * MB, 'the stalled subscriber to be closed or drained');
    await until(() => readerGot >= MESSAGES, 'the reader to get every message');
    return {
      firstCount: counts[0],
      dropIndex: counts.indexOf(1),
      lastCount: counts[MESSAGES - 1],
      readerGot,
      stalledClosed: closed,
      stalledGotEverything: received >= MESSAGES * MB,
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

  it.each([
    { limit: null, name: 'default 32 MB', window: [32, MESSAGES] },
    { limit: 'pubsub 2mb 0 0', name: 'CONFIG SET to 2 MB', window: [2, 32] },
  ])('drops a subscriber that stops reading ($name)', async ({ limit, window }) => {
    const results: Array<{ target: string; outcome: unknown }> = [];
    for (const t of conf.targets()) {
      const o = await scenario(t, limit);
      results.push({
        target: t.name,
        outcome: { ...o, dropIndex: o.dropIndex >= window[0] && o.dropIndex < window[1] ? `in [${window[0]}, ${window[1]})` : o.dropIndex },
      });
    }
    const [ref, ...others] = results;
    expect(ref.outcome).toEqual({
      firstCount: 2,
      dropIndex: `in [${window[0]}, ${window[1]})`,
      lastCount: 1,
      readerGot: MESSAGES,
      stalledClosed: true,
      stalledGotEverything: false,
      afterwards: ['OK', 'v'],
    });
    for (const o of others) expect(o.outcome, `${o.target} vs ${ref.target}`).toEqual(ref.outcome);
  }, 120_000);
});
