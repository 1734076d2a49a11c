/**
 * Where `npm run build` (electron-vite) puts the app, and a guard that builds it when it is missing.
 * `npm install` builds through the `prepare` script; tests build only when an output is absent, so
 * parallel test files never see out/ emptied and rewritten under them.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const outDir = path.join(repoRoot, 'out');
export const rendererDir = path.join(outDir, 'renderer');

/** The entry points the app and its packaging rely on. */
export const BUILT = {
  main: path.join(outDir, 'main/index.js'),
  worker: path.join(outDir, 'main/worker.js'),
  preload: path.join(outDir, 'preload/index.cjs'),
  renderer: path.join(rendererDir, 'index.html'),
} as const;

const isBuilt = () => Object.values(BUILT).every((file) => existsSync(file));
/** Test files run in parallel processes: one builds, the others wait for it (mkdir is atomic). */
const LOCK = path.join(outDir, '.test-build-lock');
const STALE_LOCK_MS = 300_000;

export async function ensureBuilt(): Promise<void> {
  if (isBuilt()) return;
  mkdirSync(outDir, { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      const lock = statSync(LOCK, { throwIfNoEntry: false });
      if (lock && Date.now() - lock.mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 250));
      if (isBuilt() && !existsSync(LOCK)) return;
    }
  }
  try {
    if (isBuilt()) return;
    // electron-vite empties out/main, out/preload and out/renderer, not out/ itself: the lock survives.
    await promisify(execFile)('npx', ['electron-vite', 'build'], { cwd: repoRoot, timeout: 240_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`electron-vite build failed:\n${e.stdout ?? ''}\n${e.stderr ?? e.message}`, { cause: err });
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
