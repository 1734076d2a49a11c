/**
 * Background embedding of the memories that have no vector in the embedder's space: after a switch
 * of engine (every memory), after a migration or an import, and for memories stored while the
 * embedder was not ready (`kick()`).
 *
 * In batches (default 16), yielding to the event loop between batches so that recalls are served
 * meanwhile (a batch of USE-lite is ~0.6 s of work here; the SQLite part is sub-millisecond).
 * Texts the engine cannot embed (`undefined`) are marked so they are not asked for again. When the
 * engine cannot run (EmbedderError: model missing, server down) the work waits and retries with an
 * exponential back-off; nothing is lost, recall stays keyword-only for the memories not yet done.
 * When every memory has a vector (or is marked) in the space, the vectors of other spaces are
 * dropped. A vector is stored only if its memory's text is still the one that was embedded.
 */
import type { Logger } from '../../runtime/index.js';
import { EmbedderError, type Embedder } from '../embedders/types.js';
import type { MemoryStoreApi } from './types.js';

export interface ReembedTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ReembedOptions {
  batchSize?: number;
  log?: Pick<Logger, 'warn' | 'info' | 'error'>;
  timers?: ReembedTimers;
  /** Lets other work run between batches; default: one turn of the event loop (setImmediate). */
  yieldToLoop?: () => Promise<void>;
  /** First retry after an engine failure, ms; doubled each time up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

const realTimers: ReembedTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class Reembedder {
  private readonly batchSize: number;
  private readonly timers: ReembedTimers;
  private readonly yieldToLoop: () => Promise<void>;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private retryTimer: unknown;
  private failures = 0;
  private again = false;
  private progressNow: { done: number; total: number } | undefined;
  /** The last engine failure, while waiting to retry. */
  lastError: string | undefined;

  constructor(
    private readonly store: MemoryStoreApi,
    private readonly embedder: Embedder,
    private readonly opts: ReembedOptions = {},
  ) {
    this.batchSize = opts.batchSize ?? 16;
    this.timers = opts.timers ?? realTimers;
    this.yieldToLoop = opts.yieldToLoop ?? (() => new Promise((resolve) => setImmediate(resolve)));
    this.backoffMs = opts.backoffMs ?? 2000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 300_000;
  }

  /** For LtmStatus.reembed: done/total of the work under way; undefined when idle. */
  progress(): { done: number; total: number } | undefined {
    return this.progressNow ? { ...this.progressNow } : undefined;
  }

  /** Starts the work (or, running, makes it look again before it stops). Waiting for a retry: waits. */
  kick(): void {
    if (this.abort.signal.aborted || this.retryTimer !== undefined) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves when no batch is under way (a retry may still be scheduled). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops: the batch under way is abandoned, no retry is made. */
  async stop(): Promise<void> {
    this.abort.abort();
    if (this.retryTimer !== undefined) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.settled();
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    try {
      await this.embedder.ready(signal);
      const space = this.embedder.id;
      let done = 0;
      const remaining = () => Math.max(0, this.store.size() - this.store.vectorCount(space));
      if (remaining() > 0) this.progressNow = { done, total: remaining() };
      for (;;) {
        this.again = false;
        const batch = this.store.missingVectors(space, this.batchSize);
        if (batch.length === 0) {
          if (this.again) continue;
          break;
        }
        const vecs = await this.embedder.embed(
          batch.map((m) => m.text),
          { purpose: 'document', signal },
        );
        if (signal.aborted) return;
        const rows: Array<{ id: number; vec: Float32Array }> = [];
        const unembeddable: number[] = [];
        batch.forEach((m, i) => {
          // Edited or deleted while it was being embedded: the next pass takes the new text.
          if (this.store.get(m.id)?.text !== m.text) return;
          const v = vecs[i];
          if (v) rows.push({ id: m.id, vec: v });
          else unembeddable.push(m.id);
        });
        this.store.setVectors(space, rows);
        if (unembeddable.length > 0) this.store.markUnembeddable(space, unembeddable);
        done += batch.length;
        this.progressNow = { done, total: done + remaining() };
        this.failures = 0;
        this.lastError = undefined;
        await this.yieldToLoop();
        if (signal.aborted) return;
      }
      this.store.dropOtherSpaces(space);
      this.progressNow = undefined;
      if (done > 0) this.opts.log?.info({ space, done }, 'memories re-embedded');
    } catch (e) {
      if (signal.aborted) return;
      this.retryLater(e);
    }
  }

  private retryLater(e: unknown): void {
    const delay = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** this.failures);
    this.failures++;
    this.lastError = (e as Error).message;
    if (e instanceof EmbedderError) this.opts.log?.warn({ err: this.lastError, retryInMs: delay }, 'embedder not available; re-embedding waits');
    else this.opts.log?.error({ err: this.lastError, retryInMs: delay }, 're-embedding failed');
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, delay);
  }
}
