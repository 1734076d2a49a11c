/**
 * Opening a SQLite file for a service: WAL, synchronous NORMAL (a commit is durable once the WAL is
 * synced at checkpoints; a power cut can lose the last commits but never corrupts the file), a busy
 * timeout, and schema migrations recorded in a `schema_version` table.
 *
 * A file that is not a database or is corrupt is moved aside as `<file>.corrupt-<epoch ms>` (with
 * its -wal and -shm files) and a fresh database is started, with an error in the log that says so:
 * the app keeps working and the old file is kept for whoever wants to rescue it. A file written by
 * a NEWER schema is not touched: opening fails with a message saying so (losing it would be worse).
 *
 * Shared by memory (memory.db) and long-term-memory (long-term.db).
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../runtime/index.js';

export type Db = Database.Database;

/** One schema step: `up` runs inside a transaction with the version row. */
export interface Migration {
  version: number;
  up(db: Db): void;
}

/** The file's schema is newer than this build knows: do not touch it. */
export class SchemaTooNewError extends Error {}

export interface OpenOptions {
  migrations: readonly Migration[];
  log: Pick<Logger, 'error' | 'warn' | 'info'>;
  /** Busy timeout, ms (another process holding the write lock). */
  busyTimeoutMs?: number;
}

export interface Opened {
  db: Db;
  /** Where the unreadable file went, when one was moved aside. */
  movedAside?: string;
}

/** SQLite result codes that mean "this file is not a usable database". */
const UNREADABLE = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT', 'SQLITE_CORRUPT_VTAB', 'SQLITE_CORRUPT_SEQUENCE', 'SQLITE_CORRUPT_INDEX']);

function isUnreadable(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && UNREADABLE.has(code);
}

/** Current schema version of an open database (0 for a fresh file). */
export function schemaVersion(db: Db): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at INTEGER NOT NULL)');
  const v = db.prepare<[], { v: number | null }>('SELECT MAX(version) AS v FROM schema_version').get();
  return v?.v ?? 0;
}

function configure(db: Db, opts: OpenOptions): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
  db.pragma('foreign_keys = ON');
  const latest = opts.migrations.reduce((m, x) => Math.max(m, x.version), 0);
  const current = schemaVersion(db);
  if (current > latest) {
    throw new SchemaTooNewError(
      `${db.name} has schema version ${current}, newer than this version of the app knows (${latest}); ` +
        'update the app or move the file away',
    );
  }
  const record = db.prepare<[number, number]>('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)');
  for (const m of [...opts.migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    db.transaction(() => {
      m.up(db);
      record.run(m.version, Date.now());
    }).immediate();
  }
  // A quick look at the first pages: a file truncated or overwritten in the middle shows here.
  const check = db.pragma('quick_check(1)', { simple: true });
  if (check !== 'ok') {
    const err = new Error(`integrity check failed: ${String(check)}`) as Error & { code: string };
    err.code = 'SQLITE_CORRUPT';
    throw err;
  }
}

/** Opens (creating the folder and file when needed) and migrates; moves an unreadable file aside. */
export function openDatabase(file: string, opts: OpenOptions): Opened {
  mkdirSync(path.dirname(file), { recursive: true });
  const open = () => {
    const db = new Database(file, { timeout: opts.busyTimeoutMs ?? 5000 });
    try {
      configure(db, opts);
      return db;
    } catch (e) {
      db.close();
      throw e;
    }
  };
  try {
    return { db: open() };
  } catch (e) {
    if (!isUnreadable(e)) throw e;
    const aside = `${file}.corrupt-${Date.now()}`;
    renameSync(file, aside);
    for (const ext of ['-wal', '-shm']) if (existsSync(file + ext)) renameSync(file + ext, aside + ext);
    opts.log.error(
      { file, movedTo: aside, err: (e as Error).message },
      `database file was unreadable (${(e as Error).message}); moved it aside to ${aside} and started a fresh one`,
    );
    return { db: open(), movedAside: aside };
  }
}
