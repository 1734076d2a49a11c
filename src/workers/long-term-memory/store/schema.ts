/**
 * The schema of `<dataDir>/memory/long-term.db`, as migrations for openDatabase (workers/common).
 *
 *   v1, v2  the keyword store of before issue 11 (memories of turns + FTS5, then remote-embedding
 *           vectors); kept as they were so that files written then open and migrate.
 *   v3      memories with persona, subject, kind, importance, pinning and access counts; vector
 *           spaces (one per embedder id) with a sqlite-vec `vec0` table each.
 *   v4      subjects by number in the vec0 tables (their tables rebuilt from the full vectors).
 *
 * Vectors, per space (an embedder id, e.g. 'use-lite:use-lite-en:512'):
 *   - `vectors` holds each memory's full vector, as int16 (x 32767; vectors are unit length, so no
 *     precision that matters is lost, and a 512-d vector takes 1 KiB: three to a 4 KiB page, where
 *     float32 would take a page each). A row with vec NULL marks a text the engine cannot embed.
 *   - `vec_<space id>` is a vec0 table of the same vectors quantised to one bit a dimension, with
 *     the persona as partition key and the subject (by number, subject_ids) as a metadata column
 *     read with the results: the KNN scan reads 64 bytes a memory instead of 2 KiB (measured on
 *     this machine at 100k memories: ~14 ms against ~130 ms for float[512] cosine), and the
 *     candidates it finds are re-ranked by exact cosine from `vectors` (point reads from vec0
 *     itself cost ~1 ms each, too slow to re-rank from). See MemoryStore.knn for the scope.
 *   vec0 tables are created when a space gets its first vector (their dimension is known then),
 *   so they are not part of the migrations.
 */
import type { Db, Migration } from '../../common/sqlite.js';
import { terms } from '../text.js';
import { createVecTable, decodeVector, padded, vecTable } from './vectors.js';

export const FTS_TABLE = 'memories_fts';

/** What rebuilds the FTS index from the memories (after a salvage: virtual tables are not copied). */
export function rebuildFts(db: Db): void {
  db.exec(`DELETE FROM ${FTS_TABLE}`);
  db.exec(`INSERT INTO ${FTS_TABLE} (rowid, terms) SELECT id, terms FROM memories`);
}

/** The migrations; `persona` is the configured persona, which v2 memories (that had none) are given. */
export function migrations(persona: string): Migration[] {
  return [
    {
      version: 1,
      up(db) {
        db.exec(`
          CREATE TABLE memories (
            id INTEGER PRIMARY KEY,
            session_id TEXT NOT NULL,
            turn_id TEXT,
            kind TEXT NOT NULL,
            text TEXT NOT NULL,
            canon TEXT NOT NULL,
            terms TEXT NOT NULL,
            ts REAL NOT NULL,
            last_seen REAL NOT NULL,
            hits INTEGER NOT NULL DEFAULT 1
          );
          CREATE INDEX memories_by_canon ON memories (canon);
          CREATE VIRTUAL TABLE memories_fts USING fts5 (terms, tokenize = 'unicode61 remove_diacritics 2');
          CREATE VIRTUAL TABLE memories_vocab USING fts5vocab (memories_fts, 'row');
        `);
      },
    },
    {
      version: 2,
      up(db) {
        db.exec(`
          CREATE TABLE memory_vectors (
            id INTEGER PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vec BLOB NOT NULL
          );
        `);
      },
    },
    {
      version: 3,
      up(db) {
        db.exec(`
          CREATE TABLE memories_v3 (
            id INTEGER PRIMARY KEY,
            persona TEXT NOT NULL,
            subject TEXT NOT NULL,
            subject_name TEXT,
            kind TEXT NOT NULL,
            text TEXT NOT NULL,
            canon TEXT NOT NULL,
            terms TEXT NOT NULL,
            importance REAL NOT NULL DEFAULT 0.5,
            pinned INTEGER NOT NULL DEFAULT 0,
            access_count INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            last_accessed_at REAL,
            source_session TEXT,
            source_turn TEXT
          );
        `);
        // Every v2 memory is kept, with its id (so the FTS index, keyed by id, stays valid): the
        // configured persona, the subject from who said it, the times and hits it had.
        db.prepare(
          `INSERT INTO memories_v3 (id, persona, subject, kind, text, canon, terms, importance, pinned, access_count,
             created_at, updated_at, last_accessed_at, source_session, source_turn)
           SELECT id, ?,
             CASE kind WHEN 'user' THEN 'streamer' WHEN 'assistant' THEN 'avatar' ELSE 'world' END,
             CASE WHEN kind IN ('fact', 'summary') THEN kind ELSE 'utterance' END,
             text, canon, terms, 0.5, 0, hits, ts, MAX(ts, last_seen), last_seen, session_id, turn_id
           FROM memories`,
        ).run(persona);
        // v2 vectors were of a remote model, stored without the space they belong to in the v3
        // sense; they are dropped and the memories re-embedded by the engine in use (reembed.ts).
        db.exec(`
          DROP TABLE memory_vectors;
          DROP TABLE memories;
          ALTER TABLE memories_v3 RENAME TO memories;
          CREATE INDEX memories_by_scope ON memories (persona, subject, updated_at);
          CREATE INDEX memories_by_persona_time ON memories (persona, updated_at);
          CREATE INDEX memories_by_canon ON memories (persona, canon);

          CREATE TABLE vector_spaces (
            id INTEGER PRIMARY KEY,
            space TEXT NOT NULL UNIQUE,
            dim INTEGER,
            created_at REAL NOT NULL
          );
          CREATE TABLE vectors (
            id INTEGER PRIMARY KEY,
            space_id INTEGER NOT NULL REFERENCES vector_spaces (id) ON DELETE CASCADE,
            memory_id INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
            vec BLOB
          );
          CREATE UNIQUE INDEX vectors_by_memory ON vectors (space_id, memory_id);
          CREATE INDEX vectors_of_memory ON vectors (memory_id);
        `);
        // The FTS index (rowid = memory id, over text.ts terms) carries over as it is; terms are
        // recomputed in case a v1 row was written by an older term list.
        const rows = db.prepare<[], { id: number; text: string }>('SELECT id, text FROM memories').all();
        const set = db.prepare<[string, number]>('UPDATE memories SET terms = ? WHERE id = ?');
        for (const r of rows) set.run(terms(r.text).join(' '), r.id);
        rebuildFts(db);
      },
    },
    {
      // Subjects by number, for the vec0 tables' metadata column: vec0 keeps a text value of more
      // than 12 bytes outside its chunks ('viewer:twitch:<id>' is longer), an integer in them. The
      // vec0 tables of v3 (subject as text) are rebuilt from the full vectors in `vectors`.
      version: 4,
      up(db) {
        db.exec('CREATE TABLE subject_ids (id INTEGER PRIMARY KEY, subject TEXT NOT NULL UNIQUE)');
        const addSubject = db.prepare<[string]>('INSERT OR IGNORE INTO subject_ids (subject) VALUES (?)');
        const subjectId = db.prepare<[string], number>('SELECT id FROM subject_ids WHERE subject = ?').pluck();
        const spaces = db.prepare<[], { id: number; dim: number }>('SELECT id, dim FROM vector_spaces WHERE dim IS NOT NULL').all();
        for (const s of spaces) {
          db.exec(`DROP TABLE IF EXISTS ${vecTable(s.id)}`);
          createVecTable(db, s.id, s.dim);
          const insert = db.prepare(`INSERT INTO ${vecTable(s.id)} (id, embedding, persona, subject_id) VALUES (?, vec_quantize_binary(?), ?, ?)`);
          const rows = db.prepare<[number], { id: number; persona: string; subject: string; vec: Buffer }>(
            'SELECT m.id, m.persona, m.subject, v.vec FROM vectors v JOIN memories m ON m.id = v.memory_id WHERE v.space_id = ? AND v.vec IS NOT NULL',
          );
          for (const r of rows.all(s.id)) {
            addSubject.run(r.subject);
            insert.run(BigInt(r.id), padded(decodeVector(r.vec)), r.persona, BigInt(subjectId.get(r.subject)!));
          }
        }
      },
    },
  ];
}
