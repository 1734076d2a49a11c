/**
 * The headless studio as a user runs it: `fav serve` from the command line, the real bus (embedded,
 * or Debian's redis-server with --redis), all eight services as processes, the gateway over HTTP.
 */
import { mkdtempSync, rmSync, existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_NAMES } from '../../../src/shared/bus.js';
import { alive, startFav, type LongRunning } from '../../helpers/fav-cli.js';
import { freePort, startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies are checked field by field
type Json = any;

async function waitHealthy(base: string, timeoutMs = 60_000): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  let last: Json;
  while (Date.now() < deadline) {
    last = await fetch(`${base}/health`).then((r) => r.json() as Json, () => undefined);
    if (last?.status === 'ok') return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not healthy in time: ${JSON.stringify(last)}`);
}

function workerPids(services: Json): number[] {
  return services.services.flatMap((s: Json) => s.instances.map((i: Json) => i.pid)).filter((p: unknown) => typeof p === 'number');
}

async function allGone(pids: number[], timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = pids.filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = pids.filter(alive);
  }
  return left;
}

const modes = [
  { name: 'embedded bus', external: false },
  { name: 'external redis-server', external: true },
];

describe.each(modes)('fav serve with the $name', ({ external }) => {
  let dataDir: string;
  let serve: LongRunning;
  let redis: RedisServerHandle | undefined;
  let base: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fav-serve-'));
    const port = await freePort();
    const args = ['serve', '--port', String(port), '--data', dataDir];
    if (external) {
      redis = await startRedisServer({ password: 'ext-pass' });
      args.push('--redis', redis.url);
    }
    serve = startFav(args);
    const m = await serve.waitFor(/studio:\s+(http:\/\/127\.0\.0\.1:\d+)\/#token=(\S+)/, 90_000);
    base = m[1];
  }, 120_000);

  afterAll(async () => {
    await serve?.stop('SIGKILL');
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers /health with every service ready', async () => {
    const health = await waitHealthy(base);
    expect(health.bus.kind).toBe(external ? 'external' : 'embedded');
    expect(health.bus.status).toBe('ok');
    expect(Object.keys(health.services).sort()).toEqual([...SERVICE_NAMES].sort());
    for (const name of SERVICE_NAMES) expect(health.services[name], name).toBe('ready');
    // The bus password never leaves the core.
    expect(JSON.stringify(health)).not.toContain('ext-pass');
    expect(serve.output()).not.toContain('ext-pass');
  }, 90_000);

  it('lists the services with live worker processes and writes their logs', async () => {
    const services = await fetch(`${base}/api/services`).then((r) => r.json() as Json);
    const pids = workerPids(services);
    expect(pids.length).toBe(SERVICE_NAMES.length);
    for (const pid of pids) expect(alive(pid)).toBe(true);
    expect(existsSync(path.join(dataDir, 'logs'))).toBe(true);
    expect(readdirSync(path.join(dataDir, 'logs')).some((f) => f.startsWith('asr'))).toBe(true);
  });

  it('stops everything on SIGINT, leaving no worker behind', async () => {
    const pids = workerPids(await fetch(`${base}/api/services`).then((r) => r.json() as Json));
    const code = await serve.stop('SIGINT');
    expect(code).toBe(0);
    expect(serve.output()).toMatch(/stopped/);
    expect(await allGone(pids)).toEqual([]);
    if (!external) expect(existsSync(path.join(dataDir, 'bus.snapshot'))).toBe(true);
  }, 60_000);
});
