/**
 * Long-term memory on SQLite FTS5, offline and model-free: `<dataDir>/memory/long-term.db`.
 *
 * Every memory is indexed by its terms (text.ts: stop words dropped, light stemming, CJK bigrams)
 * in an FTS5 table (unicode61 over the space-joined terms). Recall:
 *   1. candidates: the memories sharing any term with the query, best BM25 first (k x 5, max 50);
 *   2. score = 0.55 coverage (share of the query's terms the memory has)
 *            + 0.30 BM25 relative to the best candidate
 *            + 0.15 recency (halves every RECENCY_HALF_LIFE_MS since the memory was last seen),
 *      times 0.9 for the assistant's own words (what viewers said matters more);
 *   3. below MIN_SCORE dropped, top k returned.
 * Writes skip trivial texts (greetings, fillers, one-word reactions) and merge near-identical ones
 * (same canonical text, or term-set Jaccard >= DUPLICATE_JACCARD with a candidate): the existing
 * memory is refreshed (last_seen, hits) instead of stored twice.
 */
import path from 'node:path';
import type { LtmWrite } from '../../shared/voice.js';
import type { Logger } from '../runtime/index.js';
import { openDatabase, type Db, type Migration, type Salvaged } from '../common/sqlite.js';
import type { LongTermStore, RecallItem, RecallQuery, RememberResult } from './backend.js';
import { canonical, isTrivial, jaccard, matchQuery, termSet, terms } from './text.js';

export const RECENCY_HALF_LIFE_MS = 7 * 24 * 3600_000;
export const DUPLICATE_JACCARD = 0.8;
export const MIN_SCORE = 0.2;
const MAX_CANDIDATES = 50;
/** Most memories compared term by term when looking for a near-duplicate. */
const DUPLICATE_CANDIDATES = 200;

const MIGRATIONS: readonly Migration[] = [
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
    // Embedding vectors of memories (embedding-store.ts), one per memory for the model in use.
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
];

/** A memory with its vector, as the embeddings store keeps it in memory. */
export interface VectorRow {
  id: number;
  text: string;
  kind: string;
  last_seen: number;
  vec: Buffer;
}

interface Candidate {
  id: number;
  text: string;
  kind: string;
  terms: string;
  last_seen: number;
  bm: number;
}

export class FtsLongTermStore implements LongTermStore {
  readonly kind = 'fts5';
  private readonly st;

  constructor(
    readonly db: Db,
    readonly movedAside?: string,
    /** What was rescued from a damaged file at open (the notice for the user is `salvage.message`). */
    readonly salvage?: Salvaged,
  ) {
    this.st = {
      byCanon: db.prepare<[string], { id: number }>('SELECT id FROM memories WHERE canon = ? LIMIT 1'),
      candidates: db.prepare<[string, number], Candidate>(
        `SELECT m.id, m.text, m.kind, m.terms, m.last_seen, bm25(memories_fts) AS bm
         FROM memories_fts JOIN memories m ON m.id = memories_fts.rowid
         WHERE memories_fts MATCH ? ORDER BY bm LIMIT ?`,
      ),
      insert: db.prepare<[string, string | null, string, string, string, string, number, number]>(
        'INSERT INTO memories (session_id, turn_id, kind, text, canon, terms, ts, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      insertFts: db.prepare<[number, string]>('INSERT INTO memories_fts (rowid, terms) VALUES (?, ?)'),
      docFreq: db.prepare<[string], number>('SELECT doc FROM memories_vocab WHERE term = ?').pluck(),
      anyOf: db.prepare<[string, number], Pick<Candidate, 'id' | 'terms'>>(
        'SELECT m.id, m.terms FROM memories_fts JOIN memories m ON m.id = memories_fts.rowid WHERE memories_fts MATCH ? LIMIT ?',
      ),
      touch: db.prepare<[number, number]>('UPDATE memories SET last_seen = MAX(last_seen, ?), hits = hits + 1 WHERE id = ?'),
      count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM memories'),
      withoutVector: db.prepare<[string, number], { id: number; text: string; kind: string; last_seen: number }>(
        `SELECT m.id, m.text, m.kind, m.last_seen FROM memories m LEFT JOIN memory_vectors v ON v.id = m.id
         WHERE v.id IS NULL OR v.model <> ? ORDER BY m.id DESC LIMIT ?`,
      ),
      saveVector: db.prepare<[number, string, number, Buffer]>('INSERT OR REPLACE INTO memory_vectors (id, model, dim, vec) VALUES (?, ?, ?, ?)'),
      vectors: db.prepare<[string], VectorRow>(
        'SELECT m.id, m.text, m.kind, m.last_seen, v.vec FROM memory_vectors v JOIN memories m ON m.id = v.id WHERE v.model = ?',
      ),
    };
  }

  static file(dataDir: string): string {
    return path.join(dataDir, 'memory', 'long-term.db');
  }

  static open(dataDir: string, log: Pick<Logger, 'error' | 'warn' | 'info'>): FtsLongTermStore {
    const { db, movedAside, salvage } = openDatabase(FtsLongTermStore.file(dataDir), {
      migrations: MIGRATIONS,
      log,
      // The FTS index is not copied by the salvage: rebuild it from the rescued memories.
      afterSalvage: (fresh) => fresh.exec('INSERT INTO memories_fts (rowid, terms) SELECT id, terms FROM memories'),
    });
    return new FtsLongTermStore(db, movedAside, salvage);
  }

  remember(w: LtmWrite): RememberResult {
    const text = w.text.trim();
    if (isTrivial(text)) return { outcome: 'trivial' };
    const canon = canonical(text);
    const same = this.st.byCanon.get(canon);
    if (same) {
      this.st.touch.run(w.ts, same.id);
      return { outcome: 'duplicate', id: same.id };
    }
    const dup = this.nearDuplicate(termSet(text));
    if (dup !== undefined) {
      this.st.touch.run(w.ts, dup);
      return { outcome: 'duplicate', id: dup };
    }
    const joined = terms(text).join(' ');
    const id = this.db.transaction(() => {
      const r = this.st.insert.run(w.session_id, w.turn_id ?? null, w.kind, text, canon, joined, w.ts, w.ts);
      this.st.insertFts.run(Number(r.lastInsertRowid), joined);
      return Number(r.lastInsertRowid);
    })();
    return { outcome: 'added', id };
  }

  /**
   * A stored memory whose terms have Jaccard >= DUPLICATE_JACCARD with `mine`. Such a memory holds
   * at least that share of `mine`'s n terms, so it has at least one of ANY n - ceil(0.8 n) + 1 of
   * them: the candidates are the memories with one of that many of the RAREST terms (document
   * frequencies from the FTS5 vocabulary), which keeps the lookup small however big the store grows.
   */
  private nearDuplicate(mine: Set<string>): number | undefined {
    const n = mine.size;
    if (n === 0) return undefined;
    const need = n - Math.ceil(DUPLICATE_JACCARD * n) + 1;
    const rarest = [...mine]
      .map((t) => ({ t, doc: this.st.docFreq.get(t) ?? 0 }))
      .sort((a, b) => a.doc - b.doc)
      .slice(0, need);
    // A term no memory has yet: nothing can be a near-duplicate.
    if (rarest[0]!.doc === 0 && need === 1) return undefined;
    const match = rarest.map(({ t }) => `"${t.replace(/"/g, '""')}"`).join(' OR ');
    for (const c of this.st.anyOf.all(match, DUPLICATE_CANDIDATES)) {
      if (jaccard(mine, new Set(c.terms.split(' '))) >= DUPLICATE_JACCARD) return c.id;
    }
    return undefined;
  }

  recall(q: RecallQuery): RecallItem[] {
    return this.scored(q).map(({ text, score }) => ({ text, score }));
  }

  /** recall() with the memory ids (for stores that merge other rankings). */
  scored(q: RecallQuery): Array<RecallItem & { id: number }> {
    const match = matchQuery(q.query);
    if (!match || q.k <= 0) return [];
    const wanted = termSet(q.query);
    const rows = this.st.candidates.all(match, Math.min(MAX_CANDIDATES, q.k * 5));
    if (rows.length === 0) return [];
    const now = q.now ?? Date.now();
    const best = Math.max(...rows.map((r) => -r.bm));
    const scored = rows.map((r) => {
      const have = new Set(r.terms.split(' '));
      let shared = 0;
      for (const t of wanted) if (have.has(t)) shared++;
      const coverage = shared / wanted.size;
      const rel = best > 0 ? -r.bm / best : 1;
      const recency = Math.pow(0.5, Math.max(0, now - r.last_seen) / RECENCY_HALF_LIFE_MS);
      const score = (0.55 * coverage + 0.3 * rel + 0.15 * recency) * (r.kind === 'assistant' ? 0.9 : 1);
      return { id: r.id, text: r.text, score: Math.round(score * 1000) / 1000 };
    });
    scored.sort((a, b) => b.score - a.score);
    const out: Array<RecallItem & { id: number }> = [];
    for (const s of scored) {
      if (s.score < MIN_SCORE || out.length >= q.k) break;
      if (!out.some((o) => o.text === s.text)) out.push(s);
    }
    return out;
  }

  /** Memories with no vector of `model` yet, newest first. */
  withoutVector(model: string, limit: number): Array<{ id: number; text: string; kind: string; last_seen: number }> {
    return this.st.withoutVector.all(model, limit);
  }

  saveVectors(model: string, rows: Array<{ id: number; vec: Float32Array }>): void {
    this.db.transaction(() => {
      for (const r of rows) this.st.saveVector.run(r.id, model, r.vec.length, Buffer.from(r.vec.buffer, r.vec.byteOffset, r.vec.byteLength));
    })();
  }

  vectors(model: string): VectorRow[] {
    return this.st.vectors.all(model);
  }

  size(): number {
    return this.st.count.get()?.n ?? 0;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
