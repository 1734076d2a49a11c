/**
 * Memory tests: a real worker process (test/helpers/worker.ts) with the memory services' test
 * settings, and their log lines.
 */
import type { Redis } from 'ioredis';
import { CONFIG_KEY } from '../../../src/shared/bus.js';
import { ConfigSchema, type ConfigInput } from '../../../src/shared/config.js';
import { Worker } from '../../helpers/worker.js';

export type WorkerHandle = Worker;

/** Publishes the app settings the workers read at start. */
export async function publishSettings(redis: Redis, input: ConfigInput): Promise<void> {
  await redis.set(CONFIG_KEY, JSON.stringify(ConfigSchema.parse(input)));
}

export function startWorker(url: string, service: 'memory' | 'long-term-memory', instanceId: string, env: Record<string, string> = {}): Promise<WorkerHandle> {
  return Worker.start(service, url, { instanceId, env: { FAV_HEARTBEAT_MS: '500', FAV_BLOCK_SECONDS: '0.2', FAV_LOG_LEVEL: 'debug', ...env }, readyTimeoutMs: 30_000 });
}

/** The pino lines of a worker's output, parsed. */
export function logLines(out: string): Array<Record<string, unknown>> {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
}
