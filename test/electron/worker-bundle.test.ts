/**
 * The worker entry as built for the app (out/main/worker.js plus its shared chunks) runs under
 * child_process.fork, the headless host, exactly as under Electron's utilityProcess: it connects
 * to a real redis-server, announces `ready` on the status channel, and stops cleanly on SIGTERM.
 * (The utilityProcess side needs the Electron binary; see launch.test.ts.)
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels, StatusEvent } from '../../src/shared/bus.js';
import type { HostedProcess } from '../../src/main/supervisor/process-host.js';
import { NodeProcessHost } from '../../src/main/supervisor/node-host.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { BUILT, ensureBuilt } from './built-app.js';

let redis: RedisServerHandle;
let sub: Redis;
const events: StatusEvent[] = [];
const running: HostedProcess[] = [];

function exited(proc: HostedProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => proc.onExit((code, signal) => resolve({ code, signal })));
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  await ensureBuilt();
  redis = await startRedisServer();
  sub = new Redis(redis.url);
  sub.on('message', (_channel: string, raw: string) => {
    const parsed = StatusEvent.safeParse(JSON.parse(raw));
    if (parsed.success) events.push(parsed.data);
  });
  await sub.subscribe(Channels.status);
}, 300_000);

afterAll(async () => {
  for (const proc of running) proc.kill('SIGKILL');
  sub?.disconnect();
  await redis?.stop();
});

describe('the built worker bundle under child_process.fork', () => {
  it('starts a service against a real Redis, reports ready, and stops on SIGTERM', async () => {
    const host = new NodeProcessHost({ entry: BUILT.worker });
    const instanceId = `memory@test#${process.pid}`;
    const proc = host.spawn({ service: 'memory', instanceId, args: [], env: { FAV_REDIS_URL: redis.url } });
    running.push(proc);
    let stderr = '';
    proc.onStderr((chunk) => (stderr += chunk));
    const exit = exited(proc);

    const ready = await Promise.race([
      waitFor(() => events.find((e) => e.instance === instanceId && e.state === 'ready'), 20_000, 'ready'),
      exit.then(({ code }) => {
        throw new Error(`worker exited early with ${code}:\n${stderr}`);
      }),
    ]);
    expect(ready).toMatchObject({ service: 'memory', pid: proc.pid });

    proc.kill('SIGTERM');
    await expect(exit).resolves.toEqual({ code: 0, signal: null });
  });

  it('rejects an unknown service with a usage error and exit code 2', async () => {
    const host = new NodeProcessHost({ entry: BUILT.worker });
    const proc = host.spawn({ service: 'no-such-service', instanceId: 'x#0', args: [], env: { FAV_REDIS_URL: redis.url } });
    running.push(proc);
    let stderr = '';
    proc.onStderr((chunk) => (stderr += chunk));
    await expect(exited(proc)).resolves.toEqual({ code: 2, signal: null });
    expect(stderr).toMatch(/unknown service "no-such-service"/);
  });
});
