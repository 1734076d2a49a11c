/**
 * Long-term memory with recall by meaning: the FTS5 store (fts-store.ts) plus embedding vectors
 * from an OpenAI-compatible `/v1/embeddings` endpoint (Ollama, LM Studio, llama.cpp, OpenAI), used
 * whenever the endpoint answers and keyword search otherwise, so recall never depends on it.
 *
 * Writes: the memory is stored (and deduped) by the FTS5 store at once; its vector is computed in the
 * background, in batches, together with any memory still missing one (a restart, a model change,
 * an endpoint that was down), so a write never waits for the endpoint.
 * Recall: the keyword ranking is ready at once; the query's embedding gets `queryBudgetMs` (below
 * memory's recall deadline). When it comes, every stored vector is compared (cosine, brute force
 * over an in-memory matrix: about 1 ms per 10k x 384-d here; a sqlite-vec index can replace it
 * when stores grow past ~100k) and memories with cosine >= MIN_COSINE join the ranking with
 * score 0.85 cosine + 0.15 recency; a memory found both ways keeps the higher score.
 * After an endpoint failure, embeddings are not asked for RETRY_AFTER_MS (keyword search only).
 */
import type OpenAI from 'openai';
import type { LtmWrite } from '../../shared/voice.js';
import { createOpenAiClient, type Logger } from '../runtime/index.js';
import type { LongTermStore, RecallItem, RecallQuery, RememberResult } from './backend.js';
import { MIN_SCORE, RECENCY_HALF_LIFE_MS, type FtsLongTermStore } from './fts-store.js';

export const MIN_COSINE = 0.5;
export const RETRY_AFTER_MS = 30_000;
const BATCH = 32;

export interface EmbeddingOptions {
  baseUrl: string;
  apiKey?: string;
  model: string;
  /** How long a recall waits for the query's embedding before answering with keywords only. */
  queryBudgetMs: number;
  /** Timeout of a background batch request. */
  batchTimeoutMs?: number;
  now?: () => number;
}

interface Entry {
  id: number;
  text: string;
  kind: string;
  last_seen: number;
  vec: Float32Array;
}

function normalised(v: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(v);
  let n = 0;
  for (let i = 0; i < out.length; i++) n += out[i]! * out[i]!;
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < out.length; i++) out[i]! /= n;
  return out;
}

function dot(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export class EmbeddingLongTermStore implements LongTermStore {
  readonly kind = 'fts5+embeddings';
  private readonly client: OpenAI;
  private readonly entries = new Map<number, Entry>();
  private downUntil = 0;
  private flushing: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private readonly abort = new AbortController();
  private readonly now: () => number;

  constructor(
    readonly fts: FtsLongTermStore,
    private readonly opts: EmbeddingOptions,
    private readonly log: Pick<Logger, 'warn' | 'info' | 'debug' | 'error'>,
  ) {
    this.now = opts.now ?? Date.now;
    this.client = createOpenAiClient({ baseUrl: opts.baseUrl, apiKey: opts.apiKey, timeoutMs: opts.batchTimeoutMs ?? 30_000 });
    for (const r of fts.vectors(opts.model)) {
      const vec = new Float32Array(r.vec.buffer.slice(r.vec.byteOffset, r.vec.byteOffset + r.vec.byteLength));
      this.entries.set(r.id, { id: r.id, text: r.text, kind: r.kind, last_seen: r.last_seen, vec });
    }
  }

  /** Memories with a vector in memory. */
  get vectorCount(): number {
    return this.entries.size;
  }

  private get available(): boolean {
    return !this.closed && this.now() >= this.downUntil;
  }

  private failed(e: unknown, what: string): void {
    if (this.closed) return;
    this.downUntil = this.now() + RETRY_AFTER_MS;
    this.log.warn({ err: (e as Error).message, model: this.opts.model, retryInMs: RETRY_AFTER_MS }, `${what} failed; keyword search only for now`);
  }

  private async embed(texts: string[], signal: AbortSignal): Promise<Float32Array[]> {
    const res = await this.client.embeddings.create({ model: this.opts.model, input: texts }, { signal });
    const out = new Array<Float32Array>(texts.length);
    for (const d of res.data) out[d.index] = normalised(d.embedding);
    if (out.some((v) => !v || v.length === 0)) throw new Error('the embeddings answer is missing vectors');
    return out;
  }

  remember(w: LtmWrite): RememberResult {
    const r = this.fts.remember(w);
    if (r.outcome === 'duplicate') {
      const e = this.entries.get(r.id);
      if (e) e.last_seen = Math.max(e.last_seen, w.ts);
    } else if (r.outcome === 'added') {
      void this.flush();
    }
    return r;
  }

  /** Embeds memories that have no vector yet, in batches, in the background (one run at a time). */
  flush(): Promise<void> {
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      // Yield first: a run with nothing to do would otherwise finish (and clear `flushing`)
      // before the assignment below, leaving a settled promise that blocks every later run.
      await Promise.resolve();
      try {
        do {
          this.again = false;
          while (this.available) {
            const todo = this.fts.withoutVector(this.opts.model, BATCH);
            if (todo.length === 0) break;
            let vecs: Float32Array[];
            try {
              vecs = await this.embed(
                todo.map((t) => t.text),
                this.abort.signal,
              );
            } catch (e) {
              this.failed(e, 'embedding memories');
              break;
            }
            if (this.closed) return;
            this.fts.saveVectors(
              this.opts.model,
              todo.map((t, i) => ({ id: t.id, vec: vecs[i]! })),
            );
            for (const [i, t] of todo.entries()) this.entries.set(t.id, { ...t, vec: vecs[i]! });
          }
        } while (this.again && this.available);
      } catch (e) {
        this.log.error({ err: (e as Error).message }, 'embedding backfill failed');
      } finally {
        this.flushing = undefined;
      }
    })();
    return this.flushing;
  }

  async recall(q: RecallQuery): Promise<RecallItem[]> {
    const keyword = this.fts.scored({ ...q, k: q.k * 2 });
    if (!this.available || this.entries.size === 0 || q.query.trim() === '') return keyword.slice(0, q.k).map(({ text, score }) => ({ text, score }));
    const ac = new AbortController();
    const onClose = () => ac.abort();
    this.abort.signal.addEventListener('abort', onClose, { once: true });
    let timer: NodeJS.Timeout | undefined;
    let qv: Float32Array | undefined;
    try {
      qv = await Promise.race([
        this.embed([q.query], ac.signal).then(
          (v) => v[0],
          (e: unknown) => {
            if (!ac.signal.aborted) this.failed(e, 'embedding a recall query');
            return undefined;
          },
        ),
        new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), this.opts.queryBudgetMs))),
      ]);
    } finally {
      clearTimeout(timer);
      ac.abort(); // a late answer is not waited for
      this.abort.signal.removeEventListener('abort', onClose);
    }
    const merged = new Map<number, RecallItem>();
    for (const k of keyword) merged.set(k.id, { text: k.text, score: k.score });
    if (qv) {
      const now = q.now ?? this.now();
      for (const e of this.entries.values()) {
        const cos = dot(qv, e.vec);
        if (cos < MIN_COSINE) continue;
        const recency = Math.pow(0.5, Math.max(0, now - e.last_seen) / RECENCY_HALF_LIFE_MS);
        const score = Math.round((0.85 * cos + 0.15 * recency) * (e.kind === 'assistant' ? 0.9 : 1) * 1000) / 1000;
        const prev = merged.get(e.id);
        if (!prev || prev.score < score) merged.set(e.id, { text: e.text, score });
      }
    } else {
      this.log.debug({ budgetMs: this.opts.queryBudgetMs }, 'query embedding not ready in time; keyword recall only');
    }
    return [...merged.values()]
      .filter((i) => i.score >= MIN_SCORE)
      .sort((a, b) => b.score - a.score)
      .slice(0, q.k);
  }

  size(): number {
    return this.fts.size();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    await this.flushing?.catch(() => undefined);
    this.fts.close();
  }
}
