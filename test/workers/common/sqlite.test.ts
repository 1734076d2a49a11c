/**
 * openDatabase on real SQLite files: a salvage that fails part-way leaves an empty database, not a
 * half-done one; loadable extensions (sqlite-vec) are loaded before the migrations, into a salvage's
 * fresh file too, and one that cannot load fails the open with the fix, leaving the file alone.
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExtensionLoadError, openDatabase, type Db, type Migration } from '../../../src/workers/common/sqlite.js';
import { sqliteVecExtension, sqliteVecPlatformPackage } from '../../../src/workers/common/sqlite-vec.js';
import { leafPages, smash } from './damaged-db.js';

interface Line {
  level: string;
  msg: string;
}
function captureLog() {
  const lines: Line[] = [];
  const at = (level: string) => (_obj: unknown, msg?: string) => void lines.push({ level, msg: msg ?? '' });
  return { lines, log: { error: at('error'), warn: at('warn'), info: at('info') } as never };
}

const toClose: Db[] = [];
afterEach(() => {
  for (const db of toClose.splice(0)) if (db.open) db.close();
});

const tempDir = () => mkdtempSync(path.join(tmpdir(), 'fav-sqlite-'));

describe('a salvage that fails part-way', () => {
  it('leaves the new database empty rather than half-done, and says why', () => {
    const dir = tempDir();
    const file = path.join(dir, 'things.db');
    const migrations = [{ version: 1, up: (db: Db) => db.exec('CREATE TABLE things (id INTEGER PRIMARY KEY, v TEXT NOT NULL)') }];
    const first = openDatabase(file, { migrations, log: captureLog().log }).db;
    const insert = first.prepare('INSERT INTO things (v) VALUES (?)');
    first.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run(`thing ${i} `.repeat(8));
    })();
    first.close();
    smash(file, [leafPages(file, 'things')[3]!.pageno]);
    const { lines, log } = captureLog();
    const { db, salvage } = openDatabase(file, {
      migrations,
      log,
      afterSalvage: () => {
        throw new Error('rebuild failed');
      },
    });
    toClose.push(db);
    expect(salvage).toMatchObject({ saved: 0, unreadable: 'the salvage failed: rebuild failed' });
    expect(db.prepare('SELECT COUNT(*) FROM things').pluck().get()).toBe(0);
    expect(lines.find((l) => l.level === 'warn')?.msg).toMatch(/nothing in it could be read \(the salvage failed: rebuild failed\).*kept as .*things\.db\.corrupt-/);
    expect(readdirSync(dir).filter((f) => f.includes('salvaging'))).toEqual([]);
  });
});

const vecMigrations: Migration[] = [
  {
    version: 1,
    up: (db) =>
      db.exec(`
        CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
        CREATE VIRTUAL TABLE notes_vec USING vec0 (id INTEGER PRIMARY KEY, embedding float[2] distance_metric=cosine);
      `),
  },
];

describe('loadable extensions', () => {
  it('are loaded before the migrations, so a migration can create a vec0 table', () => {
    const file = path.join(tempDir(), 'vec.db');
    const { db } = openDatabase(file, { migrations: vecMigrations, log: captureLog().log, extensions: [sqliteVecExtension()] });
    toClose.push(db);
    db.prepare('INSERT INTO notes_vec (id, embedding) VALUES (?, ?)').run(1n, new Float32Array([1, 0]));
    db.prepare('INSERT INTO notes_vec (id, embedding) VALUES (?, ?)').run(2n, new Float32Array([0, 1]));
    const near = db.prepare('SELECT id FROM notes_vec WHERE embedding MATCH ? AND k = 1').pluck().all(new Float32Array([0.1, 0.9]));
    expect(near).toEqual([2]);
  });

  it('are loaded into the fresh file of a salvage, and the ordinary rows come back', () => {
    const file = path.join(tempDir(), 'vec.db');
    const first = openDatabase(file, { migrations: vecMigrations, log: captureLog().log, extensions: [sqliteVecExtension()] }).db;
    const insert = first.prepare('INSERT INTO notes (text) VALUES (?)');
    first.transaction(() => {
      for (let i = 0; i < 1000; i++) insert.run(`note ${i} `.repeat(10));
    })();
    first.close();
    const hit = leafPages(file, 'notes')[2]!;
    smash(file, [hit.pageno]);
    let rebuiltWithVec = false;
    const { db, salvage } = openDatabase(file, {
      migrations: vecMigrations,
      log: captureLog().log,
      extensions: [sqliteVecExtension()],
      afterSalvage: (fresh) => {
        rebuiltWithVec = fresh.prepare('SELECT vec_version()').pluck().get() !== undefined;
      },
    });
    toClose.push(db);
    // No index on notes, so how many were lost cannot be told; the vec0 table and its shadow tables are not copied.
    expect(salvage).toMatchObject({ saved: 1000 - hit.ncell });
    expect(salvage?.tables.map((t) => t.table)).toEqual(['notes']);
    expect(rebuiltWithVec).toBe(true);
    expect(db.prepare('SELECT COUNT(*) FROM notes_vec').pluck().get()).toBe(0);
  });

  it('that cannot be loaded fail the open with the fix, and leave the file as it was', () => {
    const file = path.join(tempDir(), 'vec.db');
    openDatabase(file, { migrations: vecMigrations, log: captureLog().log, extensions: [sqliteVecExtension()] }).db.close();
    const before = readFileSync(file);
    const failing = sqliteVecExtension(() => {
      throw new Error('Loadble extension for sqlite-vec not found. Was the sqlite-vec-linux-x64 package installed?');
    });
    const { lines, log } = captureLog();
    let err: unknown;
    try {
      openDatabase(file, { migrations: vecMigrations, log, extensions: [failing] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ExtensionLoadError);
    const msg = (err as Error).message;
    expect(msg).toContain('vec.db: the SQLite extension sqlite-vec could not be loaded (Loadble extension for sqlite-vec not found.');
    expect(msg).toContain('npm install');
    expect(msg).toContain(sqliteVecPlatformPackage());
    // Not mistaken for a damaged file: nothing moved aside, nothing logged as salvaged.
    expect(readdirSync(path.dirname(file)).filter((f) => f.includes('corrupt'))).toEqual([]);
    expect(readFileSync(file)).toEqual(before);
    expect(lines).toEqual([]);
  });
});
