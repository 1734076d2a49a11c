/**
 * A multilingual sentence model (onnx-models.ts) run on the device by onnxruntime-node, with its
 * tokenizer.json read by `@huggingface/tokenizers`; downloaded once into the data dir
 * (model-download.ts).
 *
 * - Inputs are fed by the names the graph declares (input_ids, attention_mask, and token_type_ids
 *   for BERT-style models), padded to the longest text of the batch; texts are cut to the model's
 *   token length keeping the closing special token.
 * - Pooling over `last_hidden_state`: the mean over the attention mask (padding never counts) or
 *   the first token (CLS), per model; a graph that outputs pooled [batch, dim] vectors is taken as
 *   it is. Vectors are L2-normalised.
 * - The graph runs in a worker thread (onnx-thread.ts: onnxruntime-node computes on the calling JS
 *   thread), so the service's event loop stays free; two intra-op threads by default, the machine
 *   runs other services too. A thread that dies is started again at the next call.
 * - A folder missing a file, a tokenizer.json that does not parse, or a graph onnxruntime cannot
 *   load or run, is EmbedderError('broken') naming the file and the fix (delete the folder, it is
 *   downloaded again).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LtmStatus } from '../../../shared/long-term.js';
import type { Logger } from '../../runtime/index.js';
import { ensureOnnxModel, modelDir, type ModelDownloadOptions } from './model-download.js';
import { ONNX_MODELS, onnxModel, type OnnxModelSpec } from './onnx-models.js';
import { OnnxThread } from './onnx-thread.js';
import { EmbedderError, type EmbedOptions, type Embedder } from './types.js';

const BATCH = 16;

interface Tok {
  encode(text: string): { ids: number[] };
  token_to_id(token: string): number | undefined;
}

export interface OnnxEmbedderOptions {
  /** A name of `models` (memory.embedder.onnxModel). */
  model: string;
  downloadBaseUrl: string;
  dataDir: string;
  log: Pick<Logger, 'info' | 'warn' | 'debug'>;
  /** The registry (ONNX_MODELS; tests pass their own). */
  models?: Readonly<Record<string, OnnxModelSpec>>;
  download?: Pick<ModelDownloadOptions, 'attempts' | 'stallMs' | 'retryBaseMs'>;
  /** onnxruntime intra-op threads (default 2). */
  threads?: number;
}

interface Loaded {
  spec: OnnxModelSpec;
  modelPath: string;
  thread: OnnxThread;
  tokenizer: Tok;
  padId: number;
  dim: number;
}

export class OnnxEmbedder implements Embedder {
  readonly engine = 'onnx' as const;
  private loaded: Loaded | undefined;
  private loading: Promise<void> | undefined;
  private phase: 'idle' | 'downloading' | 'loading' | 'ready' | 'error' = 'idle';
  private progress: number | undefined;
  private error: string | undefined;
  private closed = false;

  constructor(private readonly opts: OnnxEmbedderOptions) {}

  get dim(): number {
    return this.loaded?.dim ?? 0;
  }

  get id(): string {
    return `onnx:${this.opts.model}:${this.dim}`;
  }

  ready(signal?: AbortSignal): Promise<void> {
    if (this.loaded) return Promise.resolve();
    if (this.closed) return Promise.reject(new EmbedderError('the onnx embedder is closed'));
    this.loading ??= this.load(signal).then(
      (l) => {
        this.loaded = l;
        this.phase = 'ready';
        this.error = undefined;
        this.progress = undefined;
        this.loading = undefined;
      },
      (e: unknown) => {
        this.loading = undefined;
        if (!signal?.aborted) {
          this.phase = 'error';
          this.error = (e as Error).message;
        }
        throw e;
      },
    );
    return this.loading;
  }

  private async load(signal?: AbortSignal): Promise<Loaded> {
    const spec = onnxModel(this.opts.model, this.opts.models ?? ONNX_MODELS);
    this.phase = existsSync(modelDir(this.opts.dataDir, spec)) ? 'loading' : 'downloading';
    const dir = await ensureOnnxModel(spec, {
      dataDir: this.opts.dataDir,
      downloadBaseUrl: this.opts.downloadBaseUrl,
      log: this.opts.log,
      signal,
      ...this.opts.download,
      onProgress: (f) => (this.progress = f),
    });
    this.phase = 'loading';
    this.progress = undefined;
    const broken = (file: string, why: string) =>
      new EmbedderError(`the ${spec.name} embedding model file ${join(dir, file)} ${why}: delete the folder ${dir} to download the model again`, 'broken');

    let tokenizer: Tok;
    try {
      const { Tokenizer } = await import('@huggingface/tokenizers');
      const json: unknown = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8'));
      const config: unknown = await readFile(join(dir, 'tokenizer_config.json'), 'utf8').then(
        (t) => JSON.parse(t) as unknown,
        () => ({}),
      );
      tokenizer = new Tokenizer(json as object, config as object);
    } catch (e) {
      throw broken('tokenizer.json', `cannot be read as a tokenizer (${(e as Error).message.slice(0, 200)})`);
    }

    const modelPath = join(dir, spec.onnx);
    let thread: OnnxThread;
    try {
      thread = await OnnxThread.start(modelPath, this.opts.threads ?? 2);
    } catch (e) {
      throw broken(spec.onnx, `cannot be loaded by onnxruntime (${(e as Error).message.slice(0, 200)})`);
    }
    if (!thread.inputNames.includes('input_ids')) {
      await thread.close();
      throw broken(spec.onnx, `has no input_ids input (inputs: ${thread.inputNames.join(', ')})`);
    }
    const padId = ['[PAD]', '<pad>'].map((t) => tokenizer.token_to_id(t)).find((x) => x !== undefined) ?? 0;
    const l: Loaded = { spec, modelPath, thread, tokenizer, padId, dim: 0 };
    // One probe run: the graph really runs, and its vectors have the length the registry says.
    let probe: Float32Array[];
    try {
      probe = await this.run(l, [this.ids(l, 'probe')]);
    } catch (e) {
      await thread.close();
      throw broken(spec.onnx, `does not run (${(e as Error).message.slice(0, 200)})`);
    }
    l.dim = probe[0]!.length;
    if (l.dim !== spec.dim) {
      await thread.close();
      throw broken(spec.onnx, `gives ${l.dim}-d vectors, not the ${spec.dim} of ${spec.name}`);
    }
    this.opts.log.info({ model: spec.name, dir: modelDir(this.opts.dataDir, spec), dim: l.dim }, 'embedding model loaded');
    return l;
  }

  private ids(l: Loaded, text: string): number[] {
    // Far more characters than tokens kept are never needed (and only cost tokenizing time).
    const ids = l.tokenizer.encode(text.slice(0, l.spec.maxTokens * 16)).ids;
    const max = l.spec.maxTokens;
    return ids.length <= max ? ids : [...ids.slice(0, max - 1), ids[ids.length - 1]!];
  }

  /** One batch through the graph: padded, masked, pooled, normalised. */
  private async run(l: Loaded, batch: number[][]): Promise<Float32Array[]> {
    const n = batch.length;
    const len = Math.max(1, ...batch.map((b) => b.length));
    const ids = new BigInt64Array(n * len).fill(BigInt(l.padId));
    const mask = new BigInt64Array(n * len);
    batch.forEach((b, i) =>
      b.forEach((id, j) => {
        ids[i * len + j] = BigInt(id);
        mask[i * len + j] = 1n;
      }),
    );
    if (!l.thread.alive) l.thread = await OnnxThread.start(l.modelPath, this.opts.threads ?? 2);
    const { data, dims } = await l.thread.run(ids, mask.slice(), n, len);
    const vecs: Float32Array[] = [];
    if (dims.length === 2) {
      const d = dims[1]!;
      for (let i = 0; i < n; i++) vecs.push(normalised(data.slice(i * d, (i + 1) * d)));
      return vecs;
    }
    if (dims.length !== 3 || dims[0] !== n || dims[1] !== len) throw new Error(`unexpected output shape [${dims.join(', ')}]`);
    const d = dims[2]!;
    for (let i = 0; i < n; i++) {
      const v = new Float32Array(d);
      if (l.spec.pooling === 'cls') v.set(data.subarray(i * len * d, i * len * d + d));
      else {
        let count = 0;
        for (let j = 0; j < len; j++) {
          if (mask[i * len + j] === 0n) continue;
          count++;
          const at = (i * len + j) * d;
          for (let k = 0; k < d; k++) v[k]! += data[at + k]!;
        }
        if (count > 0) for (let k = 0; k < d; k++) v[k]! /= count;
      }
      vecs.push(normalised(v));
    }
    return vecs;
  }

  async embed(texts: readonly string[], opts: EmbedOptions): Promise<Array<Float32Array | undefined>> {
    await this.ready(opts.signal);
    const l = this.loaded!;
    const prefix = l.spec.prefixes?.[opts.purpose] ?? '';
    const out = new Array<Float32Array | undefined>(texts.length).fill(undefined);
    const todo: Array<{ i: number; ids: number[] }> = [];
    texts.forEach((t, i) => {
      if (typeof t !== 'string' || t.trim() === '') return;
      try {
        todo.push({ i, ids: this.ids(l, prefix + t) });
      } catch (e) {
        this.opts.log.debug({ err: (e as Error).message }, 'a text could not be tokenized; no vector for it');
      }
    });
    // Similar lengths together: less padding to compute.
    todo.sort((a, b) => a.ids.length - b.ids.length);
    for (let at = 0; at < todo.length; at += BATCH) {
      opts.signal?.throwIfAborted();
      const chunk = todo.slice(at, at + BATCH);
      try {
        const vecs = await this.run(
          l,
          chunk.map((c) => c.ids),
        );
        chunk.forEach((c, j) => (out[c.i] = vecs[j]));
      } catch (e) {
        this.opts.log.warn({ err: (e as Error).message, texts: chunk.length }, 'embedding a batch failed; embedding its texts one by one');
        for (const c of chunk) out[c.i] = await this.run(l, [c.ids]).then((v) => v[0], () => undefined);
      }
    }
    return out;
  }

  state(): Pick<LtmStatus, 'engine_state' | 'engine_error' | 'download'> {
    switch (this.phase) {
      case 'ready':
        return { engine_state: 'ready' };
      case 'error':
        return { engine_state: 'error', engine_error: this.error };
      case 'downloading':
        return { engine_state: 'downloading', ...(this.progress !== undefined ? { download: this.progress } : {}) };
      default:
        return { engine_state: 'loading' };
    }
  }

  /** For tests: kills the model's thread as a crash would. */
  async killThread(): Promise<void> {
    await this.loaded?.thread.kill();
  }

  async close(): Promise<void> {
    this.closed = true;
    const l = this.loaded;
    this.loaded = undefined;
    await l?.thread.close();
  }
}

function normalised(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}
