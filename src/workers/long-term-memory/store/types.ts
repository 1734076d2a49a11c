/**
 * The long-term memory store's interface (store/memory-store.ts implements it on better-sqlite3 +
 * FTS5 + sqlite-vec `vec0`, `<dataDir>/memory/long-term.db`). Everything is synchronous (SQLite in
 * process); the caller embeds texts first (embedders/) and passes vectors in.
 *
 * Scope: every memory belongs to one persona and is about one subject (long-term.ts). A search
 * names the persona and the subjects it may return.
 *
 * Ranking (search): hybrid retrieval, KNN over the vectors of the embedder in use (when a query
 * vector is given) and BM25 over FTS5 (always), each giving up to `candidates` results within the
 * scope, fused by reciprocal rank fusion, then boosted by effective importance (importance decayed
 * by `decayHalfLifeDays` since last used, unless pinned) and recency; top k above a floor.
 */
import type { MemoryExport, MemoryKind, MemoryPatch, MemoryRecord, NewMemory, RecalledMemory } from '../../../shared/long-term.js';

/** A vector and the embedder id (vector space) it belongs to. */
export interface Vector {
  space: string;
  vec: Float32Array;
}

export interface AddMemory extends NewMemory {
  persona: string;
  source_session?: string;
  source_turn?: string;
  /** Epoch ms; default now. */
  at?: number;
}

export interface SearchQuery {
  persona: string;
  /** Subjects allowed (recallScope(speaker)); all of the persona's when absent. */
  subjects?: readonly string[];
  text: string;
  /** The query's vector in the current space; absent: keyword only. */
  vector?: Vector;
  k: number;
  /** 'hybrid' (default) uses both when a vector is given; the bench also runs each alone. */
  mode?: 'hybrid' | 'vector' | 'keyword';
  /** Candidates per ranking before fusion (default max(4k, 20)). */
  candidates?: number;
  kinds?: readonly MemoryKind[];
  /** Epoch ms for decay and recency; default Date.now(). */
  now?: number;
}

export interface SearchResult {
  items: Array<RecalledMemory & { importance: number; pinned: boolean }>;
  /** 'vector' when a KNN ranking took part. */
  mode: 'vector' | 'keyword';
}

export interface ListQuery {
  persona?: string;
  subject?: string;
  offset?: number;
  limit?: number;
}

export interface MemoryStoreApi {
  /** The space (embedder id) of the engine in use: what `has_vector` in records refers to; unset: not told. */
  activeSpace: string | undefined;
  /** A memory of the persona about the subject saying the same as `text` (canonical text or term Jaccard >= 0.8). */
  findDuplicate(persona: string, subject: string, text: string): number | undefined;
  /** Adds one memory (and its vector, when given). Returns the new id. */
  add(m: AddMemory, vector?: Vector): number;
  /** Changes a memory; a new text needs a new vector (or none: it is re-embedded later). Undefined if no such id. */
  update(id: number, patch: MemoryPatch, vector?: Vector, at?: number): MemoryRecord | undefined;
  delete(id: number): boolean;
  /** Deletes every memory of the persona about the subject; returns how many. */
  forgetSubject(persona: string, subject: string): number;
  get(id: number, now?: number): MemoryRecord | undefined;
  list(q: ListQuery, now?: number): { memories: MemoryRecord[]; total: number };
  subjects(persona?: string): Array<{ subject: string; subject_name?: string; count: number }>;
  search(q: SearchQuery): SearchResult;
  /** The memories were used for a reply: access_count + 1, last_accessed_at = at (slows their decay). */
  touch(ids: readonly number[], at?: number): void;

  /** Vectors: memories with no vector in `space`, oldest first (for the background re-embed). */
  missingVectors(space: string, limit: number): Array<{ id: number; text: string }>;
  setVectors(space: string, rows: ReadonlyArray<{ id: number; vec: Float32Array }>): void;
  /** Marks texts the engine cannot embed, so they are not asked for again in this space. */
  markUnembeddable(space: string, ids: readonly number[]): void;
  /** How many memories have a vector in `space` (or are marked unembeddable there). */
  vectorCount(space: string): number;
  /** Drops the vectors of every other space (after a switch of engine has finished re-embedding). */
  dropOtherSpaces(keep: string): void;

  exportAll(persona?: string): MemoryExport;
  /** Imports (merge: near-duplicates skipped; replace: the file's personas are emptied first). Returns ids added. */
  importAll(data: MemoryExport, mode: 'merge' | 'replace'): number[];
  size(persona?: string): number;
  close(): void;
}
