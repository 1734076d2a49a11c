/**
 * `fav worker NAME --redis URL`: one service joining an existing bus. The worker runs in its own
 * process (the same entry the supervisor starts), so this command only forwards signals and output.
 */
import os from 'node:os';
import { NodeProcessHost } from '../supervisor/node-host.js';

export interface WorkerCliOptions {
  redis?: string;
  instance?: string;
}

export async function runWorker(name: string, opts: WorkerCliOptions): Promise<void> {
  const redisUrl = opts.redis ?? process.env.FAV_REDIS_URL;
  if (!redisUrl) {
    process.stderr.write(`fav worker: no bus given: pass --redis redis://[:password@]host:port or set FAV_REDIS_URL\n`);
    process.exitCode = 2;
    return;
  }
  const instanceId = opts.instance ?? `${name}@${os.hostname()}#${process.pid}`;
  const host = new NodeProcessHost();
  const child = host.spawn({ service: name, instanceId, args: [], env: { FAV_REDIS_URL: redisUrl } });
  child.onStdout((chunk) => process.stdout.write(chunk));
  child.onStderr((chunk) => process.stderr.write(chunk));
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => child.onExit((c, s) => resolve(c ?? (s ? 1 : 0))));
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  process.exitCode = code;
}
