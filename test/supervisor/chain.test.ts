/**
 * All 8 services under one supervisor, real processes, against each bus backend: ready handshake,
 * status, the end-to-end plumbing chain, dead letters, logs (ring buffer, file, redaction), and
 * no process left after stop().
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { Channels, Queues, SERVICE_NAMES, Streams, deadLetterList, streamGroup } from '../../src/shared/bus.js';
import { NodeProcessHost, Supervisor, defaultManifest } from '../../src/main/supervisor/index.js';
import { BACKENDS, Recorder, client, isAlive, startBackend, task, tempDataDir, waitFor, type Backend } from './helpers.js';

describe.each(BACKENDS)('supervisor with all services (%s)', (kind) => {
  let bus: Backend;
  let sup: Supervisor;
  let redis: Redis;
  let rec: Recorder;
  let dataDir: string;

  beforeAll(async () => {
    bus = await startBackend(kind);
    redis = await client(bus.url);
    rec = await Recorder.open(bus.url, ['task_response:*', Channels.asrResults, Channels.aiResponses, Channels.memoryUpdates]);
    dataDir = tempDataDir();
    sup = new Supervisor({
      host: new NodeProcessHost(),
      redisUrl: bus.url,
      dataDir,
      handleSignals: false,
      manifest: defaultManifest({ all: { heartbeatMs: 300, readyTimeoutMs: 60_000, stopTimeoutMs: 4000 } }),
    });
    await sup.start();
  }, 150_000);

  afterAll(async () => {
    await sup?.stop();
    await rec?.close();
    redis?.disconnect();
    await bus?.stop();
  }, 60_000);

  it('starts all 8 services and reports them ready with pids', () => {
    const st = sup.status();
    expect(st.map((s) => s.name)).toEqual([...SERVICE_NAMES]);
    for (const s of st) {
      expect(s.state, s.name).toBe('ready');
      expect(s.instances).toHaveLength(1);
      const pid = s.instances[0]!.pid!;
      expect(pid).toBeGreaterThan(0);
      expect(isAlive(pid)).toBe(true);
      expect(s.lastHeartbeat).toBeGreaterThan(0);
    }
    expect(new Set(st.map((s) => s.instances[0]!.pid)).size).toBe(8);
  });

  it('carries a task through the whole chain to task_response:{task_id}', async () => {
    const t = task('hello chain');
    await redis.lpush(Queues.asrTasks, JSON.stringify(t));
    const channel = Channels.taskResponse(t.task_id);
    const [out] = (await waitFor(() => (rec.on(channel).length ? rec.on(channel) : undefined), 'task response')) as Array<Record<string, unknown>>;
    expect(out).toMatchObject({ task_id: t.task_id, turn_id: t.turn_id, session_id: t.session_id, type: 'tts_result' });
    expect((out!.data as { text: string }).text).toBe('echo: hello chain');
    // Every hop saw it once, and the AI reply went out on ai_responses.
    const mine = (m: Record<string, unknown>) => m.task_id === t.task_id;
    expect(rec.count(Channels.asrResults, mine)).toBe(1);
    expect(rec.count(Channels.memoryUpdates, mine)).toBe(1);
    expect(rec.count(Channels.aiResponses, mine)).toBe(1);
    // long-term-memory consumed the stream write through its group and acked it.
    await waitFor(async () => {
      const pending = (await redis.xpending(Streams.longTermWrites, streamGroup('long-term-memory'))) as [number, ...unknown[]];
      const len = await redis.xlen(Streams.longTermWrites);
      return len >= 1 && pending[0] === 0;
    }, 'stream write acked');
    // Queues and processing lists are empty once the turn is through.
    for (const q of [Queues.asrTasks, Queues.userInput, Queues.ttsRequests]) expect(await redis.llen(q), q).toBe(0);
    // Heartbeats report the handled count.
    await waitFor(() => sup.status().find((s) => s.name === 'tts')!.handled >= 1, 'tts handled count');
  });

  it('moves bad messages to the dead-letter list, keeps the worker up, and redacts secrets in logs', async () => {
    const asrPid = sup.status().find((s) => s.name === 'asr')!.instances[0]!.pid;
    const leaky = `not json redis://:${bus.password}@10.0.0.1:6379 apiKey=sk-abcdefghijklmnop1234`;
    await redis.lpush(Queues.asrTasks, leaky, JSON.stringify({ hello: 'no envelope' }));
    await waitFor(async () => (await redis.llen(deadLetterList(Queues.asrTasks))) === 2, 'two dead letters');
    expect(await redis.lrange(deadLetterList(Queues.asrTasks), 0, -1)).toContain(leaky);
    // Still the same process, still serving.
    const t = task('after bad ones');
    await redis.lpush(Queues.asrTasks, JSON.stringify(t));
    await waitFor(() => rec.on(Channels.taskResponse(t.task_id)).length === 1, 'task after dead letters');
    const asr = sup.status().find((s) => s.name === 'asr')!;
    expect(asr.instances[0]!.pid).toBe(asrPid);
    expect(asr.restarts).toBe(0);

    // The warning with the reason is in the ring buffer, redacted.
    const warn = await waitFor(
      () => sup.logs.tail(2000, 'asr').find((r) => r.msg.includes('dead-letter') && String(r.fields?.reason).includes('bad JSON')),
      'dead-letter log record',
    );
    expect(warn.level).toBe('warn');
    expect(JSON.stringify(warn)).not.toContain(bus.password);
    expect(JSON.stringify(warn)).not.toContain('sk-abcdefghijklmnop1234');
    expect(JSON.stringify(warn)).toContain('[REDACTED]');
    expect(sup.logs.tail(2000, 'asr').some((r) => String(r.fields?.reason).startsWith('schema:'))).toBe(true);
  });

  it('dialog-engine follows the control channel and drops invalid control events', async () => {
    await redis.publish(Channels.control, JSON.stringify({ action: 'cancel', session_id: 'sess-ctl', turn_id: 'turn-7', ts: Date.now() }));
    await redis.publish(Channels.control, JSON.stringify({ action: 'explode', session_id: 'sess-ctl', ts: 1 }));
    const upd = await waitFor(
      () => sup.logs.tail(500, 'dialog-engine').find((r) => r.msg === 'turn state updated' && r.fields?.session_id === 'sess-ctl'),
      'turn state record',
    );
    expect(upd.fields).toMatchObject({ turn_id: 'turn-7', action: 'cancel' });
    await waitFor(() => sup.logs.tail(500, 'dialog-engine').some((r) => r.msg === 'invalid message dropped' && String(r.fields?.reason).includes('action')), 'invalid control dropped');
    expect(sup.status().find((s) => s.name === 'dialog-engine')!.state).toBe('ready');
  });

  it('keeps structured records per service and globally, and writes them to <dataDir>/logs', async () => {
    const all = sup.logs.tail(5000);
    for (const name of SERVICE_NAMES) {
      const ready = all.find((r) => r.service === name && r.msg === 'ready');
      expect(ready, name).toBeDefined();
      expect(ready!.instance).toMatch(new RegExp(`^${name}@`));
      expect(ready!.level).toBe('info');
    }
    const file = `${dataDir}/logs/asr.log`;
    await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').includes('dead-letter'), 'asr log file');
    const text = readFileSync(file, 'utf8');
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { service: string });
    expect(lines.every((l) => l.service === 'asr')).toBe(true);
    expect(text).not.toContain(bus.password);
  });

  it('streams new records to subscribers and stops everything, leaving no process', async () => {
    const seen: string[] = [];
    const off = sup.logs.subscribe((r) => seen.push(`${r.service}:${r.msg}`));
    const pids = sup.status().map((s) => s.instances[0]!.pid!);
    await sup.stop();
    off();
    expect(sup.status().every((s) => s.state === 'stopped')).toBe(true);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    // Every worker said 'stopped' through its own log on the way out.
    for (const name of SERVICE_NAMES) expect(seen, name).toContain(`${name}:stopped`);
    // Heartbeat keys are removed on a clean stop.
    expect(await redis.keys('fav:hb:*')).toEqual([]);
  });
}, 90_000);
