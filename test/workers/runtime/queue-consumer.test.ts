/**
 * The runtime's reliable queue consumer on the real embedded bus (BLMOVE into the instance's
 * processing list is the boundary under test): with `concurrency` it runs that many tasks at once,
 * each stays in the processing list until its own handler completes, and a stop drains them all.
 */
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startBus, type BusServer } from '../../../src/main/bus/index.js';
import { processingList } from '../../../src/shared/bus.js';
import { connectBus, createBusClient } from '../../../src/workers/runtime/bus-client.js';
import { QueueConsumer } from '../../../src/workers/runtime/queue-consumer.js';
import type { WorkerContext } from '../../../src/workers/runtime/types.js';

const log = pino({ level: 'silent' });
const Task = z.object({ n: z.number() });
const QUEUE = 'test:tasks';
const INSTANCE = 'chat-ai@test#0';

let bus: BusServer;
const conns: Redis[] = [];
async function conn(role: string): Promise<Redis> {
  const r = createBusClient(bus.url(), { service: 'test', instance: INSTANCE, role, log });
  conns.push(r);
  await connectBus(r);
  return r;
}

async function context(): Promise<WorkerContext> {
  return {
    service: 'chat-ai',
    instanceId: INSTANCE,
    redis: await conn('cmd'),
    log,
    config: { blockSeconds: 0.05, test: { taskDelayMs: 0 } },
    settings: {},
    notify: () => {},
  } as unknown as WorkerContext;
}

/** A handler whose tasks finish only when the test says so. */
function gatedHandler() {
  const started: number[] = [];
  const gates = new Map<number, () => void>();
  const waiters: Array<() => void> = [];
  return {
    started,
    handle: async (t: { n: number }) => {
      started.push(t.n);
      for (const w of waiters.splice(0)) w();
      await new Promise<void>((resolve) => gates.set(t.n, resolve));
    },
    finish: (n: number) => gates.get(n)!(),
    /** Resolves once `count` tasks have started. */
    startedCount: async (count: number) => {
      while (started.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}

beforeAll(async () => {
  bus = await startBus({ port: 0, host: '127.0.0.1' });
});
afterEach(() => {
  for (const r of conns.splice(0)) r.disconnect();
});
afterAll(async () => {
  await bus.close();
});

describe('QueueConsumer with concurrency', () => {
  it('runs up to N tasks at once, keeps each in the processing list until it completes, and takes the next when one ends', async () => {
    const ctx = await context();
    const gated = gatedHandler();
    const consumer = new QueueConsumer(ctx, await conn('blocking'), { kind: 'queue', queue: QUEUE, schema: Task, concurrency: 3, handle: gated.handle });
    await consumer.open();
    for (let n = 1; n <= 5; n++) await ctx.redis.lpush(QUEUE, JSON.stringify({ n }));
    consumer.serve();

    await gated.startedCount(3);
    expect(gated.started).toEqual([1, 2, 3]);
    const processing = processingList(QUEUE, INSTANCE);
    expect((await ctx.redis.lrange(processing, 0, -1)).map((r) => (JSON.parse(r) as { n: number }).n).sort()).toEqual([1, 2, 3]);
    expect(await ctx.redis.llen(QUEUE)).toBe(2);

    // The second task ends first: it alone leaves the processing list, and task 4 takes its slot.
    gated.finish(2);
    await gated.startedCount(4);
    expect(gated.started).toEqual([1, 2, 3, 4]);
    expect((await ctx.redis.lrange(processing, 0, -1)).map((r) => (JSON.parse(r) as { n: number }).n).sort()).toEqual([1, 3, 4]);

    // A stop waits for every task in flight (and the fifth stays queued for the next consumer).
    const stopped = consumer.stop(10_000);
    for (const n of [1, 3, 4]) gated.finish(n);
    await stopped;
    expect(await ctx.redis.llen(processing)).toBe(0);
    expect(await ctx.redis.lrange(QUEUE, 0, -1)).toEqual([JSON.stringify({ n: 5 })]);
    expect(consumer.handled).toBe(4);
  });

  it('without concurrency, one task at a time (the next is taken only after the first completes)', async () => {
    await (await conn('cleanup')).del(QUEUE);
    const ctx = await context();
    const gated = gatedHandler();
    const consumer = new QueueConsumer(ctx, await conn('blocking'), { kind: 'queue', queue: QUEUE, schema: Task, handle: gated.handle });
    await consumer.open();
    for (let n = 1; n <= 2; n++) await ctx.redis.lpush(QUEUE, JSON.stringify({ n }));
    consumer.serve();
    await gated.startedCount(1);
    expect(await ctx.redis.llen(QUEUE)).toBe(1);
    gated.finish(1);
    await gated.startedCount(2);
    const stopped = consumer.stop(10_000);
    gated.finish(2);
    await stopped;
    expect(gated.started).toEqual([1, 2]);
  });
});
