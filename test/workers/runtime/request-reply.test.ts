/**
 * The runtime's request/reply on the real embedded bus (pattern subscriptions and PUBLISH receiver
 * counts are the boundary under test).
 */
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startBus, type BusServer } from '../../../src/main/bus/index.js';
import { connectBus, createBusClient } from '../../../src/workers/runtime/bus-client.js';
import { Requester, replyChannel, serveRequests } from '../../../src/workers/runtime/request-reply.js';
import type { Topic } from '../../../src/shared/contract.js';
import type { ChannelInput, JobContext } from '../../../src/workers/runtime/types.js';

const log = pino({ level: 'silent' });
const Ask = z.object({ request_id: z.string(), q: z.string(), ts: z.number() });
type Ask = z.infer<typeof Ask>;
const Answer = z.object({ request_id: z.string(), a: z.string() });
type Answer = z.infer<typeof Answer>;
const CH = 'test:ask';
/** A request topic and its reply topic, as the contract table declares them. */
const AskTopic: Topic<'channel', typeof Ask> = { kind: 'channel', name: CH, schema: Ask, producers: ['memory'], consumers: ['long-term-memory'] };
const AnswerTopic: Topic<'reply', typeof Answer> = {
  kind: 'reply',
  name: `${CH}:*`,
  schema: Answer,
  producers: ['long-term-memory'],
  consumers: ['memory'],
  channelOf: (m) => replyChannel(CH, m.request_id),
};

let bus: BusServer;
const conns: Redis[] = [];
async function conn(role: string): Promise<Redis> {
  const r = createBusClient(bus.url(), { service: 'test', instance: 'req-reply', role, log });
  conns.push(r);
  await connectBus(r);
  return r;
}

/** A server process in miniature: the serveRequests input fed by a real subscription. */
async function server(input: ChannelInput): Promise<void> {
  const sub = await conn('server-sub');
  const redis = await conn('server-cmd');
  const job = { redis, log } as unknown as JobContext;
  sub.on('message', (_c: string, raw: string) => void input.handle(input.schema.parse(JSON.parse(raw)), job, CH));
  await sub.subscribe(CH);
}

async function requester(): Promise<Requester> {
  const r = new Requester({ sub: await conn('sub'), pub: await conn('cmd'), instance: 'memory@box #1', log });
  await r.listen(CH);
  return r;
}

beforeAll(async () => {
  bus = await startBus({ port: 0, host: '127.0.0.1' });
});
afterEach(() => {
  for (const r of conns.splice(0)) r.disconnect();
});
afterAll(async () => {
  await bus?.close();
});

describe('request/reply', () => {
  it('a served request gets its own answer; concurrent requests are not mixed up', async () => {
    await server(serveRequests({ topic: AskTopic, reply: AnswerTopic, handle: async (req: Ask) => ({ a: req.q.toUpperCase() }) }));
    const r = await requester();
    const [x, y] = await Promise.all(['one', 'two'].map((q) => r.request<Ask, Answer>(CH, { q, ts: Date.now() }, { timeoutMs: 5000, reply: Answer })));
    expect(x).toMatchObject({ status: 'ok', receivers: 1, reply: { a: 'ONE' } });
    expect(y).toMatchObject({ status: 'ok', reply: { a: 'TWO' } });
    expect(x!.reply!.request_id).toMatch(/^memory@box_#1:\d+$/);
  });

  it('with no server it answers timeout at once (receivers 0), not after the deadline', async () => {
    const r = await requester();
    const out = await r.request<Ask, Answer>(CH, { q: 'anyone?', ts: Date.now() }, { timeoutMs: 60_000, reply: Answer });
    expect(out).toMatchObject({ status: 'timeout', receivers: 0 });
  });

  it('a server that does not answer in time: timeout; its late answer is ignored and the next request gets its own', async () => {
    const held: Array<() => void> = [];
    await server(
      serveRequests({
        topic: AskTopic,
        reply: AnswerTopic,
        handle: (req: Ask) => (req.q === 'slow' ? new Promise<{ a: string }>((res) => held.push(() => res({ a: 'late' }))) : Promise.resolve({ a: 'fast' })),
      }),
    );
    const r = await requester();
    const slow = await r.request<Ask, Answer>(CH, { q: 'slow', ts: Date.now() }, { timeoutMs: 40, reply: Answer });
    expect(slow).toMatchObject({ status: 'timeout', receivers: 1 });
    held.forEach((f) => f());
    const next = await r.request<Ask, Answer>(CH, { q: 'quick', ts: Date.now() }, { timeoutMs: 5000, reply: Answer });
    expect(next).toMatchObject({ status: 'ok', reply: { a: 'fast' } });
  });

  it('a stale request is not answered; an invalid reply is ignored', async () => {
    await server(serveRequests({ topic: AskTopic, reply: AnswerTopic, staleMs: 1000, handle: async () => ({ a: 'fresh' }) }));
    const r = await requester();
    const stale = await r.request<Ask, Answer>(CH, { q: 'old', ts: Date.now() - 5000 }, { timeoutMs: 100, reply: Answer });
    expect(stale.status).toBe('timeout');

    // A reply of the wrong shape on the reply channel: the request times out instead of taking it.
    const pub = await conn('rogue');
    const bad = r.request<Ask, Answer>(CH, { q: 'x', ts: Date.now() - 5000 }, { timeoutMs: 300, reply: Answer });
    // Request ids are numbered per requester: this is its second.
    await pub.publish(replyChannel(CH, 'memory@box_#1:2'), JSON.stringify({ request_id: 'memory@box_#1:2', wrong: true }));
    expect((await bad).status).toBe('timeout');
  });

  it('close settles what is pending', async () => {
    const sub = await conn('hung-sub');
    const heard = new Promise((res) => sub.once('message', res));
    await sub.subscribe(CH); // a server that never answers
    const r = await requester();
    const pending = r.request<Ask, Answer>(CH, { q: 'x', ts: Date.now() }, { timeoutMs: 60_000, reply: Answer });
    await heard;
    r.close();
    expect((await pending).status).toBe('timeout');
  });
});
