/**
 * Reliable queue behaviour under failures, with real asr workers (two instances sharing
 * asr_tasks) and a delay knob so tasks are observably in flight: sharing, SIGKILL mid-task
 * (redelivered, completed exactly once), heartbeat loss (SIGSTOP), the reaper for a dead remote
 * consumer, and a graceful stop that drains the task in flight.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { Channels, Queues, consumersKey, processingList } from '../../src/shared/bus.js';
import { NodeProcessHost, Supervisor, defaultManifest, type ServiceStatus } from '../../src/main/supervisor/index.js';
import { BACKENDS, Recorder, client, isAlive, sleep, startBackend, task, tempDataDir, waitFor, type Backend } from './helpers.js';

const DELAY_MS = 600;

describe.each(BACKENDS)('reliable queue under failures (%s)', (kind) => {
  let bus: Backend;
  let sup: Supervisor;
  let redis: Redis;
  let rec: Recorder;
  const events: ServiceStatus[] = [];

  const asr = () => sup.status()[0]!;
  const resultsFor = (taskId: string) => rec.count(Channels.asrResults, (m) => m.task_id === taskId);
  const ids = () => asr().instances.map((i) => i.instanceId);
  const processingTotal = async () => {
    let n = 0;
    for (const id of ids()) n += await redis.llen(processingList(Queues.asrTasks, id));
    return n;
  };

  beforeAll(async () => {
    bus = await startBackend(kind);
    redis = await client(bus.url);
    rec = await Recorder.open(bus.url, [Channels.asrResults]);
    sup = new Supervisor({
      host: new NodeProcessHost(),
      redisUrl: bus.url,
      dataDir: tempDataDir(),
      handleSignals: false,
      reapIntervalMs: 300,
      manifest: defaultManifest({
        only: ['asr'],
        services: {
          asr: {
            instances: 2,
            heartbeatMs: 200,
            missedHeartbeats: 3,
            readyTimeoutMs: 60_000,
            stopTimeoutMs: 5000,
            restart: { backoffBaseMs: 100, backoffMaxMs: 1000 },
            env: { FAV_TEST_TASK_DELAY_MS: String(DELAY_MS) },
          },
        },
      }),
    });
    sup.on('status', (s) => events.push(structuredClone(s)));
    await sup.start();
  }, 150_000);

  afterAll(async () => {
    await sup?.stop();
    await rec?.close();
    redis?.disconnect();
    await bus?.stop();
  }, 60_000);

  it('two instances share the queue and every task is handled once', async () => {
    const tasks = Array.from({ length: 8 }, (_, i) => task(`share ${i}`));
    for (const t of tasks) await redis.lpush(Queues.asrTasks, JSON.stringify(t));
    await waitFor(() => tasks.every((t) => resultsFor(t.task_id) >= 1), 'all 8 results', 30_000);
    await sleep(DELAY_MS + 300);
    for (const t of tasks) expect(resultsFor(t.task_id), t.task_id).toBe(1);
    // Both processes did part of the work (heartbeats carry the handled counts).
    await waitFor(() => asr().instances.every((i) => i.handled > 0) && asr().handled === 8, 'handled counts of both instances');
  });

  it('redelivers a task whose worker was SIGKILLed mid-task and completes it exactly once', async () => {
    const t = task('crash me');
    await redis.lpush(Queues.asrTasks, JSON.stringify(t));
    const owner = await waitFor(async () => {
      for (const i of asr().instances) if ((await redis.llen(processingList(Queues.asrTasks, i.instanceId))) > 0) return i;
      return undefined;
    }, 'task in a processing list');
    const restartsBefore = asr().restarts;
    process.kill(owner.pid!, 'SIGKILL');
    await waitFor(() => resultsFor(t.task_id) >= 1, 'redelivered result', 60_000);
    await sleep(DELAY_MS + 500);
    expect(resultsFor(t.task_id)).toBe(1);
    const slot = asr().instances.find((i) => i.instanceId === owner.instanceId)!;
    expect(slot.pid).not.toBe(owner.pid);
    expect(isAlive(owner.pid!)).toBe(false);
    expect(asr().restarts).toBe(restartsBefore + 1);
    expect(slot.lastError).toMatch(/SIGKILL/);
    await waitFor(() => asr().state === 'ready', 'asr ready again');
    expect(await processingTotal()).toBe(0);
    expect(await redis.llen(Queues.asrTasks)).toBe(0);
  });

  it('marks a worker that stops heartbeating unhealthy and restarts it', async () => {
    const victim = asr().instances[1]!;
    events.length = 0;
    process.kill(victim.pid!, 'SIGSTOP');
    try {
      await waitFor(() => events.some((e) => e.instances.some((i) => i.instanceId === victim.instanceId && i.state === 'unhealthy')), 'unhealthy', 20_000);
      const back = await waitFor(() => {
        const i = asr().instances.find((x) => x.instanceId === victim.instanceId)!;
        return i.state === 'ready' && i.pid !== victim.pid ? i : undefined;
      }, 'restarted after heartbeat loss', 60_000);
      expect(back.lastError).toMatch(/heartbeat/);
      await waitFor(() => !isAlive(victim.pid!), 'stopped process gone');
    } finally {
      // If the test failed before the restart, do not leave a stopped process behind.
      if (isAlive(victim.pid!)) process.kill(victim.pid!, 'SIGKILL');
    }
  });

  it('requeues the tasks of a dead remote consumer (reaper)', async () => {
    const ghost = 'asr@other-machine#0';
    const t = task('left by a dead remote worker');
    await redis.sadd(consumersKey(Queues.asrTasks), ghost);
    await redis.lpush(processingList(Queues.asrTasks, ghost), JSON.stringify(t));
    await waitFor(() => resultsFor(t.task_id) === 1, 'reaped task handled', 30_000);
    expect(await redis.llen(processingList(Queues.asrTasks, ghost))).toBe(0);
    expect(await redis.sismember(consumersKey(Queues.asrTasks), ghost)).toBe(0);
    expect(sup.logs.tail(500, 'supervisor').some((r) => r.msg.includes(ghost) && r.msg.includes('1 task(s)'))).toBe(true);
  });

  it('graceful stop drains the task in flight before the worker exits', async () => {
    const t = task('drain me');
    await redis.lpush(Queues.asrTasks, JSON.stringify(t));
    await waitFor(async () => (await processingTotal()) === 1, 'task in flight');
    const pids = asr().instances.map((i) => i.pid!);
    await sup.stop();
    expect(resultsFor(t.task_id)).toBe(1);
    expect(await processingTotal()).toBe(0);
    expect(await redis.llen(Queues.asrTasks)).toBe(0);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(asr().instances.every((i) => i.state === 'stopped')).toBe(true);
  });
}, 90_000);
