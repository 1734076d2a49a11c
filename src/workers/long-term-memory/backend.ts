/**
 * What a long-term memory store does, whatever indexes it: keep a memory (or say why not) and find
 * the ones relevant to a query. The FTS5 store (fts-store.ts) works offline with no model; an
 * embeddings store (sqlite-vec + the OpenAI-compatible /v1/embeddings) can implement the same
 * interface and be chosen in index.ts without touching the service.
 */
import type { LtmWrite } from '../../shared/voice.js';

export interface RecallQuery {
  query: string;
  k: number;
  session_id: string;
  /** Epoch ms "now" for recency (tests pass their own). */
  now?: number;
}

export interface RecallItem {
  text: string;
  /** Relevance in [0, 1], higher is better. */
  score: number;
}

/** added: a new memory; duplicate: an existing near-identical one was refreshed; trivial: not kept. */
export type RememberResult = { outcome: 'added'; id: number } | { outcome: 'duplicate'; id: number } | { outcome: 'trivial' };

export interface LongTermStore {
  readonly kind: string;
  remember(write: LtmWrite): RememberResult | Promise<RememberResult>;
  recall(q: RecallQuery): RecallItem[] | Promise<RecallItem[]>;
  /** Number of memories kept. */
  size(): number;
  close(): void | Promise<void>;
}
