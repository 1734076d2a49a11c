/**
 * The embedder as recall uses it: loaded (or downloaded) in the background, warmed up, and only
 * then used for queries; until then, and for a query whose vector is late, recall is keyword-only.
 * An engine that cannot run at start (an Ollama not started yet, a model download that failed) is
 * tried again with a back-off (RETRY_MS doubling up to RETRY_MAX_MS), so it is picked up without a
 * restart of the service once it can run.
 */
import type { Logger } from '../runtime/index.js';
import { withTimeout } from '../runtime/index.js';
import type { Embedder } from './embedders/types.js';

export const RETRY_MS = 15_000;
export const RETRY_MAX_MS = 5 * 60_000;

export interface EngineTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: EngineTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class Engine {
  /** True once loaded and warmed up; until then recall is keyword-only. */
  ready = false;
  /** Why it cannot run now (with the fix, as the embedder words it). */
  error: string | undefined;
  private readonly abort = new AbortController();
  private retry: unknown;
  private retryMs: number;

  constructor(
    readonly embedder: Embedder | undefined,
    private readonly opts: {
      log: Pick<Logger, 'info' | 'warn'>;
      /** Once ready (after each successful start). */
      onReady?(embedder: Embedder): void;
      /** After each failed attempt. */
      onError?(message: string): void;
      timers?: EngineTimers;
      retryMs?: number;
      retryMaxMs?: number;
    },
  ) {
    this.retryMs = opts.retryMs ?? RETRY_MS;
  }

  /** Starts loading in the background; tries again after a failure until it works or `stop()`. */
  start(): void {
    void this.attempt();
  }

  private async attempt(): Promise<void> {
    const { embedder } = this;
    const signal = this.abort.signal;
    if (!embedder || signal.aborted) return;
    try {
      await embedder.ready(signal);
      // The first inference of a freshly loaded model is several times slower than the next ones
      // (kernels compiled, buffers allocated): pay it now rather than in the first turn's recall.
      await embedder.embed(['warming up the memory'], { purpose: 'query', signal });
      if (signal.aborted) return;
      this.ready = true;
      this.error = undefined;
      this.opts.log.info({ engine: embedder.id, dim: embedder.dim }, 'embedder ready');
      this.opts.onReady?.(embedder);
    } catch (e) {
      if (signal.aborted) return;
      this.error = (e as Error).message;
      const wait = this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, this.opts.retryMaxMs ?? RETRY_MAX_MS);
      this.opts.log.warn({ engine: embedder.engine, err: this.error, retry_in_ms: wait }, 'embedder not available; recall by keywords only meanwhile');
      this.opts.onError?.(this.error);
      const timers = this.opts.timers ?? realTimers;
      this.retry = timers.setTimeout(() => {
        this.retry = undefined;
        void this.attempt();
      }, wait);
    }
  }

  /** The query's vector within `budgetMs`, or none (keyword-only). */
  async queryVector(text: string, budgetMs: number): Promise<{ vector?: { space: string; vec: Float32Array }; embed_ms?: number }> {
    if (!this.embedder || !this.ready || budgetMs <= 0) return {};
    const started = performance.now();
    try {
      const out = await withTimeout(this.embedder.embed([text], { purpose: 'query' }), budgetMs);
      const vec = out?.[0];
      return { ...(vec ? { vector: { space: this.embedder.id, vec } } : {}), embed_ms: performance.now() - started };
    } catch (e) {
      this.opts.log.warn({ err: (e as Error).message }, 'query embedding failed; keyword recall for this turn');
      return { embed_ms: performance.now() - started };
    }
  }

  stop(): void {
    this.abort.abort();
    if (this.retry !== undefined) (this.opts.timers ?? realTimers).clearTimeout(this.retry);
    this.retry = undefined;
  }
}
