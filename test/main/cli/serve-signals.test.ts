/**
 * `fav serve` and the signals a user sends it, with the real processes: Ctrl+C in a terminal
 * reaches the whole process group (the core and its eight workers at once) and is a shutdown,
 * not eight crashes; a core killed -9 leaves no worker behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBus } from '../../../src/main/bus/index.js';
import { SERVICE_NAMES } from '../../../src/shared/bus.js';
import { FAV, ROOT } from '../../helpers/fav-cli.js';
import { freePort } from '../../helpers/redis-server.js';
import { client, isAlive, waitFor } from '../supervisor/helpers.js';

interface GroupServe {
  child: ChildProcess;
  dataDir: string;
  base: string;
  /** Worker pids from /api/services once every service is up. */
  pids: number[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

const started: GroupServe[] = [];

/** `fav serve` as the leader of its own process group, as a terminal starts it. */
async function serveInOwnGroup(extraEnv: NodeJS.ProcessEnv = {}): Promise<GroupServe> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fav-signals-'));
  const child = spawn(process.execPath, [FAV, 'serve', '--port', String(await freePort()), '--data', dataDir], {
    cwd: ROOT,
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const s: GroupServe = { child, dataDir, base: '', pids: [], exited, output: () => out };
  started.push(s);
  const early = exited.then(({ code }) => {
    throw new Error(`fav serve exited (${code}) before it was running:\n${out}`);
  });
  const running = waitFor(() => /studio:\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1], 'fav serve running', 90_000).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}; output so far:\n${out}`);
  });
  const base = await Promise.race([running, early]);
  s.base = base;
  const services = (await (await fetch(`${base}/api/services`)).json()) as { services: Array<{ instances: Array<{ pid?: number }> }> };
  s.pids = services.services.flatMap((svc) => svc.instances.map((i) => i.pid)).filter((p): p is number => typeof p === 'number');
  return s;
}

/** The supervisor's own log records (instance "supervisor") from every log file of the run. */
function supervisorNotes(dataDir: string): string[] {
  const dir = path.join(dataDir, 'logs');
  const notes: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.log'))) {
    for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      if (!line) continue;
      const rec = JSON.parse(line) as { instance?: string; msg?: string };
      if (rec.instance === 'supervisor' && rec.msg) notes.push(rec.msg);
    }
  }
  return notes;
}

afterEach(() => {
  // Safety net only: a failed assertion must not leave a studio or its workers (its process group) running.
  for (const s of started.splice(0)) {
    try {
      process.kill(-s.child.pid!, 'SIGKILL');
    } catch {
      // the group is gone already
    }
    for (const pid of s.pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(s.dataDir, { recursive: true, force: true });
  }
});

describe('fav serve and signals', () => {
  it('Ctrl+C (SIGINT to the process group) stops every worker once, with no crash and no respawn, and exits 0', async () => {
    const serve = await serveInOwnGroup();
    expect(serve.pids).toHaveLength(SERVICE_NAMES.length);
    process.kill(-serve.child.pid!, 'SIGINT');
    const { code } = await serve.exited;
    expect(code, serve.output()).toBe(0);
    expect(serve.output()).toMatch(/\nstopped\n/);
    for (const pid of serve.pids) expect(isAlive(pid), `worker ${pid}`).toBe(false);

    const notes = supervisorNotes(serve.dataDir);
    expect(notes.filter((n) => /crash|restart|SIGKILL|failed|not ready/i.test(n))).toEqual([]);
    for (const name of SERVICE_NAMES) {
      const mine = notes.filter((n) => n.startsWith(`${name}@`));
      // Spawned once (no respawn), then stopped by its own graceful exit (code 0, not a kill).
      expect(mine.filter((n) => n.includes(': spawned pid ')), name).toHaveLength(1);
      expect(mine.filter((n) => n.endsWith(': stopped (exited with code 0)')), `${name}: ${mine.join(' | ')}`).toHaveLength(1);
    }
    expect(notes).toContain('all services stopped');
  }, 150_000);

  it('a core killed -9 leaves no worker behind, and none reaches the next run\'s bus at the same address', async () => {
    // A fixed bus port and password, so the next run listens exactly where the last one did.
    const busPort = await freePort();
    const password = 'fixed-bus-password';
    const serve = await serveInOwnGroup({ FAV_BUS_PORT: String(busPort), FAV_BUS_PASSWORD: password });
    expect(serve.pids).toHaveLength(SERVICE_NAMES.length);
    process.kill(serve.child.pid!, 'SIGKILL');
    await serve.exited;

    // The next run's bus, while the workers of the killed one may still be alive.
    const next = await startBus({ port: busPort, host: '127.0.0.1', password });
    try {
      await waitFor(() => serve.pids.every((pid) => !isAlive(pid)), 'every worker of the killed core to exit');
      // Every connection the new bus ever accepted: only the one asking.
      const probe = await client(`redis://:${password}@127.0.0.1:${busPort}`);
      const info = await probe.info('stats');
      probe.disconnect();
      expect(/total_connections_received:(\d+)/.exec(info)?.[1]).toBe('1');
    } finally {
      await next.close();
    }
  }, 150_000);
});
