/**
 * Opening a SQLite file for a service: WAL, synchronous NORMAL (a commit is durable once the WAL is
 * synced at checkpoints; a power cut can lose the last commits but never corrupts the file), a busy
 * timeout, and schema migrations recorded in a `schema_version` table. The file (and so its -wal and
 * -shm, which SQLite creates with the database's permissions) is private to the user: mode 0600,
 * like the gateway token and the bus snapshot; the folder 0700.
 *
 * A file that is not a database or is damaged is kept as `<file>.corrupt-<time>` (with its -wal
 * and -shm files), a fresh database is started, and what SQLite can still read of the old one is
 * copied into it (salvage.ts). The result (where the old file is, rows saved and lost) is logged
 * as a warning and returned, for the service to show in /health and the studio. A file written by
 * a NEWER schema is not touched: opening fails with a message saying so (losing it would be worse).
 *
 * Loadable extensions (sqlite-vec for long-term.db) are loaded into every connection this opens,
 * before the migrations (which may create their virtual tables) and into the fresh file a salvage
 * starts. One that cannot load fails the open with its own fix (a reinstall), never a salvage:
 * the file is fine, the program is not.
 *
 * Shared by memory (memory.db) and long-term-memory (long-term.db).
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../runtime/index.js';
import { salvageInto, type SalvageResult } from './salvage.js';

export type Db = Database.Database;

/** One schema step: `up` runs inside a transaction with the version row. */
export interface Migration {
  version: number;
  up(db: Db): void;
}

/** The file's schema is newer than this build knows: do not touch it. */
export class SchemaTooNewError extends Error {}

/** A loadable SQLite extension, and what to do when it does not load. */
export interface Extension {
  name: string;
  load(db: Db): void;
  /** The fix, for the error: e.g. "reinstall the app's dependencies (npm install)". */
  fix: string;
}

/** An extension could not be loaded: the message names it, why, and the fix. */
export class ExtensionLoadError extends Error {
  override readonly name = 'ExtensionLoadError';
}

export interface OpenOptions {
  migrations: readonly Migration[];
  log: Pick<Logger, 'error' | 'warn' | 'info'>;
  /** Busy timeout, ms (another process holding the write lock). */
  busyTimeoutMs?: number;
  /** Loaded into the connection before the migrations run (and into a salvage's fresh file). */
  extensions?: readonly Extension[];
  /** After rows were salvaged into a fresh database: rebuild what is derived from them (FTS indexes). */
  afterSalvage?(db: Db): void;
}

/** What became of a damaged file. */
export interface Salvaged extends SalvageResult {
  file: string;
  /** Where the old file is kept. */
  keptAs: string;
  /** Why it could not be opened. */
  reason: string;
  /** One line for the user: what happened, how much was saved, where the old file is. */
  message: string;
}

export interface Opened {
  db: Db;
  /** Where the unreadable file went, when one was moved aside. */
  movedAside?: string;
  salvage?: Salvaged;
}

const PRIVATE_FILE = 0o600;

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

function loadExtensions(db: Db, extensions: readonly Extension[]): void {
  for (const ext of extensions) {
    try {
      ext.load(db);
    } catch (e) {
      const why = (e as Error).message.replace(/\s+/g, ' ').trim();
      throw new ExtensionLoadError(`${db.name}: the SQLite extension ${ext.name} could not be loaded (${why}); ${ext.fix}`);
    }
  }
}

function configure(db: Db, opts: OpenOptions): void {
  loadExtensions(db, opts.extensions ?? []);
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

/** Creates the file 0600 before SQLite does (it would use the umask), and tightens older ones. */
function makePrivate(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', PRIVATE_FILE));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(f, PRIVATE_FILE);
    } catch {
      // -wal / -shm absent, or a file system without modes
    }
  }
}

function describeSalvage(file: string, keptAs: string, reason: string, r: SalvageResult): string {
  const base = path.basename(file);
  if (r.unreadable !== undefined) {
    const why = r.unreadable === reason ? '' : ` (${r.unreadable})`;
    return `${base} was damaged (${reason}) and nothing in it could be read${why}; started a new one. The old file is kept as ${keptAs}`;
  }
  const lost = r.lost === undefined ? 'an unknown number lost' : `${r.lost} lost`;
  return `${base} was damaged (${reason}); saved ${r.saved} rows into a new one (${lost}). The old file is kept as ${keptAs}`;
}

/**
 * Salvages `keptAs` into `db` from a copy: opening the old file replays and checkpoints its WAL,
 * and the kept file must stay as it was for whoever wants to rescue more by hand. A salvage that
 * fails part-way leaves the new database empty (one transaction) and says why.
 */
function salvageCopy(db: Db, file: string, keptAs: string, opts: OpenOptions): SalvageResult {
  const scratch = `${file}.salvaging`;
  try {
    copyFileSync(keptAs, scratch);
    if (existsSync(`${keptAs}-wal`)) copyFileSync(`${keptAs}-wal`, `${scratch}-wal`);
    chmodSync(scratch, PRIVATE_FILE);
    return salvageInto(db, scratch, opts.afterSalvage);
  } catch (err) {
    return { tables: [], saved: 0, lost: undefined, unreadable: `the salvage failed: ${(err as Error).message}` };
  } finally {
    for (const ext of ['', '-wal', '-shm', '-journal']) rmSync(scratch + ext, { force: true });
  }
}

/** Opens (creating the folder and file when needed) and migrates; salvages a damaged file. */
export function openDatabase(file: string, opts: OpenOptions): Opened {
  const open = () => {
    makePrivate(file);
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
    // One line: quick_check reports over several.
    const reason = (e as Error).message.replace(/\s+/g, ' ').trim();
    const keptAs = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    try {
      renameSync(file, keptAs);
    } catch (err) {
      // Another instance of the service moved it first and started the new file: use that one.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { db: open() };
      throw err;
    }
    for (const ext of ['-wal', '-shm']) if (existsSync(file + ext)) renameSync(file + ext, keptAs + ext);
    const db = open();
    const result = salvageCopy(db, file, keptAs, opts);
    const message = describeSalvage(file, keptAs, reason, result);
    const salvage: Salvaged = { ...result, file, keptAs, reason, message };
    opts.log.warn({ file, keptAs, saved: result.saved, lost: result.lost ?? 'unknown', tables: result.tables, reason }, message);
    return { db, movedAside: keptAs, salvage };
  }
}
