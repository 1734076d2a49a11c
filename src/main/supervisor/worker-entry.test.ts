import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeProcessHost } from './node-host.js';
import { resolveWorkerEntry } from './worker-entry.js';

let root: string;
const file = (rel: string, mtimeSec: number) => {
  const p = path.join(root, rel);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, '// x\n');
  utimesSync(p, mtimeSec, mtimeSec);
  return p;
};

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'fav-entry-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('resolveWorkerEntry', () => {
  it('runs the TS source when nothing is built', () => {
    const src = file('src/workers/main.ts', 1000);
    expect(resolveWorkerEntry(root)).toBe(src);
  });

  it('runs the bundle while it is newer than every worker and shared source', () => {
    file('src/workers/main.ts', 1000);
    file('src/workers/asr/index.ts', 1100);
    file('src/shared/bus.ts', 1200);
    const built = file('out/main/worker.js', 2000);
    expect(resolveWorkerEntry(root)).toBe(built);
    const host = new NodeProcessHost({ cwd: root });
    expect(host.entry).toBe(built);
  });

  it('falls back to tsx when a nested worker file or a shared contract was edited after the build', () => {
    const src = file('src/workers/main.ts', 1000);
    file('out/main/worker.js', 2000);
    file('src/workers/asr/deep/handler.ts', 3000);
    expect(resolveWorkerEntry(root)).toBe(src);
    file('src/workers/asr/deep/handler.ts', 1500);
    file('src/shared/bus.ts', 2500);
    expect(resolveWorkerEntry(root)).toBe(src);
    expect(new NodeProcessHost({ cwd: root }).entry).toBe(src);
  });

  it('uses the bundle alone in a packaged app with no sources', () => {
    const built = file('out/main/worker.js', 2000);
    expect(resolveWorkerEntry(root)).toBe(built);
  });
});
