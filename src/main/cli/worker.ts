/**
 * `fav worker NAME --redis URL`: one service joining an existing bus. The worker runs in its own
 * process (the same entry the supervisor starts), so this command forwards signals and output, and
 * decides what follows the worker's exit:
 * - The worker belongs to the run of the studio it joined (the bus's `fav:run`). When the studio
 *   restarts, the worker keeps reconnecting as before but never carries on inside the new run with
 *   the old one's settings and registrations: it exits (WorkerExitCode.runChanged) and this command
 *   starts a fresh worker, which joins the new run with its settings. That is how a remote worker
 *   follows a restarted studio; nothing is silent (one line says so).
 * - A singleton already running on the bus refuses the worker (WorkerExitCode.singletonTaken, its
 *   message names the running instance): this command exits with that code.
 * Any other exit ends the command with the worker's code.
 */
import os from 'node:os';
import { WorkerExitCode } from '../../shared/bus.js';
import { NodeProcessHost } from '../supervisor/node-host.js';
import type { HostedProcess } from '../supervisor/process-host.js';

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
  let child: HostedProcess | undefined;
  let signalled = false;
  const forward = (signal: NodeJS.Signals) => {
    signalled = true;
    child?.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    for (;;) {
      // FAV_RUN_ID is the core's to give; a remote worker takes the run it finds on the bus.
      const proc = host.spawn({ service: name, instanceId, args: [], env: { FAV_REDIS_URL: redisUrl, FAV_RUN_ID: '' } });
      child = proc;
      proc.onStdout((chunk) => process.stdout.write(chunk));
      proc.onStderr((chunk) => process.stderr.write(chunk));
      const code = await new Promise<number>((resolve) => proc.onExit((c, s) => resolve(c ?? (s ? 1 : 0))));
      if (code === WorkerExitCode.runChanged && !signalled) {
        process.stderr.write(`fav worker: the studio on this bus has restarted; starting ${name} again to join its new run\n`);
        continue;
      }
      process.exitCode = code;
      return;
    }
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}
