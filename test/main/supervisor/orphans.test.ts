/**
 * No orphan workers: the supervisor runs in a child process; whether it is SIGKILLed (workers
 * notice the IPC disconnect and quit by themselves) or gets SIGTERM (it stops them all, then
 * ends by the same signal), no worker process remains a few seconds later.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, ROOT, isAlive, startBackend, tempDataDir, waitFor, type Backend } from './helpers.js';

async function startSupervisorProcess(url: string, services = 'asr,tts,chat-ai,dialog-engine'): Promise<{ child: ChildProcess; pids: number[] }> {
  const child = fork(join(ROOT, 'test/main/supervisor/fixtures/run-supervisor.ts'), [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, FAV_REDIS_URL: url, FAV_DATA_DIR: tempDataDir(), FIXTURE_SERVICES: services },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const pids = await new Promise<number[]>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /READY (.*)\n/.exec(out);
      if (m) resolve((JSON.parse(m[1]!) as { pids: number[] }).pids);
    });
    child.once('exit', (code) => reject(new Error(`supervisor exited early (${code}): ${err}`)));
  });
  return { child, pids };
}

describe.each(BACKENDS)('no orphan processes (%s)', (kind) => {
  let bus: Backend;
  const spawned: number[] = [];
  beforeAll(async () => {
    bus = await startBackend(kind);
  });
  afterAll(async () => {
    // Safety net: never leave workers behind, even if an assertion failed.
    for (const pid of spawned) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await bus?.stop();
  });

  it('workers exit by themselves when the supervisor process is SIGKILLed', async () => {
    const { child, pids } = await startSupervisorProcess(bus.url);
    spawned.push(...pids);
    expect(pids).toHaveLength(4);
    for (const pid of pids) expect(isAlive(pid)).toBe(true);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    await waitFor(() => pids.every((p) => !isAlive(p)), 'all workers gone', 5000);
  }, 120_000);

  it('a SIGTERM to the supervisor stops every worker, then the supervisor ends by that signal', async () => {
    const { child, pids } = await startSupervisorProcess(bus.url);
    spawned.push(...pids);
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    child.kill('SIGTERM');
    const res = await exited;
    expect(res.signal).toBe('SIGTERM');
    // stop() waits for every worker's exit before the signal is re-raised.
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
  }, 120_000);
});

describe('no orphan processes when the bus dies with the supervisor', () => {
  it('channel, queue and stream workers all exit although the bus is gone', async () => {
    const { startRedisServer } = await import('../../helpers/redis-server.js');
    const srv = await startRedisServer({ password: 'gone-too' });
    let pids: number[] = [];
    try {
      const started = await startSupervisorProcess(srv.url, 'input-handler,asr,long-term-memory,output-handler');
      pids = started.pids;
      const exited = new Promise((r) => started.child.once('exit', r));
      // The bus goes first (as when the app crashes with its embedded bus), then the supervisor.
      await srv.stop();
      started.child.kill('SIGKILL');
      await exited;
      await waitFor(() => pids.every((p) => !isAlive(p)), 'all workers gone', 10_000);
    } finally {
      for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      await srv.stop();
    }
  }, 120_000);
});
