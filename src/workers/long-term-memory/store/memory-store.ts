/**
 * Long-term memories on SQLite (`<dataDir>/memory/long-term.db`): FTS5 over text.ts terms for
 * keywords, sqlite-vec for vectors (vectors.ts), schema and migrations in schema.ts.
 *
 * Search (hybrid): up to `candidates` memories of the persona and the allowed subjects from each
 * ranking that runs —
 *   vector   KNN of the query vector in its space, re-ranked by exact cosine; only memories with
 *            cosine >= minSimilarity take part (below that they are not about the query);
 *   keyword  BM25 over FTS5; only memories holding >= minCoverage of the query's terms take part
 *            (a lower floor for CJK bigrams) —
 * fused by reciprocal rank fusion (k = 60). A memory's score in [0, 1]:
 *   relevance = 0.5 rrf (normalised by the best possible for the rankings that ran)
 *             + 0.5 quality (the better of its cosine above the floor, rescaled to 0..1, and its
 *               share of the query's terms)
 *   score     = relevance x (0.7 + 0.3 effective importance) x (0.85 + 0.15 recency)
 * where effective importance = importance x 0.5^(days since last used or updated / decayHalfLifeDays)
 * and recency = 0.5^(days since updated / decayHalfLifeDays); a pinned memory does not decay
 * (both are 1 x importance and 1). Scores under MIN_SCORE are dropped, then the top k returned.
 */
import path from 'node:path';
import type { MemoryExport, MemoryKind, MemoryPatch, MemoryRecord } from '../../../shared/long-term.js';
import type { Statement } from 'better-sqlite3';
import { openDatabase, type Db, type Extension, type Salvaged } from '../../common/sqlite.js';
import { sqliteVecExtension } from '../../common/sqlite-vec.js';
import type { Logger } from '../../runtime/index.js';
import { canonical, jaccard, matchQuery, termSet, terms } from '../text.js';
import { migrations, rebuildFts } from './schema.js';
import type { AddMemory, ListQuery, MemoryStoreApi, SearchQuery, SearchResult, Vector } from './types.js';
import { checkImportance, checkKind, checkSubject, checkText, MemoryInputError } from './validate.js';
import { cosine, decodeVector, encodeVector, padded, vecTable, VectorSpaces, type Space } from './vectors.js';

export { MemoryInputError };

export const RRF_K = 60;
export const MIN_SCORE = 0.15;
export const DEFAULT_MIN_SIMILARITY = 0.3;
export const DEFAULT_MIN_COVERAGE = 0.25;
/**
 * The same for CJK terms: a query's CJK run gives a bigram per character, most of which straddle
 * word boundaries, so a paraphrase shares a smaller part of them (measured on the labelled set:
 * 0.25 kept 7% of the Chinese hits that no floor finds, 0.1 kept 42 of 45%).
 */
export const DEFAULT_MIN_COVERAGE_CJK = 0.1;
const CJK_TERM = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
export const DUPLICATE_JACCARD = 0.8;
const DAY_MS = 86_400_000;
/** Most memories compared term by term when looking for a near-duplicate. */
const DUPLICATE_CANDIDATES = 200;
/** BM25 matches ranked before the scope filter (see the bm25 statement). */
const KEYWORD_POOL = 1000;
const KEYWORD_SLICE = 100;
/** A query term in more memories than this is left out of the FTS5 query (see keywordMatch). */
export const COMMON_TERM_DOCS = 5000;
/** A subject with at most this many memories is searched by exact cosine over all of them. */
export const SMALL_SUBJECT = 500;
/** vec0's largest k. */
const MAX_KNN = 4096;

export interface MemoryStoreOptions {
  log: Pick<Logger, 'error' | 'warn' | 'info'>;
  /** The configured persona: what memories from before personas (schema v2) are given. */
  defaultPersona: string;
  /** settings memory.decayHalfLifeDays. */
  decayHalfLifeDays?: number;
  /** Cosine under which a vector neighbour is not about the query (depends on the model). */
  minSimilarity?: number;
  /** Share of the query's terms under which a keyword match is not about the query (Latin-script terms; CJK: DEFAULT_MIN_COVERAGE_CJK). */
  minCoverage?: number;
  minCoverageCjk?: number;
  /** Subjects with at most this many memories are searched exactly, not through the KNN (default SMALL_SUBJECT). */
  smallSubject?: number;
  /** Query terms in more memories than this are left out of the keyword query (default COMMON_TERM_DOCS). */
  commonTermDocs?: number;
  /** sqlite-vec, injectable (tests give one that fails). */
  vecExtension?: Extension;
}

interface Row {
  id: number;
  persona: string;
  subject: string;
  subject_name: string | null;
  kind: string;
  text: string;
  terms: string;
  importance: number;
  pinned: number;
  access_count: number;
  created_at: number;
  updated_at: number;
  last_accessed_at: number | null;
  source_session: string | null;
  source_turn: string | null;
  has_vector?: number;
}

const COLS = `m.id, m.persona, m.subject, m.subject_name, m.kind, m.text, m.terms, m.importance, m.pinned, m.access_count,
  m.created_at, m.updated_at, m.last_accessed_at, m.source_session, m.source_turn`;
/** has_vector for the active space (bound as the first parameter; null: none). */
const HAS_VECTOR = `EXISTS (SELECT 1 FROM vectors v JOIN vector_spaces s ON s.id = v.space_id
  WHERE s.space = @space AND v.memory_id = m.id AND v.vec IS NOT NULL) AS has_vector`;

const clamp01 = (x: number) => Math.max(0, Math.min(1, x));
const round3 = (x: number) => Math.round(x * 1000) / 1000;

export class MemoryStore implements MemoryStoreApi {
  /** The embedder in use: what `has_vector` in records refers to. */
  activeSpace: string | undefined;
  private readonly spaces: VectorSpaces;
  private readonly halfLifeMs: number;
  private readonly minSimilarity: number;
  private readonly minCoverage: number;
  private readonly minCoverageCjk: number;
  private readonly smallSubject: number;
  private readonly commonTermDocs: number;
  private readonly st;
  /** Statements over the per-space vec0 tables, by SQL (prepared once). */
  private readonly vecStatements = new Map<string, Statement>();

  constructor(
    readonly db: Db,
    opts: Pick<MemoryStoreOptions, 'decayHalfLifeDays' | 'minSimilarity' | 'minCoverage' | 'minCoverageCjk' | 'smallSubject' | 'commonTermDocs'> = {},
    /** What was rescued from a damaged file at open (the notice for the user is `salvage.message`). */
    readonly salvage?: Salvaged,
  ) {
    this.spaces = new VectorSpaces(db);
    this.halfLifeMs = (opts.decayHalfLifeDays ?? 30) * DAY_MS;
    this.minSimilarity = opts.minSimilarity ?? DEFAULT_MIN_SIMILARITY;
    this.minCoverage = opts.minCoverage ?? DEFAULT_MIN_COVERAGE;
    this.minCoverageCjk = opts.minCoverageCjk ?? DEFAULT_MIN_COVERAGE_CJK;
    this.smallSubject = opts.smallSubject ?? SMALL_SUBJECT;
    this.commonTermDocs = opts.commonTermDocs ?? COMMON_TERM_DOCS;
    this.st = {
      insert: db.prepare(
        `INSERT INTO memories (persona, subject, subject_name, kind, text, canon, terms, importance, pinned, access_count,
           created_at, updated_at, last_accessed_at, source_session, source_turn)
         VALUES (@persona, @subject, @subject_name, @kind, @text, @canon, @terms, @importance, @pinned, @access_count,
           @created_at, @updated_at, @last_accessed_at, @source_session, @source_turn)`,
      ),
      insertFts: db.prepare<[number, string]>('INSERT INTO memories_fts (rowid, terms) VALUES (?, ?)'),
      deleteFts: db.prepare<[number]>('DELETE FROM memories_fts WHERE rowid = ?'),
      get: db.prepare<[{ space: string | null; id: number }], Row>(`SELECT ${COLS}, ${HAS_VECTOR} FROM memories m WHERE m.id = @id`),
      byIds: db.prepare<[string], Row>(`SELECT ${COLS} FROM memories m WHERE m.id IN (SELECT value FROM json_each(?))`),
      deleteRow: db.prepare<[number]>('DELETE FROM memories WHERE id = ?'),
      idsOfSubject: db.prepare<[string, string], number>('SELECT id FROM memories WHERE persona = ? AND subject = ?').pluck(),
      idsOfPersona: db.prepare<[string], number>('SELECT id FROM memories WHERE persona = ?').pluck(),
      touch: db.prepare<[number, number]>(
        'UPDATE memories SET access_count = access_count + 1, last_accessed_at = MAX(COALESCE(last_accessed_at, 0), ?) WHERE id = ?',
      ),
      byCanon: db.prepare<[string, string, string], number>('SELECT id FROM memories WHERE persona = ? AND canon = ? AND subject = ? LIMIT 1').pluck(),
      docFreq: db.prepare<[string], number>('SELECT doc FROM memories_vocab WHERE term = ?').pluck(),
      anyOf: db.prepare<[string, string, string, number], { id: number; terms: string }>(
        `SELECT m.id, m.terms FROM memories_fts JOIN memories m ON m.id = memories_fts.rowid
         WHERE memories_fts MATCH ? AND m.persona = ? AND m.subject = ? LIMIT ?`,
      ),
      // The best matches of all by BM25, their scope checked after (see keywordRanking).
      ftsTop: db.prepare<[string, number], { id: number; bm: number }>(
        'SELECT rowid AS id, bm25(memories_fts) AS bm FROM memories_fts WHERE memories_fts MATCH ? ORDER BY bm LIMIT ?',
      ),
      scopeOf: db.prepare<[string], { id: number; persona: string; subject: string; kind: string; terms: string }>(
        'SELECT id, persona, subject, kind, terms FROM memories WHERE id IN (SELECT value FROM json_each(?))',
      ),
      subjectSize: db.prepare<[string, string, number], number>(
        'SELECT COUNT(*) FROM (SELECT 1 FROM memories WHERE persona = ? AND subject = ? LIMIT ?)',
      ).pluck(),
      subjectVectors: db.prepare<[number, string, string], { id: number; vec: Buffer }>(
        `SELECT m.id, v.vec FROM memories m JOIN vectors v ON v.memory_id = m.id AND v.space_id = ?
         WHERE m.persona = ? AND m.subject = ? AND v.vec IS NOT NULL`,
      ),
      subjectId: db.prepare<[string], number>('SELECT id FROM subject_ids WHERE subject = ?').pluck(),
      addSubject: db.prepare<[string]>('INSERT OR IGNORE INTO subject_ids (subject) VALUES (?)'),
      memoryScope: db.prepare<[number], { persona: string; subject: string }>('SELECT persona, subject FROM memories WHERE id = ?'),
      vectorRow: db.prepare<[number, number], { vec: Buffer | null }>('SELECT vec FROM vectors WHERE space_id = ? AND memory_id = ?'),
      spacesOf: db.prepare<[number], { space_id: number; vec: Buffer | null }>('SELECT space_id, vec FROM vectors WHERE memory_id = ?'),
      putVector: db.prepare<[number, number, Buffer | null]>('INSERT OR REPLACE INTO vectors (space_id, memory_id, vec) VALUES (?, ?, ?)'),
      dropVectors: db.prepare<[number]>('DELETE FROM vectors WHERE memory_id = ?'),
      missing: db.prepare<[number, number], { id: number; text: string }>(
        'SELECT m.id, m.text FROM memories m WHERE NOT EXISTS (SELECT 1 FROM vectors v WHERE v.space_id = ? AND v.memory_id = m.id) ORDER BY m.id LIMIT ?',
      ),
      missingAll: db.prepare<[number], { id: number; text: string }>('SELECT id, text FROM memories ORDER BY id LIMIT ?'),
      vectorCount: db.prepare<[number], number>('SELECT COUNT(*) FROM vectors WHERE space_id = ?').pluck(),
      count: db.prepare<[], number>('SELECT COUNT(*) FROM memories').pluck(),
      countPersona: db.prepare<[string], number>('SELECT COUNT(*) FROM memories WHERE persona = ?').pluck(),
      list: db.prepare<[{ space: string | null; persona: string | null; subject: string | null; limit: number; offset: number }], Row>(
        `SELECT ${COLS}, ${HAS_VECTOR} FROM memories m WHERE (@persona IS NULL OR m.persona = @persona) AND (@subject IS NULL OR m.subject = @subject)
         ORDER BY m.updated_at DESC, m.id DESC LIMIT @limit OFFSET @offset`,
      ),
      listCount: db.prepare<[{ persona: string | null; subject: string | null }], number>(
        'SELECT COUNT(*) FROM memories m WHERE (@persona IS NULL OR m.persona = @persona) AND (@subject IS NULL OR m.subject = @subject)',
      ).pluck(),
      subjects: db.prepare<[{ persona: string | null }], { subject: string; subject_name: string | null; count: number }>(
        `SELECT m.subject, COUNT(*) AS count,
           (SELECT n.subject_name FROM memories n WHERE n.subject = m.subject AND n.subject_name IS NOT NULL
              AND (@persona IS NULL OR n.persona = @persona) ORDER BY n.updated_at DESC LIMIT 1) AS subject_name
         FROM memories m WHERE (@persona IS NULL OR m.persona = @persona) GROUP BY m.subject ORDER BY count DESC, m.subject`,
      ),
      exportRows: db.prepare<[{ persona: string | null }], Row>(`SELECT ${COLS} FROM memories m WHERE (@persona IS NULL OR m.persona = @persona) ORDER BY m.id`),
    };
  }

  static file(dataDir: string): string {
    return path.join(dataDir, 'memory', 'long-term.db');
  }

  static open(dataDir: string, opts: MemoryStoreOptions): MemoryStore {
    const { db, salvage } = openDatabase(MemoryStore.file(dataDir), {
      migrations: migrations(opts.defaultPersona),
      log: opts.log,
      extensions: [opts.vecExtension ?? sqliteVecExtension()],
      // Virtual tables are not copied: the FTS index is rebuilt from the rescued memories, and the
      // vectors (whose vec0 tables are gone) are dropped, to be re-embedded.
      afterSalvage: (fresh) => {
        rebuildFts(fresh);
        fresh.exec('DELETE FROM vectors; DELETE FROM vector_spaces');
      },
    });
    return new MemoryStore(db, opts, salvage);
  }

  // --- writing ------------------------------------------------------------------------------------

  add(m: AddMemory, vector?: Vector): number {
    const text = checkText(m.text);
    const at = m.at ?? Date.now();
    if (!m.persona) throw new MemoryInputError('a memory belongs to a persona');
    const row = {
      persona: m.persona,
      subject: checkSubject(m.subject),
      subject_name: m.subject_name ?? null,
      kind: checkKind(m.kind),
      text,
      importance: checkImportance(m.importance),
      pinned: m.pinned ? 1 : 0,
      access_count: 0,
      created_at: at,
      updated_at: at,
      last_accessed_at: null,
      source_session: m.source_session ?? null,
      source_turn: m.source_turn ?? null,
    };
    return this.tx(() => {
      const id = this.insertRow(row);
      if (vector) this.putVector(this.spaces.ensure(vector.space, vector.vec.length), id, vector.vec, row.persona, row.subject, true);
      return id;
    });
  }

  private insertRow(r: Omit<Row, 'id' | 'terms' | 'has_vector'>): number {
    const joined = terms(r.text).join(' ');
    const res = this.st.insert.run({ ...r, canon: canonical(r.text), terms: joined });
    const id = Number(res.lastInsertRowid);
    this.st.insertFts.run(id, joined);
    return id;
  }

  update(id: number, patch: MemoryPatch, vector?: Vector, at = Date.now()): MemoryRecord | undefined {
    const old = this.st.get.get({ space: null, id });
    if (!old) return undefined;
    const text = patch.text !== undefined ? checkText(patch.text) : old.text;
    const subject = patch.subject !== undefined ? checkSubject(patch.subject) : old.subject;
    const kind = patch.kind !== undefined ? checkKind(patch.kind) : old.kind;
    const importance = patch.importance !== undefined ? checkImportance(patch.importance) : old.importance;
    const textChanged = text !== old.text;
    this.tx(() => {
      this.db
        .prepare(
          `UPDATE memories SET text = ?, canon = ?, terms = ?, subject = ?, subject_name = ?, kind = ?, importance = ?, pinned = ?, updated_at = ?
           WHERE id = ?`,
        )
        .run(
          text,
          canonical(text),
          terms(text).join(' '),
          subject,
          patch.subject_name ?? (patch.subject !== undefined && patch.subject !== old.subject ? null : old.subject_name),
          kind,
          importance,
          (patch.pinned ?? old.pinned === 1) ? 1 : 0,
          at,
          id,
        );
      if (textChanged) {
        this.st.deleteFts.run(id);
        this.st.insertFts.run(id, terms(text).join(' '));
        // The old vectors are of the old text: gone, re-embedded (now when given, else in the background).
        this.removeVectors(id);
      } else if (subject !== old.subject) {
        // The subject is a vec0 metadata column: write the quantised rows again from the full vectors.
        for (const r of this.st.spacesOf.all(id)) {
          const s = this.spaces.all().find((x) => x.id === r.space_id);
          if (s && r.vec) this.writeVecRow(s, id, decodeVector(r.vec), old.persona, subject);
        }
      }
      if (vector) this.putVector(this.spaces.ensure(vector.space, vector.vec.length), id, vector.vec, old.persona, subject);
    });
    return this.get(id, at);
  }

  delete(id: number): boolean {
    return this.tx(() => this.deleteOne(id));
  }

  private deleteOne(id: number): boolean {
    this.removeVectors(id);
    this.st.deleteFts.run(id);
    return this.st.deleteRow.run(id).changes > 0;
  }

  forgetSubject(persona: string, subject: string): number {
    return this.tx(() => {
      let n = 0;
      for (const id of this.st.idsOfSubject.all(persona, subject)) if (this.deleteOne(id)) n++;
      return n;
    });
  }

  touch(ids: readonly number[], at = Date.now()): void {
    this.tx(() => {
      for (const id of ids) this.st.touch.run(at, id);
    });
  }

  // --- reading ------------------------------------------------------------------------------------

  get(id: number, now = Date.now()): MemoryRecord | undefined {
    const r = this.st.get.get({ space: this.activeSpace ?? null, id });
    return r ? this.record(r, now) : undefined;
  }

  list(q: ListQuery, now = Date.now()): { memories: MemoryRecord[]; total: number } {
    const rows = this.st.list.all({ space: this.activeSpace ?? null, persona: q.persona ?? null, subject: q.subject ?? null, limit: q.limit ?? 100, offset: q.offset ?? 0 });
    return { memories: rows.map((r) => this.record(r, now)), total: this.st.listCount.get({ persona: q.persona ?? null, subject: q.subject ?? null }) ?? 0 };
  }

  subjects(persona?: string): Array<{ subject: string; subject_name?: string; count: number }> {
    return this.st.subjects.all({ persona: persona ?? null }).map((s) => ({ subject: s.subject, count: s.count, ...(s.subject_name ? { subject_name: s.subject_name } : {}) }));
  }

  size(persona?: string): number {
    return (persona === undefined ? this.st.count.get() : this.st.countPersona.get(persona)) ?? 0;
  }

  /** Importance after decay at `now` (see the file comment). */
  effectiveImportance(r: Pick<Row, 'importance' | 'pinned' | 'updated_at' | 'last_accessed_at'>, now: number): number {
    if (r.pinned) return r.importance;
    const since = Math.max(r.updated_at, r.last_accessed_at ?? 0);
    return clamp01(r.importance * Math.pow(0.5, Math.max(0, now - since) / this.halfLifeMs));
  }

  private record(r: Row, now: number): MemoryRecord {
    return {
      id: r.id,
      persona: r.persona,
      subject: r.subject,
      ...(r.subject_name !== null ? { subject_name: r.subject_name } : {}),
      kind: r.kind as MemoryRecord['kind'],
      text: r.text,
      importance: r.importance,
      pinned: r.pinned === 1,
      access_count: r.access_count,
      created_at: r.created_at,
      updated_at: r.updated_at,
      ...(r.last_accessed_at !== null ? { last_accessed_at: r.last_accessed_at } : {}),
      ...(r.source_session !== null ? { source_session: r.source_session } : {}),
      ...(r.source_turn !== null ? { source_turn: r.source_turn } : {}),
      effective_importance: round3(this.effectiveImportance(r, now)),
      ...(r.has_vector !== undefined ? { has_vector: r.has_vector === 1 } : {}),
    };
  }

  // --- search -------------------------------------------------------------------------------------

  search(q: SearchQuery): SearchResult {
    const now = q.now ?? Date.now();
    const mode = q.mode ?? 'hybrid';
    // No subject allowed: nothing to find (and `IN ()` is no SQL).
    if (q.k <= 0 || q.subjects?.length === 0) return { items: [], mode: 'keyword' };
    const candidates = q.candidates ?? Math.max(4 * q.k, 20);

    const rankings: Array<Map<number, number>> = [];
    /** The better of each memory's absolute relevance signals, 0..1. */
    const quality = new Map<number, number>();
    const note = (id: number, x: number) => quality.set(id, Math.max(quality.get(id) ?? 0, clamp01(x)));

    let usedVector = false;
    const space = q.vector ? this.spaces.get(q.vector.space) : undefined;
    if (mode !== 'keyword' && q.vector && space?.dim) {
      usedVector = true;
      const near = this.knn(space, q.vector.vec, q.persona, q.subjects, candidates);
      const kept = near.filter((n) => n.sim >= this.minSimilarity);
      rankings.push(new Map(kept.map((n, i) => [n.id, i + 1])));
      for (const n of kept) note(n.id, (n.sim - this.minSimilarity) / (1 - this.minSimilarity));
    }
    if (mode !== 'vector') {
      const match = this.keywordMatch(q.text);
      if (match) {
        const wanted = termSet(q.text);
        // The floor for this query: the Latin and CJK floors in proportion of its terms.
        let cjk = 0;
        for (const t of wanted) if (CJK_TERM.test(t)) cjk++;
        const floor = (this.minCoverage * (wanted.size - cjk) + this.minCoverageCjk * cjk) / wanted.size;
        const kept: number[] = [];
        for (const r of this.keywordRanking(match, q.persona, q.subjects, q.kinds, candidates)) {
          const have = new Set(r.terms.split(' '));
          let shared = 0;
          for (const t of wanted) if (have.has(t)) shared++;
          const coverage = shared / wanted.size;
          if (coverage < floor) continue;
          kept.push(r.id);
          note(r.id, coverage);
        }
        rankings.push(new Map(kept.map((id, i) => [id, i + 1])));
      } else {
        rankings.push(new Map());
      }
    }
    const fused = new Map<number, number>();
    for (const ranking of rankings) for (const [id, rank] of ranking) fused.set(id, (fused.get(id) ?? 0) + 1 / (RRF_K + rank));
    const best = rankings.length / (RRF_K + 1);
    if (fused.size === 0) return { items: [], mode: usedVector ? 'vector' : 'keyword' };

    const rows = this.st.byIds.all(JSON.stringify([...fused.keys()]));
    const items: SearchResult['items'] = [];
    for (const r of rows) {
      if (q.kinds && !q.kinds.includes(r.kind as MemoryKind)) continue;
      const relevance = 0.5 * (fused.get(r.id)! / best) + 0.5 * (quality.get(r.id) ?? 0);
      const recency = r.pinned ? 1 : Math.pow(0.5, Math.max(0, now - r.updated_at) / this.halfLifeMs);
      const score = relevance * (0.7 + 0.3 * this.effectiveImportance(r, now)) * (0.85 + 0.15 * recency);
      if (score < MIN_SCORE) continue;
      items.push({
        id: r.id,
        text: r.text,
        subject: r.subject,
        ...(r.subject_name !== null ? { subject_name: r.subject_name } : {}),
        kind: r.kind as MemoryKind,
        score: round3(score),
        updated_at: r.updated_at,
        importance: r.importance,
        pinned: r.pinned === 1,
      });
    }
    items.sort((a, b) => b.score - a.score || b.updated_at - a.updated_at);
    const out: SearchResult['items'] = [];
    for (const it of items) {
      if (out.length >= q.k) break;
      if (!out.some((o) => o.text === it.text)) out.push(it);
    }
    return { items: out, mode: usedVector ? 'vector' : 'keyword' };
  }

  /**
   * The FTS5 query for a text: its terms OR-ed (matchQuery), without those in more than
   * COMMON_TERM_DOCS memories — FTS5 scores every match before ranking, and such a term ("name",
   * "like" at 100k memories) adds little to BM25 (its IDF is low); bench:memory's keyword p95 at
   * 100k went from 17.8 to 8.3 ms with it — unless all its terms are that common (then the
   * rarest one). The coverage floor still counts every term of the query.
   */
  private keywordMatch(text: string): string | undefined {
    const all = matchQuery(text);
    if (!all) return undefined;
    const freq = [...termSet(text)].slice(0, 32).map((t) => ({ t, doc: this.st.docFreq.get(t) ?? 0 })).filter((f) => f.doc > 0);
    if (freq.length === 0) return undefined;
    let keep = freq.filter((f) => f.doc <= this.commonTermDocs);
    if (keep.length === 0) keep = [freq.sort((a, b) => a.doc - b.doc)[0]!];
    return keep.map(({ t }) => `"${t.replace(/"/g, '""')}"`).join(' OR ');
  }

  /**
   * The best `limit` BM25 matches in scope. The matches of all personas and subjects are ranked
   * first (FTS5 alone), then their scope is checked in slices of KEYWORD_SLICE, up to KEYWORD_POOL:
   * joining the memories to every match before the ranking took ~10x longer for a common term at
   * 100k memories. An in-scope memory ranked below the pool is not found by keywords (its vector
   * may still find it).
   */
  private keywordRanking(match: string, persona: string, subjects: readonly string[] | undefined, kinds: readonly MemoryKind[] | undefined, limit: number) {
    const allowed = subjects ? new Set(subjects) : undefined;
    const pool = this.st.ftsTop.all(match, Math.max(KEYWORD_POOL, limit * 25));
    const out: Array<{ id: number; terms: string }> = [];
    for (let i = 0; i < pool.length && out.length < limit; i += KEYWORD_SLICE) {
      const slice = pool.slice(i, i + KEYWORD_SLICE);
      const rows = new Map(this.st.scopeOf.all(JSON.stringify(slice.map((p) => p.id))).map((r) => [r.id, r]));
      for (const p of slice) {
        const r = rows.get(p.id);
        if (!r || r.persona !== persona || (allowed && !allowed.has(r.subject)) || (kinds && !kinds.includes(r.kind as MemoryKind))) continue;
        out.push(r);
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  /**
   * The `limit` nearest memories in scope by exact cosine. Subjects with few memories (a viewer's)
   * are compared one by one, exactly; the others (streamer, avatar, world, or all when no scope is
   * given) through one KNN over the persona's one-bit vectors, wider than `limit`, whose results
   * are filtered by subject here (a big subject that is a small share of the persona's memories
   * may so get fewer than `limit` candidates). vec0 can filter by its subject column itself, but that doubled
   * the scan at 100k memories (measured), and a viewer's handful of memories would need a much
   * wider KNN to be sure to show up among everyone's.
   */
  private knn(space: Space, vec: Float32Array, persona: string, subjects: readonly string[] | undefined, limit: number): Array<{ id: number; sim: number }> {
    const scored: Array<{ id: number; sim: number }> = [];
    const big: number[] = [];
    for (const subject of subjects ?? []) {
      const subjectId = this.st.subjectId.get(subject);
      // No memory of this subject has ever had a vector.
      if (subjectId === undefined) continue;
      if ((this.st.subjectSize.get(persona, subject, this.smallSubject + 1) ?? 0) > this.smallSubject) {
        big.push(subjectId);
        continue;
      }
      for (const r of this.st.subjectVectors.iterate(space.id, persona, subject)) scored.push({ id: r.id, sim: cosine(vec, r.vec) });
    }
    if (!subjects || big.length > 0) {
      const allowed = new Set(big);
      // vec0's scan costs grow with k (k = 400 took ~4x k = 100 at 100k memories, measured): the
      // big subjects of a turn's scope (streamer, avatar, world) are a good part of the persona's
      // memories, so a k of 5x the candidates leaves enough of them after the subject filter.
      const k = Math.min(MAX_KNN, Math.max(limit * 5, 100));
      const near = this.vecSql(`SELECT id, subject_id FROM ${vecTable(space.id)} WHERE embedding MATCH vec_quantize_binary(?) AND k = ? AND persona = ?`).all(
        padded(vec),
        k,
        persona,
      ) as Array<{ id: number; subject_id: number }>;
      for (const n of near) {
        if (subjects && !allowed.has(n.subject_id)) continue;
        // Point reads by (space, memory): an IN list let the planner scan the whole space instead.
        const blob = this.st.vectorRow.get(space.id, n.id)?.vec;
        if (blob) scored.push({ id: n.id, sim: cosine(vec, blob) });
      }
    }
    scored.sort((a, b) => b.sim - a.sim);
    return scored.slice(0, limit);
  }

  /**
   * A memory of the persona about the subject that says the same as `text`: the same canonical text,
   * or term-set Jaccard >= DUPLICATE_JACCARD. Such a memory holds at least that share of the n terms,
   * so it has one of ANY n - ceil(0.8 n) + 1 of them: the candidates are the memories with one of
   * that many of the RAREST terms, which keeps the lookup small however big the store grows.
   */
  findDuplicate(persona: string, subject: string, text: string): number | undefined {
    const same = this.st.byCanon.get(persona, canonical(text), subject);
    if (same !== undefined) return same;
    const mine = termSet(text);
    const n = mine.size;
    if (n === 0) return undefined;
    const need = n - Math.ceil(DUPLICATE_JACCARD * n) + 1;
    const rarest = [...mine]
      .map((t) => ({ t, doc: this.st.docFreq.get(t) ?? 0 }))
      .sort((a, b) => a.doc - b.doc)
      .slice(0, need);
    if (rarest[0]!.doc === 0 && need === 1) return undefined;
    const match = rarest.map(({ t }) => `"${t.replace(/"/g, '""')}"`).join(' OR ');
    for (const c of this.st.anyOf.all(match, persona, subject, DUPLICATE_CANDIDATES)) {
      if (jaccard(mine, new Set(c.terms.split(' '))) >= DUPLICATE_JACCARD) return c.id;
    }
    return undefined;
  }

  // --- vectors ------------------------------------------------------------------------------------

  private vecSql(sql: string): Statement {
    let st = this.vecStatements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.vecStatements.set(sql, st);
    }
    return st;
  }

  private deleteVecRow(s: Space, id: number): void {
    this.vecSql(`DELETE FROM ${vecTable(s.id)} WHERE id = ?`).run(BigInt(id));
  }

  /** `fresh`: the memory has no row in the space yet (nothing to delete first). */
  private writeVecRow(s: Space, id: number, vec: Float32Array, persona: string, subject: string, fresh = false): void {
    if (!fresh) this.deleteVecRow(s, id);
    this.st.addSubject.run(subject);
    const subjectId = BigInt(this.st.subjectId.get(subject)!);
    this.vecSql(`INSERT INTO ${vecTable(s.id)} (id, embedding, persona, subject_id) VALUES (?, vec_quantize_binary(?), ?, ?)`).run(BigInt(id), padded(vec), persona, subjectId);
  }

  private putVector(s: Space, id: number, vec: Float32Array, persona: string, subject: string, fresh = false): void {
    if (vec.length !== s.dim) throw new Error(`vector space ${s.space} holds ${s.dim}-d vectors; got ${vec.length}`);
    this.writeVecRow(s, id, vec, persona, subject, fresh || this.st.vectorRow.get(s.id, id)?.vec == null);
    this.st.putVector.run(s.id, id, encodeVector(vec));
  }

  private removeVectors(id: number): void {
    for (const r of this.st.spacesOf.all(id)) {
      if (r.vec === null) continue;
      const s = this.spaces.all().find((x) => x.id === r.space_id);
      if (s?.dim) this.deleteVecRow(s, id);
    }
    this.st.dropVectors.run(id);
  }

  missingVectors(space: string, limit: number): Array<{ id: number; text: string }> {
    const s = this.spaces.get(space);
    return s ? this.st.missing.all(s.id, limit) : this.st.missingAll.all(limit);
  }

  setVectors(space: string, rows: ReadonlyArray<{ id: number; vec: Float32Array }>): void {
    if (rows.length === 0) return;
    this.tx(() => {
      const s = this.spaces.ensure(space, rows[0]!.vec.length);
      for (const r of rows) {
        const scope = this.st.memoryScope.get(r.id);
        // Deleted while it was being embedded: nothing to keep.
        if (scope) this.putVector(s, r.id, r.vec, scope.persona, scope.subject);
      }
    });
  }

  markUnembeddable(space: string, ids: readonly number[]): void {
    this.tx(() => {
      const s = this.spaces.ensure(space);
      for (const id of ids) {
        if (!this.st.memoryScope.get(id)) continue;
        if (this.st.vectorRow.get(s.id, id)?.vec && s.dim) this.deleteVecRow(s, id);
        this.st.putVector.run(s.id, id, null);
      }
    });
  }

  vectorCount(space: string): number {
    const s = this.spaces.get(space);
    return s ? (this.st.vectorCount.get(s.id) ?? 0) : 0;
  }

  dropOtherSpaces(keep: string): void {
    this.tx(() => {
      for (const s of this.spaces.all()) {
        if (s.space === keep) continue;
        // Statements over a dropped table cannot run again.
        for (const sql of [...this.vecStatements.keys()]) if (sql.includes(`${vecTable(s.id)} `)) this.vecStatements.delete(sql);
        this.spaces.drop(s);
      }
    });
  }

  /** The spaces that hold vectors (for status and tests). */
  vectorSpaces(): string[] {
    return this.spaces.all().map((s) => s.space);
  }

  // --- export / import ----------------------------------------------------------------------------

  exportAll(persona?: string): MemoryExport {
    const memories = this.st.exportRows.all({ persona: persona ?? null }).map((r) => {
      const { id: _id, effective_importance: _e, has_vector: _h, ...rest } = this.record(r, Date.now());
      return rest;
    });
    return { format: 'fav-memories', version: 1, exported_at: Date.now(), memories };
  }

  importAll(data: MemoryExport, mode: 'merge' | 'replace'): number[] {
    return this.tx(() => {
      if (mode === 'replace') {
        for (const persona of new Set(data.memories.map((m) => m.persona))) for (const id of this.st.idsOfPersona.all(persona)) this.deleteOne(id);
      }
      const added: number[] = [];
      for (const m of data.memories) {
        const text = checkText(m.text);
        checkSubject(m.subject);
        if (mode === 'merge' && this.findDuplicate(m.persona, m.subject, text) !== undefined) continue;
        added.push(
          this.insertRow({
            persona: m.persona,
            subject: m.subject,
            subject_name: m.subject_name ?? null,
            kind: checkKind(m.kind),
            text,
            importance: checkImportance(m.importance),
            pinned: m.pinned ? 1 : 0,
            access_count: m.access_count,
            created_at: m.created_at,
            updated_at: m.updated_at,
            last_accessed_at: m.last_accessed_at ?? null,
            source_session: m.source_session ?? null,
            source_turn: m.source_turn ?? null,
          }),
        );
      }
      return added;
    });
  }

  /** A transaction that leaves the space cache consistent when it rolls back. */
  private tx<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn)();
    } catch (e) {
      this.spaces.reset();
      throw e;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
