/**
 * The native addons the services load (better-sqlite3 for memory, onnxruntime-node for the VAD and
 * on-device ASR) are built by `npm install` for the system's Node. Electron's utility processes run
 * Electron's own Node, whose ABI differs unless the addons were rebuilt for it (electron-builder does
 * at packaging; `npx electron-builder install-app-deps` does in a checkout). So the desktop app checks
 * once at start whether the addons load in its own runtime, and when they do not, runs the services
 * under a system Node that loads them, instead of crashing three services on their first import.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** Why the addons do not load in this process's runtime, or undefined when they do. */
export function nativeAddonProblem(requireFrom: string): string | undefined {
  try {
    const Database = createRequire(requireFrom)('better-sqlite3') as new (file: string) => { close(): void };
    new Database(':memory:').close();
    return undefined;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

/** `FAV_NODE`, else the first `node` on PATH, that loads the addons from `cwd`; undefined if none does. */
export function findSystemNode(cwd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = env.FAV_NODE ? [env.FAV_NODE] : (env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, process.platform === 'win32' ? 'node.exe' : 'node'));
  for (const bin of candidates) {
    try {
      accessSync(bin, constants.X_OK);
      execFileSync(bin, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], { cwd, stdio: 'ignore', timeout: 10_000, env: { ...env, ELECTRON_RUN_AS_NODE: undefined } });
      return bin;
    } catch {
      // Not there, not runnable, or its ABI does not match either: try the next one.
    }
  }
  return undefined;
}

export type WorkerRuntime =
  | { kind: 'utility' }
  | { kind: 'node'; execPath: string; reason: string }
  | { kind: 'utility'; warning: string };

/** Which runtime the desktop app's services run in, from what the two probes found. */
export function chooseWorkerRuntime(addonProblem: string | undefined, systemNode: () => string | undefined): WorkerRuntime {
  if (addonProblem === undefined) return { kind: 'utility' };
  const node = systemNode();
  if (node) return { kind: 'node', execPath: node, reason: `the native addons are built for Node, not this Electron (${addonProblem}); the services run under ${node}` };
  return {
    kind: 'utility',
    warning:
      `the native addons are not built for this Electron (${addonProblem}) and no system Node that loads them was found: ` +
      'memory, long-term-memory and asr will fail. Run `npx electron-builder install-app-deps` in the app folder, or install Node 20+ (or set FAV_NODE to one)',
  };
}
