/**
 * Reliable queue behaviour under failures, with real input-handler workers (two instances sharing
 * the `fav:input` queue; each typed-text task becomes one UserInput on `fav:dialog:inputs`) and a
 * delay knob so tasks are observably in flight: sharing, SIGKILL mid-task
 * (redelivered, completed exactly once), heartbeat loss (SIGSTOP), the reaper for a dead remote
 * consumer, and a graceful stop that drains the task in flight.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { Queues, consumersKey, processingList, newEventId } from '../../../src/shared/bus.js';
import type { InputTask } from '../../../src/shared/voice.js';
import { NodeProcessHost, Supervisor, defaultManifest, type ServiceStatus } from '../../../src/main/supervisor/index.js';
import { randomUUID } from 'node:crypto';
import { BACKENDS, client, isAlive, startBackend, tempDataDir, waitFor, type Backend } from './helpers.js';

function task(text: string): InputTask {
  const id = randomUUID();
  return { session_id: 'sess-1', turn_id: id, task_id: id, event_id: newEventId(), ts: Date.now(), marks: {}, type: 'text', source: 'typed', text };
}

const DELAY_MS = 600;

describe.each(BACKENDS)('reliable queue under failures (%s)', (kind) => {
  let bus: Backend;
  let sup: Supervisor;
  let redis: Redis;
  const events: ServiceStatus[] = [];

  const handler = () => sup.status()[0]!;
  /** How many UserInputs the handlers produced for a task. */
  const resultsFor = async (taskId: string) =>
    (await redis.lrange(Queues.dialogInputs, 0, -1)).filter((m) => (JSON.parse(m) as { task_id: string }).task_id === taskId).length;
  const ids = () => handler().instances.map((i) => i.instanceId);
  const processingTotal = async () => {
    let n = 0;
    for (const id of ids()) n += await redis.llen(processingList(Queues.input, id));
    return n;
  };

  beforeAll(async () => {
    bus = await startBackend(kind);
    redis = await client(bus.url);
    sup = new Supervisor({
      host: new NodeProcessHost(),
      redisUrl: bus.url,
      dataDir: tempDataDir(),
      handleSignals: false,
      reapIntervalMs: 300,
      manifest: defaultManifest({
        only: ['input-handler'],
        services: {
          'input-handler': {
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
    redis?.disconnect();
    await bus?.stop();
  }, 60_000);

  it('two instances share the queue and every task is handled once', async () => {
    const tasks = Array.from({ length: 8 }, (_, i) => task(`share ${i}`));
    for (const t of tasks) await redis.lpush(Queues.input, JSON.stringify(t));
    await waitFor(async () => (await Promise.all(tasks.map((t) => resultsFor(t.task_id)))).every((n) => n >= 1), 'all 8 results', 30_000);
    // Nothing queued or in flight any more: no second result can come after this.
    await waitFor(async () => (await redis.llen(Queues.input)) === 0 && (await processingTotal()) === 0, 'queue and processing lists empty');
    for (const t of tasks) expect(await resultsFor(t.task_id), t.task_id).toBe(1);
    // Both processes did part of the work (heartbeats carry the handled counts).
    await waitFor(() => handler().instances.every((i) => i.handled > 0) && handler().handled === 8, 'handled counts of both instances');
  });

  it('redelivers a task whose worker was SIGKILLed mid-task and completes it exactly once', async () => {
    const t = task('crash me');
    await redis.lpush(Queues.input, JSON.stringify(t));
    const owner = await waitFor(async () => {
      for (const i of handler().instances) if ((await redis.llen(processingList(Queues.input, i.instanceId))) > 0) return i;
      return undefined;
    }, 'task in a processing list');
    const restartsBefore = handler().restarts;
    process.kill(owner.pid!, 'SIGKILL');
    await waitFor(async () => (await resultsFor(t.task_id)) >= 1, 'redelivered result', 60_000);
    await waitFor(async () => (await redis.llen(Queues.input)) === 0 && (await processingTotal()) === 0, 'queue and processing lists empty');
    expect(await resultsFor(t.task_id)).toBe(1);
    const slot = handler().instances.find((i) => i.instanceId === owner.instanceId)!;
    expect(slot.pid).not.toBe(owner.pid);
    expect(isAlive(owner.pid!)).toBe(false);
    expect(handler().restarts).toBe(restartsBefore + 1);
    expect(slot.lastError).toMatch(/SIGKILL/);
    await waitFor(() => handler().state === 'ready', 'input-handler ready again');
    expect(await processingTotal()).toBe(0);
    expect(await redis.llen(Queues.input)).toBe(0);
  });

  it('marks a worker that stops heartbeating unhealthy and restarts it', async () => {
    const victim = handler().instances[1]!;
    events.length = 0;
    process.kill(victim.pid!, 'SIGSTOP');
    try {
      await waitFor(() => events.some((e) => e.instances.some((i) => i.instanceId === victim.instanceId && i.state === 'unhealthy')), 'unhealthy', 20_000);
      const back = await waitFor(() => {
        const i = handler().instances.find((x) => x.instanceId === victim.instanceId)!;
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
    const ghost = 'input-handler@other-machine#0';
    const t = task('left by a dead remote worker');
    await redis.sadd(consumersKey(Queues.input), ghost);
    await redis.lpush(processingList(Queues.input, ghost), JSON.stringify(t));
    await waitFor(async () => (await resultsFor(t.task_id)) === 1, 'reaped task handled', 30_000);
    expect(await redis.llen(processingList(Queues.input, ghost))).toBe(0);
    expect(await redis.sismember(consumersKey(Queues.input), ghost)).toBe(0);
    expect(sup.logs.tail(500, 'supervisor').some((r) => r.msg.includes(ghost) && r.msg.includes('1 task(s)'))).toBe(true);
  });

  it('graceful stop drains the task in flight before the worker exits', async () => {
    const t = task('drain me');
    await redis.lpush(Queues.input, JSON.stringify(t));
    await waitFor(async () => (await processingTotal()) === 1, 'task in flight');
    const pids = handler().instances.map((i) => i.pid!);
    await sup.stop();
    expect(await resultsFor(t.task_id)).toBe(1);
    expect(await processingTotal()).toBe(0);
    expect(await redis.llen(Queues.input)).toBe(0);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    expect(handler().instances.every((i) => i.state === 'stopped')).toBe(true);
  });
}, 90_000);
