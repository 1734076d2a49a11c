/**
 * `fav worker` beside a running studio, as the README invites: a shared service joins its bus, a
 * second instance of a singleton is refused with a clear message and a non-zero exit, and a remote
 * worker whose studio restarts joins the new run with a fresh process instead of carrying on inside it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startBus } from '../../../src/main/bus/index.js';
import { Channels, RUN_KEY, StatusEvent, WorkerExitCode, singletonKey } from '../../../src/shared/bus.js';
import { startFav, type LongRunning } from '../../helpers/fav-cli.js';
import { freePort } from '../../helpers/redis-server.js';
import { Recorder, client, isAlive, waitFor } from '../supervisor/helpers.js';

const running: LongRunning[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const r of running) await r.stop('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function fav(args: string[], env: NodeJS.ProcessEnv = {}): LongRunning {
  const r = startFav(args, env);
  running.push(r);
  return r;
}

/** Status events of one instance, parsed. */
function statusOf(rec: Recorder, instance: string): StatusEvent[] {
  return rec.msgs(Channels.status).flatMap((m) => {
    const ev = StatusEvent.safeParse(m);
    return ev.success && ev.data.instance === instance ? [ev.data] : [];
  });
}

describe('fav worker beside fav serve', () => {
  it('refuses a second live instance of a singleton and lets a shared service join', async () => {
    const password = 'scale-test';
    const busPort = await freePort();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fav-scale-'));
    dirs.push(dataDir);
    const serve = fav(['serve', '--port', String(await freePort()), '--data', dataDir], { FAV_BUS_PORT: String(busPort), FAV_BUS_PASSWORD: password });
    await serve.waitFor(/is running/, 90_000);
    const url = `redis://:${password}@127.0.0.1:${busPort}`;

    const second = fav(['worker', 'output-handler', '--redis', url]);
    await second.waitFor(/already runs it on this bus/, 60_000);
    const code = await new Promise<number | null>((r) => (second.child.exitCode !== null ? r(second.child.exitCode) : second.child.once('exit', r)));
    expect(code).toBe(WorkerExitCode.singletonTaken);
    expect(second.output()).toMatch(/output-handler is a singleton service and output-handler@\S+#0 already runs it on this bus/);
    expect(second.output()).toMatch(/Stop that instance first/);
    // chat-ai is shared (its contexts come from a queue): a remote instance joins the studio's own.
    const rec = await Recorder.open(url, [Channels.status]);
    try {
      const chat = fav(['worker', 'chat-ai', '--redis', url, '--instance', 'chat-ai@remote#1']);
      await waitFor(() => statusOf(rec, 'chat-ai@remote#1').some((e) => e.state === 'ready'), 'the remote chat-ai ready', 60_000);
      expect(await chat.stop('SIGINT')).toBe(0);
    } finally {
      await rec.close();
    }
    // The studio's own singleton kept its claim throughout.
    const redis = await client(url);
    expect(await redis.get(singletonKey('output-handler'))).toMatch(/^output-handler@.+#0$/);
    redis.disconnect();
    expect(await serve.stop('SIGINT')).toBe(0);
  }, 180_000);
});

describe('a remote worker and a restarted studio', () => {
  it('leaves the old run and joins the new one with a fresh process', async () => {
    const bus = await startBus({ port: 0, host: '127.0.0.1', password: 'runs' });
    const url = `redis://:runs@127.0.0.1:${bus.port}`;
    const redis = await client(url);
    const rec = await Recorder.open(url, [Channels.status]);
    try {
      await redis.set(RUN_KEY, 'run-A');
      const worker = fav(['worker', 'tts', '--redis', url, '--instance', 'tts@remote#2']);
      const first = await waitFor(() => statusOf(rec, 'tts@remote#2').find((e) => e.state === 'ready'), 'the worker ready in run A', 60_000);

      // What a studio restarting on this bus does first.
      await redis.set(RUN_KEY, 'run-B');
      const second = await waitFor(
        () => statusOf(rec, 'tts@remote#2').find((e) => e.state === 'ready' && e.pid !== first.pid),
        'a fresh worker process ready in run B',
        60_000,
      );
      expect(worker.output()).toMatch(/the bus now serves another run of the studio \(run-B, joined run-A\)/);
      expect(worker.output()).toMatch(/fav worker: the studio on this bus has restarted; starting tts again to join its new run/);
      expect(isAlive(first.pid)).toBe(false);
      expect(second.pid).not.toBe(first.pid);
      expect(await worker.stop('SIGINT')).toBe(0);
    } finally {
      await rec.close();
      redis.disconnect();
      await bus.close();
    }
  }, 120_000);
});
