/**
 * Damaging SQLite files the way a bad sector or a stray write would: whole pages overwritten with
 * garbage, chosen among a table's b-tree leaves (SQLite's dbstat view says which pages those are).
 */
import Database from 'better-sqlite3';
import { closeSync, openSync, writeSync } from 'node:fs';

const PAGE = 4096;

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
