/**
 * Rescuing the rows of a damaged SQLite file into a fresh database of the same schema.
 *
 * better-sqlite3 has no `.recover` (that is the sqlite3 shell's, built on an extension the library
 * does not compile in), so this copies what SQLite can still read, table by table and row by row in
 * rowid order. A damaged page makes the scan throw; the walk then looks for the first rowid after
 * it that a seek can reach (doubling the jump until one does, then narrowing it down), so one bad
 * page costs the rows on that page, not the rest of the table. Rows the fresh schema refuses
 * (garbage that read as a row, a vector of a memory that was lost) are dropped and counted.
 *
 * How many rows were lost is known when an index of the table is still whole (COUNT(*) through it);
 * otherwise only what was saved is known. Virtual tables (FTS5) are not copied: their store's
 * `afterSalvage` rebuilds them from the rescued rows.
 */
import Database from 'better-sqlite3';
import type { Db } from './sqlite.js';

export interface TableSalvage {
  table: string;
  saved: number;
  /** Rows that were in the old file and are not in the new one; undefined when it cannot be told. */
  lost: number | undefined;
  /** Rows that could be read but that the fresh schema refused (part of `lost` when that is known). */
  refused?: number;
}

export interface SalvageResult {
  tables: TableSalvage[];
  saved: number;
  lost: number | undefined;
  /** Why nothing at all could be read, when that is so. */
  unreadable?: string;
}

interface Column {
  name: string;
  type: string;
  pk: number;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Largest jump tried past a damaged page (rowids beyond it are not looked for). */
const MAX_ROWID = Number.MAX_SAFE_INTEGER;

/** The ordinary tables of the fresh database, parents first, without their bookkeeping ones. */
function tablesToCopy(fresh: Db): string[] {
  const all = fresh.prepare<[], { name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY rowid").all();
  const virtual = all.filter((t) => /^CREATE VIRTUAL TABLE/i.test(t.sql)).map((t) => t.name);
  return all
    .filter((t) => !t.name.startsWith('sqlite_') && t.name !== 'schema_version')
    .filter((t) => !virtual.includes(t.name) && !virtual.some((v) => t.name.startsWith(`${v}_`)))
    .map((t) => t.name);
}

function columns(db: Db, table: string): Column[] {
  return db.prepare<[], Column>(`PRAGMA table_info(${quote(table)})`).all();
}

/** The table's row count through one of its indexes that is still whole, if any is. */
function countThroughIndex(old: Db, table: string): number | undefined {
  let indexes: string[];
  try {
    indexes = old.prepare<[], { name: string }>(`PRAGMA index_list(${quote(table)})`).all().map((i) => i.name);
  } catch {
    return undefined;
  }
  for (const index of indexes) {
    try {
      const n = old.prepare<[], number>(`SELECT COUNT(*) FROM ${quote(table)} INDEXED BY ${quote(index)}`).pluck().get();
      if (typeof n === 'number') return n;
    } catch {
      // this index is damaged too (or cannot be named: automatic ones): try the next
    }
  }
  return undefined;
}

function copyTable(old: Db, fresh: Db, table: string): TableSalvage {
  const freshCols = columns(fresh, table);
  let oldCols: Column[];
  try {
    oldCols = columns(old, table);
  } catch {
    return { table, saved: 0, lost: undefined };
  }
  const names = freshCols.filter((c) => oldCols.some((o) => o.name === c.name)).map((c) => c.name);
  if (names.length === 0) return { table, saved: 0, lost: countThroughIndex(old, table) };
  // An INTEGER PRIMARY KEY is the rowid itself; otherwise the rowid is carried over beside the columns.
  const rowidAlias = freshCols.find((c) => c.pk === 1 && c.type.toUpperCase() === 'INTEGER' && freshCols.filter((x) => x.pk > 0).length === 1);
  const cols = names.map(quote).join(', ');
  const select = old.prepare<[number], Record<string, unknown>>(
    `SELECT rowid AS __rowid, ${cols} FROM ${quote(table)} NOT INDEXED WHERE rowid > ? ORDER BY rowid`,
  );
  const probe = old.prepare<[number], number>(`SELECT rowid FROM ${quote(table)} NOT INDEXED WHERE rowid > ? ORDER BY rowid LIMIT 1`).pluck();
  const exact = old.prepare<[number], Record<string, unknown>>(`SELECT rowid AS __rowid, ${cols} FROM ${quote(table)} NOT INDEXED WHERE rowid = ?`);
  const insertCols = rowidAlias ? cols : `rowid, ${cols}`;
  const insert = fresh.prepare(
    `INSERT INTO ${quote(table)} (${insertCols}) VALUES (${[...(rowidAlias ? [] : ['?']), ...names.map(() => '?')].join(', ')})`,
  );

  /** Whether a seek past `after` can be made without hitting damage. */
  const reachable = (after: number): boolean => {
    try {
      probe.get(after);
      return true;
    } catch {
      return false;
    }
  };

  let saved = 0;
  let refused = 0;
  const copy = (row: Record<string, unknown>) => {
    try {
      insert.run(...(rowidAlias ? [] : [row.__rowid]), ...names.map((n) => row[n]));
      saved++;
    } catch {
      refused++;
    }
  };
  let after = -MAX_ROWID;
  let damaged = false;
  for (;;) {
    try {
      for (const row of select.iterate(after)) {
        after = row.__rowid as number;
        copy(row);
      }
      break;
    } catch {
      damaged = true;
      // A damaged page after `after`: find the first seek point past it.
      let lo = after;
      let step = 1;
      let hi = after + step;
      while (hi < MAX_ROWID && !reachable(hi)) {
        lo = hi;
        step *= 2;
        hi = Math.min(MAX_ROWID, after + step);
      }
      if (!reachable(hi)) break;
      while (hi - lo > 1) {
        const mid = lo + Math.floor((hi - lo) / 2);
        if (reachable(mid)) hi = mid;
        else lo = mid;
      }
      // Seeking past `hi` works and past `hi - 1` does not: the row `hi` itself, if there is one, sits
      // on the first page after the damage, where a seek for exactly it lands.
      if (hi <= after) break;
      after = hi;
      try {
        const row = exact.get(hi);
        if (row) copy(row);
      } catch {
        // damaged as well: lost
      }
    }
  }
  // A walk that met no damage read every row; otherwise the count through a whole index tells.
  const total = damaged ? countThroughIndex(old, table) : saved + refused;
  return { table, saved, lost: total === undefined ? undefined : Math.max(0, total - saved), refused };
}

/**
 * Copies what can be read of `oldFile` into `fresh` (already migrated to the current schema), then
 * runs `after` (rebuilding derived tables), all in one transaction. `oldFile` is opened read-write
 * (a WAL beside it is replayed), so pass a copy.
 */
export function salvageInto(fresh: Db, oldFile: string, after?: (db: Db) => void): SalvageResult {
  let old: Db;
  try {
    old = new Database(oldFile, { fileMustExist: true });
    old.pragma('cell_size_check = ON');
    old.prepare('SELECT name FROM sqlite_master').all();
  } catch (e) {
    return { tables: [], saved: 0, lost: undefined, unreadable: (e as Error).message };
  }
  try {
    const tables = fresh.transaction(() => {
      const copied = tablesToCopy(fresh).map((t) => copyTable(old, fresh, t));
      if (copied.some((t) => t.saved > 0)) after?.(fresh);
      return copied;
    })();
    const saved = tables.reduce((n, t) => n + t.saved, 0);
    const lost = tables.every((t) => t.lost !== undefined) ? tables.reduce((n, t) => n + (t.lost ?? 0), 0) : undefined;
    return { tables, saved, lost };
  } finally {
    old.close();
  }
}
