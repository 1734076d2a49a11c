/**
 * Damaging SQLite files the way a bad sector or a stray write would: whole pages overwritten with
 * garbage, chosen among a table's b-tree leaves (SQLite's dbstat view says which pages those are).
 */
import Database from 'better-sqlite3';
import { closeSync, openSync, writeSync } from 'node:fs';
import { MemoryStore } from '../../../src/workers/memory/store.js';

const PAGE = 4096;
const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined };

/** Leaf pages of a table's b-tree, with how many rows each holds (SQLite's own dbstat view). */
export function leafPages(file: string, table: string): Array<{ pageno: number; ncell: number }> {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare<[string], { pageno: number; ncell: number }>("SELECT pageno, ncell FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno").all(table);
  } finally {
    db.close();
  }
}

/** Overwrites whole pages with garbage, as a bad sector or a stray write would. */
export function smash(file: string, pages: number[]): void {
  const fd = openSync(file, 'r+');
  try {
    for (const p of pages) writeSync(fd, Buffer.alloc(PAGE, 0xa5), 0, PAGE, (p - 1) * PAGE);
  } finally {
    closeSync(fd);
  }
}

/** `turns` user messages of session s1 in `<dir>/memory/memory.db`, the i-th at `now + i`. */
export function fillHistory(dir: string, turns: number, now: number): void {
  const store = MemoryStore.open(dir, quiet);
  for (let i = 0; i < turns; i++) {
    const text = `turn ${i}: ${'a fairly long line of what the viewer said, to fill the pages '.repeat(2)}`;
    store.addUser({ session_id: 's1', turn_id: `t${i}`, text, ts: now + i, pos: now + i });
  }
  store.close();
}
