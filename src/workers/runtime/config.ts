/**
 * Worker configuration from argv and environment. Argv wins over env:
 *   main.ts NAME [--redis URL] [--instance ID]
 * Environment (set by the supervisor, or by the user for `fav worker`):
 *   FAV_REDIS_URL            bus URL (default redis://127.0.0.1:6379)
 *   FAV_INSTANCE_ID          instance id (default NAME@hostname#pid)
 *   FAV_HEARTBEAT_MS         heartbeat period (default 2000)
 *   FAV_HEARTBEAT_TTL_MS     PX of the heartbeat key (default 3 x period)
 *   FAV_STOP_DRAIN_MS        how long a graceful stop waits for the job in flight (default 4000)
 *   FAV_BLOCK_SECONDS        block timeout of BLMOVE / XREADGROUP polls (default 0.5)
 *   FAV_STREAM_CLAIM_IDLE_MS stream entries idle this long in a dead consumer are claimed (default 30000)
 *   FAV_LOG_LEVEL            pino level (default info)
 * Test-only knobs (no effect unless set; used by test/main/supervisor to provoke failures):
 *   FAV_TEST_TASK_DELAY_MS   each queue/stream job waits this long (abortably) before its handler,
 *                            so a test can kill the worker mid-task
 *   FAV_TEST_CRASH_AT_START  =1: write a line to stderr and exit 3 before connecting (crash loop)
 *   FAV_TEST_IGNORE_STOP     =1: ignore SIGTERM / SIGINT / stop messages (stop-timeout test)
 */
import { hostname } from 'node:os';

export interface WorkerConfig {
  service: string;
  redisUrl: string;
  instanceId: string;
  heartbeatMs: number;
  heartbeatTtlMs: number;
  drainMs: number;
  blockSeconds: number;
  claimIdleMs: number;
  logLevel: string;
  test: { taskDelayMs: number; crashAtStart: boolean; ignoreStop: boolean };
}

export class ConfigError extends Error {}

/** A number from the environment, `def` when unset; anything else than a number >= min is a ConfigError. */
export function envNumber(env: NodeJS.ProcessEnv, key: string, def: number, min = 0): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min) throw new ConfigError(`${key} must be a number >= ${min}, got "${raw}"`);
  return v;
}

/** Parses `NAME [--redis URL] [--instance ID]` (argv without node and script). */
export function parseWorkerArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  let service: string | undefined;
  let redis: string | undefined;
  let instance: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new ConfigError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--redis') redis = value();
    else if (flag === '--instance') instance = value();
    else if (a.startsWith('-')) throw new ConfigError(`unknown option ${a}`);
    else if (service === undefined) service = a;
    else throw new ConfigError(`unexpected argument ${a}`);
  }
  if (!service) throw new ConfigError('missing service name');
  const redisUrl = redis ?? env.FAV_REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (!/^rediss?:\/\//.test(redisUrl)) throw new ConfigError(`bus URL must start with redis:// or rediss://, got "${maskUrl(redisUrl)}"`);
  const heartbeatMs = envNumber(env, 'FAV_HEARTBEAT_MS', 2000, 10);
  return {
    service,
    redisUrl,
    instanceId: instance ?? env.FAV_INSTANCE_ID ?? `${service}@${hostname()}#${process.pid}`,
    heartbeatMs,
    heartbeatTtlMs: envNumber(env, 'FAV_HEARTBEAT_TTL_MS', heartbeatMs * 3, 10),
    drainMs: envNumber(env, 'FAV_STOP_DRAIN_MS', 4000),
    blockSeconds: envNumber(env, 'FAV_BLOCK_SECONDS', 0.5, 0.01),
    claimIdleMs: envNumber(env, 'FAV_STREAM_CLAIM_IDLE_MS', 30_000),
    logLevel: env.FAV_LOG_LEVEL ?? 'info',
    test: {
      taskDelayMs: envNumber(env, 'FAV_TEST_TASK_DELAY_MS', 0),
      crashAtStart: env.FAV_TEST_CRASH_AT_START === '1',
      ignoreStop: env.FAV_TEST_IGNORE_STOP === '1',
    },
  };
}

/** The URL with its password hidden, for logs and errors. */
export function maskUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^:/@]*):([^@/]+)@/i, '$1$2:***@');
}
