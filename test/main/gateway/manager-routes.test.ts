/**
 * The manager's routes (src/main/gateway/manager-routes.ts) on the real gateway, with a real
 * supervisor running real worker processes and a real bus: the token guard, CPU and memory of the
 * real child pids, stop and start of one service, the contract's queue and stream lengths, and the
 * timing marks of a turn delivered on fav:deliver joined with the `heard` its audio socket reports
 * and the recall status of its memory context (memory_updates).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeProcessHost, Supervisor, defaultManifest } from '../../../src/main/supervisor/index.js';
import { startGateway, type Gateway } from '../../../src/main/gateway/server.js';
import { Channels, consumersKey, deadLetterList, processingList, Queues, streamGroup, Streams } from '../../../src/shared/bus.js';
import { ManagerPaths, servicePath, type BusLength, type ManagerService, type TurnTiming } from '../../../src/shared/manager-api.js';
import { nowMs } from '../../../src/shared/voice.js';
import { testGatewayDeps, WsClient } from './helpers.js';
import { BACKENDS, client, isAlive, startBackend, tempDataDir, waitFor, type Backend } from '../supervisor/helpers.js';

/** The routes are the gateway's business, not the bus's: one backend is enough. */
const KIND = BACKENDS.includes('embedded') ? 'embedded' : 'redis-server';

describe(`manager routes (${KIND})`, () => {
  let bus: Backend;
  let sup: Supervisor;
  let gateway: Gateway;
  let redis: Redis;
  const token = randomBytes(24).toString('base64url');

  const get = async (path: string, withToken = true) => {
    const res = await fetch(`${gateway.url}${path}`, { headers: withToken ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const post = async (path: string, withToken = true) => {
    const res = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: withToken ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const services = async () => (await get(ManagerPaths.services)).body.services as ManagerService[];
  const service = async (name: string) => (await services()).find((s) => s.name === name)!;

  beforeAll(async () => {
    bus = await startBackend(KIND);
    redis = await client(bus.url);
    sup = new Supervisor({
      host: new NodeProcessHost(),
      redisUrl: bus.url,
      dataDir: tempDataDir(),
      handleSignals: false,
      manifest: defaultManifest({ only: ['tts', 'dialog-engine'] }),
    });
    await sup.start();
    gateway = await startGateway(
      testGatewayDeps({
        token,
        services: sup,
        logs: sup.logs,
        bus: { kind: 'external', url: 'redis://test', ping: async () => true, reader: redis },
        voice: { busUrl: bus.url, input: { maxBytes: 64 * 1024, maxTextChars: 200 }, asrTimeoutMs: 2000, log: () => {} },
        memory: { busUrl: bus.url },
      }),
      { host: '127.0.0.1', port: 0 },
    );
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
    await sup?.stop();
    redis?.disconnect();
    await bus?.stop();
  });

  it('needs the token for every manager route, reads included', async () => {
    for (const path of [ManagerPaths.services, ManagerPaths.bus, ManagerPaths.turns]) {
      const r = await get(path, false);
      expect(r.status, path).toBe(401);
      expect(r.body.error).toMatch(/studio token/);
    }
    for (const path of [ManagerPaths.serviceStop, ManagerPaths.serviceStart]) expect((await post(servicePath(path, 'tts'), false)).status).toBe(401);
    expect(sup.status().every((s) => s.state === 'ready')).toBe(true);
  });

  it('reports every service with the CPU and memory of its real processes', async () => {
    const r = await get(ManagerPaths.services);
    expect(r.status).toBe(200);
    expect(r.body.control).toBe(true);
    const list = r.body.services as ManagerService[];
    expect(list.map((s) => s.name)).toEqual(['tts', 'dialog-engine']);
    for (const s of list) {
      const inst = s.instances[0]!;
      const pid = sup.status().find((x) => x.name === s.name)!.instances[0]!.pid!;
      expect(inst.pid).toBe(pid);
      expect(inst.stats?.pid).toBe(pid);
      expect(inst.stats!.cpu).toBeGreaterThanOrEqual(0);
      // Resident memory as the kernel counts it (statm's second field, in pages), within a factor of 2.
      const rss = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096;
      expect(inst.stats!.memory).toBeGreaterThan(rss / 2);
      expect(inst.stats!.memory).toBeLessThan(rss * 2);
    }
  });

  it('stops one service (it stays stopped, with no process and no stats) and starts it again with a new pid', async () => {
    const old = (await service('dialog-engine')).instances[0]!.pid!;
    const stopped = await post(servicePath(ManagerPaths.serviceStop, 'dialog-engine'));
    expect(stopped).toEqual({ status: 200, body: { ok: true, service: 'dialog-engine' } });
    const s = await service('dialog-engine');
    expect(s.state).toBe('stopped');
    expect(s.instances[0]!.pid ?? undefined).toBeUndefined();
    expect(s.instances[0]!.stats).toBeUndefined();
    expect(isAlive(old)).toBe(false);
    expect((await service('tts')).state).toBe('ready');

    const started = await post(servicePath(ManagerPaths.serviceStart, 'dialog-engine'));
    expect(started.status).toBe(200);
    const again = await service('dialog-engine');
    expect(again.state).toBe('ready');
    expect(again.instances[0]!.pid).not.toBe(old);
    expect(again.instances[0]!.stats?.pid).toBe(again.instances[0]!.pid);

    // The existing restart route still works beside them, and an unknown name is a 404 naming the services.
    const before = again.instances[0]!.pid;
    expect((await post(`/api/services/dialog-engine/restart`)).status).toBe(200);
    expect((await service('dialog-engine')).instances[0]!.pid).not.toBe(before);
    const unknown = await post(servicePath(ManagerPaths.serviceStop, 'nope'));
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatch(/no service named 'nope'; the services are: tts, dialog-engine/);
  }, 90_000);

  it("reads the lengths of the contract's queues (with processing and dead letters) and streams (with pending)", async () => {
    await redis.lpush(Queues.input, '{"a":1}', '{"a":2}');
    await redis.sadd(consumersKey(Queues.input), 'input-handler@gone#0', 'input-handler@gone#1');
    await redis.lpush(processingList(Queues.input, 'input-handler@gone#0'), 'x');
    await redis.lpush(processingList(Queues.input, 'input-handler@gone#1'), 'y', 'z');
    await redis.lpush(deadLetterList(Queues.input), 'bad');
    await redis.xgroup('CREATE', Streams.longTermWrites, streamGroup('long-term-memory'), '$', 'MKSTREAM');
    await redis.xadd(Streams.longTermWrites, '*', 'msg', '{}');
    await redis.xadd(Streams.longTermWrites, '*', 'msg', '{}');
    await redis.xadd(Streams.longTermWrites, '*', 'msg', '{}');
    await redis.xreadgroup('GROUP', streamGroup('long-term-memory'), 'c1', 'COUNT', 2, 'STREAMS', Streams.longTermWrites, '>');

    const r = await get(ManagerPaths.bus);
    expect(r.status).toBe(200);
    const lengths = r.body.lengths as BusLength[];
    const byName = new Map(lengths.map((l) => [l.name, l]));
    expect(byName.get(Queues.input)).toMatchObject({ kind: 'queue', length: 2, processing: 3, dead: 1, consumers: ['input-handler'] });
    expect(byName.get(Queues.ttsRequests)).toMatchObject({ kind: 'queue', length: 0, processing: 0, dead: 0 });
    expect(byName.get(Streams.longTermWrites)).toEqual({ name: Streams.longTermWrites, kind: 'stream', length: 3, pending: 2, consumers: ['long-term-memory'] });
    // Every queue and stream the contract declares, nothing else.
    expect(lengths.map((l) => l.name).sort()).toEqual([...Object.values(Queues), ...Object.values(Streams)].sort());
  });

  it("keeps a delivered turn's marks and joins the heard its audio socket reports, stamped by the core's clock", async () => {
    const s = 'mgr-session';
    const studio = await WsClient.open(`${gateway.url.replace(/^http/, 'ws')}/api/session?token=${token}&session=${s}`);
    const overlay = await WsClient.open(`${gateway.url.replace(/^http/, 'ws')}/api/session?session=${s}&role=view`);
    try {
      // Both sockets are routed once an event of the session reaches them.
      const pub = await client(bus.url);
      await pub.publish(Channels.deliver, JSON.stringify({ type: 'turn_state', session_id: s, turn_id: '-', state: 'idle' }));
      expect((await studio.json()).type).toBe('turn_state');
      expect((await overlay.json()).type).toBe('turn_state');

      const marks = { input: 1000, turn_start: 1010, llm_first_token: 1400, sentence_0: 1600, first_audio: 1900, delivered: 1905 };
      await pub.publish(Channels.deliver, JSON.stringify({ type: 'turn_end', session_id: s, turn_id: 't1', task_id: 't1', reason: 'done', marks }));
      expect((await studio.json()).type).toBe('turn_end');
      expect((await overlay.json()).type).toBe('turn_end');
      pub.disconnect();
      const listed = await waitFor(async () => ((await get(ManagerPaths.turns)).body.turns as TurnTiming[]).find((t) => t.turn_id === 't1'), 'turn t1 listed');
      expect(listed).toEqual({ session_id: s, turn_id: 't1', reason: 'done', marks });

      // The overlay does not play the audio: its report is refused, and the turn has no heard.
      overlay.send({ type: 'heard', turn_id: 't1', ago_ms: 0 });
      expect(await overlay.json()).toMatchObject({ type: 'error', code: 'not_audio_socket', message: expect.stringMatching(/heard ignored/) });
      const t0 = nowMs();
      studio.send({ type: 'heard', turn_id: 't1', ago_ms: 5 });
      const heard = await waitFor(async () => ((await get(ManagerPaths.turns)).body.turns as TurnTiming[]).find((t) => t.turn_id === 't1')?.marks.heard, 'heard of t1');
      const t1 = nowMs();
      expect(heard).toBeGreaterThanOrEqual(t0 - 5);
      expect(heard).toBeLessThanOrEqual(t1 - 5);
      // A malformed report is refused with the fix.
      studio.send({ type: 'heard', turn_id: 't1', ago_ms: -3 });
      expect(await studio.json()).toMatchObject({ type: 'error', message: expect.stringMatching(/ago_ms/) });
    } finally {
      studio.close();
      overlay.close();
    }
  });

  it("joins a turn's recall status from its memory context, matched by session and turn", async () => {
    const s = 'mgr-recall';
    const pub = await client(bus.url);
    try {
      const recall = { status: 'vector', waited_ms: 14, took_ms: 11, embed_ms: 6, engine: 'use-lite:512', count: 2 };
      const context = (turn_id: string, r?: typeof recall) => ({
        session_id: s,
        turn_id,
        task_id: turn_id,
        event_id: `e-${turn_id}`,
        ts: Date.now(),
        marks: { input: 1000, recall: 1014 },
        source: 'typed',
        text: 'do you remember my cat?',
        messages: [{ role: 'user', content: 'do you remember my cat?' }],
        memories: [],
        ...(r ? { recall: r } : {}),
      });
      await pub.publish(Channels.deliver, JSON.stringify({ type: 'turn_end', session_id: s, turn_id: 'r1', task_id: 'r1', reason: 'done', marks: { input: 1000, recall: 1014, first_audio: 1500 } }));
      await pub.publish(Channels.deliver, JSON.stringify({ type: 'turn_end', session_id: s, turn_id: 'r2', task_id: 'r2', reason: 'done', marks: { input: 2000 } }));
      // Published until seen: the gateway's subscription to memory_updates is made at its start.
      const listed = await waitFor(async () => {
        await pub.publish(Channels.memoryUpdates, JSON.stringify(context('r1', recall)));
        await pub.publish(Channels.memoryUpdates, JSON.stringify(context('r2')));
        const turns = (await get(ManagerPaths.turns)).body.turns as TurnTiming[];
        return turns.find((t) => t.turn_id === 'r1' && t.recall) ? turns : undefined;
      }, 'the recall of r1');
      expect(listed.find((t) => t.turn_id === 'r1')).toEqual({ session_id: s, turn_id: 'r1', reason: 'done', marks: { input: 1000, recall: 1014, first_audio: 1500 }, recall });
      // A context without recall info (a say turn) adds none.
      expect(listed.find((t) => t.turn_id === 'r2')?.recall).toBeUndefined();
    } finally {
      pub.disconnect();
    }
  });
});
