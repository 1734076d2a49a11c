/**
 * The service manifest: what the supervisor runs, how many, and how it judges and restarts them.
 * One entry per service of SERVICE_NAMES, in start order; stop order is the reverse.
 */
import { SERVICE_NAMES, SERVICE_SCALE, isServiceName, type ServiceName } from '../../shared/bus.js';
import { SERVICE_INPUTS, type ServiceInput } from '../../shared/contract.js';

export interface RestartPolicy {
  /** First restart delay; doubles per crash inside the window. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** This many crashes within crashLoopWindowMs => the service is marked failed and left down. */
  crashLoopMax: number;
  crashLoopWindowMs: number;
}

export interface ServiceSpec {
  name: ServiceName;
  /** What it consumes (queue / channel / pattern / stream), from the contract table's consumers. */
  inputs: readonly ServiceInput[];
  /** Processes of this service: several share a `shared` service's queue; a `singleton` runs one (SERVICE_SCALE). */
  instances: number;
  /** From spawn to the 'ready' status event; past it the process is killed and counted as a crash. */
  readyTimeoutMs: number;
  heartbeatMs: number;
  /** Heartbeats missed in a row before the instance is unhealthy; one more and it is restarted. */
  missedHeartbeats: number;
  restart: RestartPolicy;
  /** Graceful stop (stop message / SIGTERM, drain) before SIGKILL. */
  stopTimeoutMs: number;
  /** Extra environment of the worker (test knobs, engine settings). */
  env: Record<string, string>;
  /** Extra argv after the service name. */
  args: string[];
}

export type Manifest = ServiceSpec[];

export type ServiceTuning = Partial<Omit<ServiceSpec, 'name' | 'inputs' | 'restart'>> & { restart?: Partial<RestartPolicy> };

export interface ManifestOptions {
  /** Applied to every service. */
  all?: ServiceTuning;
  /** Per service, over `all`. */
  services?: Partial<Record<ServiceName, ServiceTuning>>;
  /** Run only these services (manifest order is kept). */
  only?: ServiceName[];
}

export const DEFAULT_RESTART: RestartPolicy = {
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  crashLoopMax: 5,
  crashLoopWindowMs: 60_000,
};

const DEFAULTS: Omit<ServiceSpec, 'name' | 'inputs'> = {
  instances: 1,
  readyTimeoutMs: 20_000,
  heartbeatMs: 2_000,
  missedHeartbeats: 3,
  restart: DEFAULT_RESTART,
  stopTimeoutMs: 5_000,
  env: {},
  args: [],
};

function apply(base: Omit<ServiceSpec, 'name' | 'inputs'>, t: ServiceTuning | undefined): Omit<ServiceSpec, 'name' | 'inputs'> {
  if (!t) return base;
  return {
    ...base,
    ...t,
    restart: { ...base.restart, ...t.restart },
    env: { ...base.env, ...t.env },
    args: t.args ?? base.args,
  };
}

export function defaultManifest(opts: ManifestOptions = {}): Manifest {
  for (const n of [...(opts.only ?? []), ...Object.keys(opts.services ?? {})]) {
    if (!isServiceName(n)) throw new Error(`unknown service "${n}" in manifest options; expected one of: ${SERVICE_NAMES.join(', ')}`);
  }
  const names = SERVICE_NAMES.filter((n) => !opts.only || opts.only.includes(n));
  const manifest = names.map((name) => ({ name, inputs: SERVICE_INPUTS[name], ...apply(apply(DEFAULTS, opts.all), opts.services?.[name]) }));
  validateManifest(manifest);
  return manifest;
}

/** Throws a clear error for a manifest the supervisor cannot run. */
export function validateManifest(m: Manifest): void {
  const seen = new Set<string>();
  for (const s of m) {
    const where = `manifest entry "${s.name}"`;
    if (!isServiceName(s.name)) throw new Error(`${where}: unknown service; expected one of: ${SERVICE_NAMES.join(', ')}`);
    if (seen.has(s.name)) throw new Error(`${where}: listed twice`);
    seen.add(s.name);
    const positive: Array<[string, number]> = [
      ['instances', s.instances],
      ['readyTimeoutMs', s.readyTimeoutMs],
      ['heartbeatMs', s.heartbeatMs],
      ['missedHeartbeats', s.missedHeartbeats],
      ['stopTimeoutMs', s.stopTimeoutMs],
      ['restart.backoffBaseMs', s.restart.backoffBaseMs],
      ['restart.backoffMaxMs', s.restart.backoffMaxMs],
      ['restart.crashLoopMax', s.restart.crashLoopMax],
      ['restart.crashLoopWindowMs', s.restart.crashLoopWindowMs],
    ];
    for (const [k, v] of positive) {
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${where}: ${k} must be a positive number, got ${v}`);
    }
    if (!Number.isInteger(s.instances)) throw new Error(`${where}: instances must be an integer`);
    if (s.instances > 1 && SERVICE_SCALE[s.name] === 'singleton') {
      const shared = SERVICE_NAMES.filter((n) => SERVICE_SCALE[n] === 'shared').join(', ');
      throw new Error(
        `${where}: instances is ${s.instances}, but ${s.name} is a singleton (it reads pub/sub or owns external state, so a second instance would act on every message twice); set instances to 1. Services that scale out: ${shared}`,
      );
    }
  }
}

/** Restart delay after the n-th crash (n >= 1) inside the window. */
export function backoffDelay(policy: RestartPolicy, n: number): number {
  return Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** Math.max(0, n - 1));
}
