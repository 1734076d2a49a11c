/**
 * Shared pieces of the supervisor integration tests: the bus backends every test runs against
 * (a real redis-server, and the embedded bus once src/main/bus/index.ts exists), polling, a
 * channel recorder, process liveness.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { startRedisServer } from '../../helpers/redis-server.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const EMBEDDED_ENTRY = join(ROOT, 'src', 'main', 'bus', 'index.ts');

/** Backends to run against: redis-server always, the embedded bus when it exists in the tree. */
export const BACKENDS: Array<'redis-server' | 'embedded'> = existsSync(EMBEDDED_ENTRY) ? ['redis-server', 'embedded'] : ['redis-server'];

export interface Backend {
  name: string;
  url: string;
  password: string;
  stop(): Promise<void>;
}

interface EmbeddedBus {
  url(): string;
  close(): Promise<void>;
}

export async function startBackend(kind: 'redis-server' | 'embedded'): Promise<Backend> {
  const password = `pw-${randomBytes(8).toString('hex')}`;
  if (kind === 'redis-server') {
    const srv = await startRedisServer({ password });
    return { name: kind, url: srv.url, password, stop: () => srv.stop() };
  }
  // Loaded by path so this file compiles before the bus lands (agreed API: startBus({port, password})).
  const mod = (await import(pathToFileURL(EMBEDDED_ENTRY).href)) as {
    startBus(o: { port: number; password: string }): Promise<EmbeddedBus> | EmbeddedBus;
  };
  const bus = await mod.startBus({ port: 0, password });
  let url = bus.url();
  if (!url.includes('@')) url = url.replace('://', `://:${encodeURIComponent(password)}@`);
  return { name: kind, url, password, stop: () => bus.close() };
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'fav-sup-'));
}

export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 30_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not reaped yet) still answers kill 0: look at /proc.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** The shared bus recorder (test/helpers/bus-recorder.ts) under the name these suites use. */
export { BusRecorder as Recorder } from '../../helpers/bus-recorder.js';

export async function client(url: string): Promise<Redis> {
  const r = new Redis(url, { lazyConnect: true });
  await r.connect();
  return r;
}

/** A redis:// URL on a loopback port where nothing listens. */
export async function freePortUrl(password: string): Promise<string> {
  const { freePort } = await import('../../helpers/redis-server.js');
  return `redis://:${password}@127.0.0.1:${await freePort()}`;
}
