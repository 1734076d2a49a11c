/**
 * Which file a Node-hosted worker runs. The bundle electron-vite builds from src/workers/main.ts
 * (out/main/worker.js; `npm install` and `npm test` build it) starts in about half the time of the
 * TypeScript entry under tsx (~0.3 s against ~0.65 s a process here, eight processes at start-up).
 * It is used only while it is at least as new as every source it is built from, so an edit in
 * src/workers or src/shared is never shadowed by a stale bundle: then the TS entry runs through tsx.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const BUILT_WORKER = join('out', 'main', 'worker.js');
export const SOURCE_WORKER = join('src', 'workers', 'main.ts');
/** Source folders the worker bundle is built from. */
const SOURCE_DIRS = [join('src', 'workers'), join('src', 'shared')];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.isFile()) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** The built bundle when it is fresh, else the TS source entry. Paths are absolute. */
export function resolveWorkerEntry(root: string): string {
  const built = join(root, BUILT_WORKER);
  const source = join(root, SOURCE_WORKER);
  if (!existsSync(built)) return source;
  if (!existsSync(source)) return built; // a packaged app ships the bundle alone
  const builtAt = statSync(built).mtimeMs;
  const stale = SOURCE_DIRS.some((d) => existsSync(join(root, d)) && newestMtime(join(root, d)) > builtAt);
  return stale ? source : built;
}
