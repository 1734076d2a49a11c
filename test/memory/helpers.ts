/**
 * Memory tests: run a real worker process (src/workers/main.ts under tsx, as the supervisor does in
 * development) against a bus, and wait for its 'ready' status.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { CONFIG_KEY, Channels, type StatusEvent } from '../../src/shared/bus.js';
import { ConfigSchema, type ConfigInput } from '../../src/shared/config.js';
import { ROOT } from '../supervisor/helpers.js';

export interface WorkerHandle {
  child: ChildProcess;
  instanceId: string;
  output(): string;
  stop(): Promise<number | null>;
}

/** Publishes the app settings the workers read at start. */
export async function publishSettings(redis: Redis, input: ConfigInput): Promise<void> {
  await redis.set(CONFIG_KEY, JSON.stringify(ConfigSchema.parse(input)));
}

export async function startWorker(url: string, service: 'memory' | 'long-term-memory', instanceId: string, env: NodeJS.ProcessEnv = {}): Promise<WorkerHandle> {
  const sub = new Redis(url, { lazyConnect: true });
  await sub.connect();
  await sub.subscribe(Channels.status);
  let out = '';
  const child = fork(path.join(ROOT, 'src', 'workers', 'main.ts'), [service, '--redis', url, '--instance', instanceId], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, FAV_HEARTBEAT_MS: '500', FAV_BLOCK_SECONDS: '0.2', FAV_LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${service} not ready in time:\n${out}`)), 30_000);
      sub.on('message', (_c: string, m: string) => {
        const ev = JSON.parse(m) as StatusEvent;
        if (ev.instance !== instanceId) return;
        if (ev.state === 'ready') {
          clearTimeout(timer);
          resolve();
        } else if (ev.state === 'error') {
          clearTimeout(timer);
          reject(new Error(`${service} failed: ${ev.detail}\n${out}`));
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${service} exited with ${code} before ready:\n${out}`));
      });
    });
  } finally {
    await sub.quit().catch(() => undefined);
  }
  return {
    child,
    instanceId,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.send({ type: 'stop' });
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
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
