/**
 * The servers a differential conformance run talks to. The FIRST target is always the reference
 * (a real redis-server); every other target must answer exactly like it.
 *
 * Which targets run is configurable with `BUS_TARGETS` (comma-separated, default `redis,embedded`):
 *  - `redis`    a real Debian redis-server (test/helpers/redis-server.ts), the reference;
 *  - `embedded` the project's own bus (`startBus` from src/main/bus/index.ts), the system under test;
 *  - `redis2`   a second real redis-server. Only for developing the harness itself: two real servers
 *               must always agree, so a redis,redis2 run proves the per-case normalisation is enough.
 * The embedded bus is never skipped silently: if it is requested and its module is missing, the
 * run fails with a message saying so.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { startBus } from '../../../../src/main/bus/index.js';
import { startRedisServer } from '../../../helpers/redis-server.js';

export type TargetName = 'redis' | 'embedded' | 'redis2';

export interface Target {
  name: TargetName;
  port: number;
  close(): Promise<void>;
}

export interface TargetOptions {
  password?: string;
}

/** The embedded bus module (its agreed public API; type-checked against the real module). */
interface BusModule {
  startBus: typeof startBus;
}

export const EMBEDDED_ENTRY = fileURLToPath(new URL('../../../../src/main/bus/index.ts', import.meta.url));

export function targetNames(): TargetName[] {
  const raw = (process.env.BUS_TARGETS ?? 'redis,embedded').split(',').map((s) => s.trim()).filter(Boolean);
  const known: TargetName[] = ['redis', 'embedded', 'redis2'];
  for (const n of raw) {
    if (!known.includes(n as TargetName)) throw new Error(`BUS_TARGETS: unknown target '${n}' (known: ${known.join(', ')})`);
  }
  if (raw[0] !== 'redis') throw new Error(`BUS_TARGETS must start with the reference 'redis', got '${raw.join(',')}'`);
  if (raw.length < 2) throw new Error('BUS_TARGETS needs the reference and at least one target to compare with it');
  return raw as TargetName[];
}

export async function loadBusModule(): Promise<BusModule> {
  if (!existsSync(EMBEDDED_ENTRY)) {
    throw new Error(
      `the embedded bus (${EMBEDDED_ENTRY}) does not exist, but it is a required conformance target. ` +
        'Only while developing the harness: BUS_TARGETS=redis,redis2.',
    );
  }
  // A computed specifier: the harness must load (and say the above) even where the module is absent.
  return (await import(pathToFileURL(EMBEDDED_ENTRY).href)) as BusModule;
}

export async function startTarget(name: TargetName, opts: TargetOptions = {}): Promise<Target> {
  if (name === 'embedded') {
    const mod = await loadBusModule();
    const bus = await mod.startBus({ port: 0, host: '127.0.0.1', password: opts.password });
    return { name, port: bus.port, close: () => bus.close() };
  }
  // redis-server's defaults (16 databases, like the bus).
  const srv = await startRedisServer({ password: opts.password });
  return { name, port: srv.port, close: () => srv.stop() };
}

/** Starts every configured target (reference first). On a failure, stops the ones already started. */
export async function startTargets(opts: TargetOptions = {}): Promise<Target[]> {
  const started: Target[] = [];
  try {
    for (const name of targetNames()) started.push(await startTarget(name, opts));
    return started;
  } catch (err) {
    await stopTargets(started);
    throw err;
  }
}

export async function stopTargets(targets: Target[]): Promise<void> {
  await Promise.allSettled(targets.map((t) => t.close()));
}
