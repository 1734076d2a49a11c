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
  let token: string;

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
    token = m[2];
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

  it('saves a setting from the settings API: live at once, the --port flag shown locked, the named service restarted', async () => {
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const view = await fetch(`${base}/api/settings`, { headers: auth }).then((r) => r.json() as Json);
    expect(view.locked).toEqual(external ? { port: 'cli', redisUrl: 'cli' } : { port: 'cli' });
    const saved = await fetch(`${base}/api/settings`, { method: 'PUT', headers: auth, body: JSON.stringify({ persona: { name: 'Mio' } }) }).then((r) => r.json() as Json);
    expect(saved.restart).toEqual({ services: ['chat-ai', 'memory'], app: [] });
    const config = await fetch(`${base}/api/config`, { headers: auth }).then((r) => r.json() as Json);
    expect(config.config.persona.name).toBe('Mio');
    const pidOf = async () => workerPids({ services: (await fetch(`${base}/api/services`).then((r) => r.json() as Json)).services.filter((s: Json) => s.name === 'chat-ai') })[0];
    const before = await pidOf();
    const r = await fetch(`${base}/api/settings/restart`, { method: 'POST', headers: auth, body: JSON.stringify({ services: ['chat-ai'] }) });
    expect(r.status).toBe(200);
    expect(await pidOf()).not.toBe(before);
    await waitHealthy(base);
  }, 60_000);

  it('stops everything on SIGINT, leaving no worker behind', async () => {
    const pids = workerPids(await fetch(`${base}/api/services`).then((r) => r.json() as Json));
    const code = await serve.stop('SIGINT');
    expect(code).toBe(0);
    expect(serve.output()).toMatch(/stopped/);
    expect(await allGone(pids)).toEqual([]);
    if (!external) expect(existsSync(path.join(dataDir, 'bus.snapshot'))).toBe(true);
  }, 60_000);
});
