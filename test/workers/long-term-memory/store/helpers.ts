/** Memory stores on real SQLite files in temp folders, and hand-made vectors for them. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { MemoryStore, type MemoryStoreOptions } from '../../../../src/workers/long-term-memory/store/memory-store.js';
import type { AddMemory } from '../../../../src/workers/long-term-memory/store/types.js';

export const NOW = Date.UTC(2026, 0, 15, 12);
export const DAY = 86_400_000;
export const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined };

export interface Line {
  level: string;
  msg: string;
}
export function captureLog() {
  const lines: Line[] = [];
  const at = (level: string) => (_obj: unknown, msg?: string) => void lines.push({ level, msg: msg ?? '' });
  return { lines, log: { error: at('error'), warn: at('warn'), info: at('info') } };
}

const open: MemoryStore[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

export const tempDir = () => mkdtempSync(path.join(tmpdir(), 'fav-ltm-store-'));

export function openStore(dir = tempDir(), opts: Partial<MemoryStoreOptions> = {}): MemoryStore {
  const s = MemoryStore.open(dir, { log: quiet, defaultPersona: 'Mika', ...opts });
  open.push(s);
  return s;
}

/** A unit vector from its direction (normalised), in a 8-d test space. */
export function vec(...xs: number[]): Float32Array {
  const v = new Float32Array(8);
  xs.forEach((x, i) => (v[i] = x));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

export const SPACE = 'test:hand-made:8';

export function memory(text: string, extra: Partial<AddMemory> = {}): AddMemory {
  return { persona: 'Mika', subject: 'streamer', kind: 'fact', importance: 0.5, pinned: false, text, at: NOW, ...extra };
}
