/**
 * Where `npm run build` (electron-vite) puts the app, and a guard that builds it when it is missing.
 * `npm install` builds through the `prepare` script; tests build only when an output is absent, so
 * parallel test files never see out/ emptied and rewritten under them.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
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

export async function ensureBuilt(): Promise<void> {
  if (Object.values(BUILT).every((file) => existsSync(file))) return;
  try {
    await promisify(execFile)('npx', ['electron-vite', 'build'], { cwd: repoRoot, timeout: 240_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`electron-vite build failed:\n${e.stdout ?? ''}\n${e.stderr ?? e.message}`, { cause: err });
  }
}
