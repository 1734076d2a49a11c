/**
 * Scale-out as the README describes it: the studio on a real Redis, and `fav worker asr --redis URL`
 * started separately joining its bus. Both asr instances take from the same queue; every task is
 * handled exactly once.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Channels, Queues, StatusEvent, newEventId, processingList } from '../../../src/shared/bus.js';
import type { AsrTask } from '../../../src/shared/voice.js';
import { startFav, type LongRunning } from '../../helpers/fav-cli.js';
import { freePort, startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';

let redis: RedisServerHandle;
let serve: LongRunning;
let worker: LongRunning | undefined;
let dataDir: string;
const clients: Redis[] = [];
const SILENCE = Buffer.alloc(16000 * 2 * 0.3).toString('base64');

beforeAll(async () => {
  redis = await startRedisServer({ password: 'scale-out' });
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'fav-remote-'));
  // Each asr task takes 150 ms so that both instances get a share of a burst.
  serve = startFav(['serve', '--port', String(await freePort()), '--data', dataDir, '--redis', redis.url], { FAV_TEST_TASK_DELAY_MS: '150' });
  await serve.waitFor(/is running/, 90_000);
}, 120_000);

afterAll(async () => {
  await worker?.stop('SIGKILL');
  await serve?.stop('SIGKILL');
  for (const c of clients) c.disconnect();
  await redis?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

it('a remote worker joins the bus and shares the queue: every task handled once', async () => {
  const sub = new Redis(redis.url);
  const cmd = new Redis(redis.url);
  clients.push(sub, cmd);
  const ready = new Set<string>();
  const results: string[] = [];
  await sub.subscribe(Channels.status, Channels.asrResults);
  sub.on('message', (channel, message) => {
    if (channel === Channels.asrResults) results.push(JSON.parse(message).task_id);
    else {
      const ev = StatusEvent.safeParse(JSON.parse(message));
      if (ev.success && ev.data.state === 'ready') ready.add(ev.data.instance);
    }
  });

  worker = startFav(['worker', 'asr', '--redis', redis.url, '--instance', 'asr@remote#1'], { FAV_TEST_TASK_DELAY_MS: '150' });
  const deadline = Date.now() + 60_000;
  while (!ready.has('asr@remote#1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(ready.has('asr@remote#1')).toBe(true);

  const ids = Array.from({ length: 24 }, () => randomUUID());
  for (const id of ids) {
    // 0.3 s of silence: the VAD finds no speech, so the task is quick and its result is text ''.
    const task: AsrTask = { session_id: 's', turn_id: id, task_id: id, event_id: newEventId(), ts: Date.now(), marks: {}, source: 'upload', pcm_b64: SILENCE, sample_rate: 16000, duration_ms: 300 };
    await cmd.lpush(Queues.asrTasks, JSON.stringify(task));
  }
  const until = Date.now() + 30_000;
  while (results.length < ids.length && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  // Nothing queued or in flight on either worker: no duplicate can come after this.
  const inFlight = async () => {
    const lists = await cmd.keys(`${processingList(Queues.asrTasks, '')}*`);
    let n = await cmd.llen(Queues.asrTasks);
    for (const l of lists) n += await cmd.llen(l);
    return n;
  };
  for (let left = 300; (await inFlight()) > 0 && left > 0; left--) await new Promise((r) => setTimeout(r, 100));
  expect(results.slice().sort()).toEqual(ids.slice().sort());

  // The remote worker logged the tasks it did; the studio's own asr did the rest.
  const remoteDone = ids.filter((id) => worker!.output().includes(id));
  expect(remoteDone.length).toBeGreaterThan(0);
  expect(remoteDone.length).toBeLessThan(ids.length);
  expect(await cmd.llen(Queues.asrTasks)).toBe(0);

  // Ctrl+C on the remote worker stops it cleanly.
  expect(await worker.stop('SIGINT')).toBe(0);
}, 120_000);
