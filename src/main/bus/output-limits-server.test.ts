/**
 * client-output-buffer-limit on a real bus over real sockets: a subscriber that stops reading is
 * closed at the pubsub hard limit (the bus holds no more than that for it) or after the soft limit's
 * seconds, timed with an injected clock; everyone else keeps working. The same hard-limit scenario
 * runs against redis-server in test/main/bus/conformance/output-limits.test.ts.
 */
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { Client } from './client.js';
import { startBus, type BusServer } from './index.js';

const MB = 1024 * 1024;
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function bus(clock?: () => number): Promise<{ bus: BusServer; logs: string[] }> {
  const b = await startBus({ port: 0, clock });
  const logs: string[] = [];
  b.core.log = (line) => void logs.push(line);
  cleanup.push(() => b.close());
  return { bus: b, logs };
}

function redis(port: number): Redis {
  const r = new Redis({ port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  cleanup.push(() => r.disconnect());
  return r;
}

/** A subscriber that reads its subscribe confirmation and then never reads again. */
async function stalledSubscriber(port: number, channel: string): Promise<{ sock: net.Socket; closed: Promise<void> }> {
  const sock = net.connect(port, '127.0.0.1');
  cleanup.push(() => sock.destroy());
  sock.on('error', () => {});
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  await new Promise<void>((resolve) => {
    sock.once('data', () => {
      sock.pause();
      resolve();
    });
    sock.write(`SUBSCRIBE ${channel}\r\n`);
  });
  return { sock, closed };
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

const subscriberOf = (b: BusServer, channel: string): Client[] => [...(b.core.pubsub.channels.get(channel) ?? [])];

describe('pubsub output-buffer limits', () => {
  it('closes a subscriber that never reads at the 32 MB hard limit; readers, publishers and the log carry on', async () => {
    const { bus: b, logs } = await bus();
    const stalled = await stalledSubscriber(b.port, 'feed');
    const reader = redis(b.port);
    let got = 0;
    reader.on('messageBuffer', () => got++);
    await reader.subscribe('feed');
    const pub = redis(b.port);
    const payload = Buffer.alloc(MB, 'x');
    const counts: number[] = [];
    let held = 0;
    for (let i = 0; i < 64; i++) {
      counts.push(await pub.publish('feed', payload));
      for (const c of subscriberOf(b, 'feed')) held = Math.max(held, c.socket.writableLength);
    }
    // Both subscribers at first, then only the reader: the stalled one was dropped on the way.
    expect(counts[0]).toBe(2);
    expect(counts.at(-1)).toBe(1);
    // What the bus buffered for it never passed the limit by more than the one message that crossed it.
    expect(held).toBeGreaterThan(8 * MB);
    expect(held).toBeLessThan(33 * MB);
    // A paused socket sees the server's FIN only once it reads what came before it.
    stalled.sock.resume();
    await stalled.closed;
    expect(logs.filter((l) => /^Client id=\d+ .*scheduled to be closed ASAP for overcoming of output buffer limits\.$/.test(l))).toHaveLength(1);
    expect(await pub.set('k', 'v')).toBe('OK');
    expect(await pub.get('k')).toBe('v');
    await until(() => got >= 64);
    expect(got).toBe(64);
    expect(await pub.call('CONFIG', 'GET', 'client-output-buffer-limit')).toEqual([
      'client-output-buffer-limit',
      'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60',
    ]);
  }, 30_000);

  it('closes a subscriber above the soft limit after more than soft_seconds, timed by the injected clock', async () => {
    let now = 1_000_000;
    const { bus: b, logs } = await bus(() => now);
    const pub = redis(b.port);
    expect(await pub.call('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 0 1mb 60')).toBe('OK');
    await stalledSubscriber(b.port, 'feed');
    const [sub] = subscriberOf(b, 'feed');
    const payload = Buffer.alloc(256 * 1024, 'y');
    // Fill until the bus itself holds more than the soft limit for it (the kernel takes some first).
    while (sub.socket.writableLength < MB) expect(await pub.publish('feed', payload)).toBe(1);
    expect(sub.obufSoftSince).toBe(now);
    now += 59_000;
    expect(await pub.publish('feed', 'm')).toBe(1);
    now += 1_000;
    // Exactly soft_seconds is not yet more than soft_seconds.
    expect(await pub.publish('feed', 'm')).toBe(1);
    expect(await pub.publish('feed', 'm')).toBe(1);
    now += 1;
    // The publish whose output is checked past the deadline still counts it (as redis-server's
    // does); by the next one it is gone. The server's timer may also get there first.
    expect([0, 1]).toContain(await pub.publish('feed', 'm'));
    expect(await pub.publish('feed', 'm')).toBe(0);
    expect(logs.some((l) => l.includes('scheduled to be closed ASAP for overcoming of output buffer limits'))).toBe(true);
  }, 30_000);

  it('closes a stalled subscriber past its soft limit without anything more being published to it', async () => {
    let now = 5_000;
    const { bus: b, logs } = await bus(() => now);
    const pub = redis(b.port);
    await pub.call('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 0 1mb 10');
    const stalled = await stalledSubscriber(b.port, 'quiet');
    const [sub] = subscriberOf(b, 'quiet');
    const payload = Buffer.alloc(256 * 1024, 'z');
    while (sub.socket.writableLength < MB) await pub.publish('quiet', payload);
    now += 10_001;
    // The server's 10 Hz timer re-checks clients above a soft limit.
    await until(() => logs.some((l) => l.includes('overcoming of output buffer limits')));
    stalled.sock.resume();
    await stalled.closed;
    expect(await pub.publish('quiet', 'm')).toBe(0);
  }, 30_000);

  it('applies a normal-class limit set at run time to a client that never reads its replies', async () => {
    const { bus: b, logs } = await bus();
    const admin = redis(b.port);
    await admin.set('big', Buffer.alloc(MB, 'b'));
    expect(await admin.call('CONFIG', 'SET', 'client-output-buffer-limit', 'normal 4mb 0 0')).toBe('OK');
    const sock = net.connect(b.port, '127.0.0.1');
    cleanup.push(() => sock.destroy());
    sock.on('error', () => {});
    sock.pause();
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    await new Promise<void>((r) => sock.once('connect', () => r()));
    // 64 MB of replies requested in one go: without the limit the bus would hold most of it.
    sock.write('GET big\r\n'.repeat(64));
    sock.resume();
    let received = 0;
    sock.on('data', (d: Buffer) => (received += d.length));
    await closed;
    expect(received).toBeLessThan(64 * MB);
    expect(logs.some((l) => l.includes('overcoming of output buffer limits'))).toBe(true);
    expect(await admin.get('big')).toHaveLength(MB);
  }, 30_000);
});
