/**
 * An OpenAI-compatible `/v1/embeddings` (Ollama nomic-embed-text or bge-m3, LM Studio, llama.cpp,
 * OpenAI) through the project's one `openai` client factory.
 *
 * - `ready()` embeds one probe text: the answer's length is the dimension, part of `id`. A failed
 *   `ready()` is not remembered: the next call asks again (the server may have been started since).
 * - Models trained with task prefixes get them by `purpose` (nomic-embed-text: "search_query: " /
 *   "search_document: "; e5: "query: " / "passage: "); others get the text as it is.
 * - The answer is checked, never trusted: a vector of the wrong length, or with a non-number in it,
 *   makes its text `undefined` (logged); a body with no usable vectors at all, or vectors of another
 *   length than learnt (the server's model was swapped), is an EmbedderError naming what came back.
 *   A text that is empty or blank is not sent.
 */
import type OpenAI from 'openai';
import type { LtmStatus } from '../../../shared/long-term.js';
import { createOpenAiClient, openAiFailure, type Logger } from '../../runtime/index.js';
import { EmbedderError, type EmbedOptions, type EmbedPurpose, type Embedder } from './types.js';

const BATCH = 64;
const PROBE = 'dimension probe';

/** Task prefixes of known model families (matched in the model name, lower case). */
const PREFIXES: Array<{ match: RegExp; query: string; document: string }> = [
  { match: /nomic-embed/, query: 'search_query: ', document: 'search_document: ' },
  { match: /(^|[/-])e5([-.]|$)/, query: 'query: ', document: 'passage: ' },
];

export function taskPrefix(model: string, purpose: EmbedPurpose): string {
  const p = PREFIXES.find((x) => x.match.test(model.toLowerCase()));
  return p ? p[purpose] : '';
}

export interface OpenAiEmbedderOptions {
  baseUrl: string;
  apiKey?: string;
  model: string;
  /** Per request (default 15 s: a cold Ollama loads the model on the first call). */
  timeoutMs?: number;
  log?: Pick<Logger, 'warn' | 'debug'>;
}

export class OpenAiEmbedder implements Embedder {
  readonly engine = 'openai' as const;
  private readonly client: OpenAI;
  private learnt = 0;
  private probing: Promise<void> | undefined;
  private error: string | undefined;

  constructor(private readonly opts: OpenAiEmbedderOptions) {
    this.client = createOpenAiClient({ baseUrl: opts.baseUrl, apiKey: opts.apiKey, timeoutMs: opts.timeoutMs ?? 15_000, log: opts.log });
  }

  get dim(): number {
    return this.learnt;
  }

  get id(): string {
    return `openai:${this.opts.model}:${this.learnt}`;
  }

  ready(signal?: AbortSignal): Promise<void> {
    if (this.learnt > 0) return Promise.resolve();
    this.probing ??= (async () => {
      try {
        const [v] = await this.request([PROBE], signal, 0);
        if (!v) throw new EmbedderError(`the embeddings server at ${this.opts.baseUrl} answered no usable vector for model "${this.opts.model}"`, 'failed');
        this.learnt = v.length;
        this.error = undefined;
      } catch (e) {
        if (!signal?.aborted) this.error = (e as Error).message;
        throw e;
      } finally {
        this.probing = undefined;
      }
    })();
    return this.probing;
  }

  async embed(texts: readonly string[], opts: EmbedOptions): Promise<Array<Float32Array | undefined>> {
    await this.ready(opts.signal);
    const out = new Array<Float32Array | undefined>(texts.length).fill(undefined);
    const prefix = taskPrefix(this.opts.model, opts.purpose);
    const todo = texts.flatMap((t, i) => (typeof t === 'string' && t.trim() !== '' ? [i] : []));
    for (let at = 0; at < todo.length; at += BATCH) {
      const idx = todo.slice(at, at + BATCH);
      const vecs = await this.request(
        idx.map((i) => prefix + texts[i]!),
        opts.signal,
        this.learnt,
      );
      idx.forEach((i, j) => (out[i] = vecs[j]));
    }
    return out;
  }

  /** One request; `dim` 0 takes whatever length the first vector has. */
  private async request(input: string[], signal: AbortSignal | undefined, dim: number): Promise<Array<Float32Array | undefined>> {
    let res: OpenAI.CreateEmbeddingResponse;
    try {
      res = await this.client.embeddings.create({ model: this.opts.model, input, encoding_format: 'float' }, { signal });
    } catch (e) {
      const err = this.failure(e);
      if (err instanceof EmbedderError) this.error = err.message;
      throw err;
    }
    const data = (res as { data?: unknown }).data;
    if (!Array.isArray(data)) throw this.fail(this.garbage(`a body with no "data" list (${JSON.stringify(res).slice(0, 120)})`));
    const out = new Array<Float32Array | undefined>(input.length).fill(undefined);
    let want = dim;
    let wrongLength = 0;
    for (const d of data as Array<{ index?: unknown; embedding?: unknown }>) {
      const i = typeof d?.index === 'number' ? d.index : -1;
      const e = d?.embedding;
      if (i < 0 || i >= input.length || !Array.isArray(e) || e.length === 0 || !e.every((x) => typeof x === 'number' && Number.isFinite(x))) continue;
      want ||= e.length;
      if (e.length !== want) {
        wrongLength++;
        continue;
      }
      out[i] = normalised(e as number[]);
    }
    const got = out.filter(Boolean).length;
    if (got === 0 && wrongLength > 0 && dim > 0)
      throw this.fail(
        `the embeddings model "${this.opts.model}" at ${this.opts.baseUrl} now answers vectors of another length than ${dim}: was the model replaced? Choose the engine again in Settings > Memory so the memories are embedded anew`,
      );
    if (got === 0) throw this.fail(this.garbage('no usable vectors'));
    this.error = undefined;
    if (got < input.length) this.opts.log?.warn({ model: this.opts.model, asked: input.length, usable: got, wrongLength }, 'embeddings answer had unusable vectors; those texts are found by keywords');
    return out;
  }

  private fail(message: string): EmbedderError {
    this.error = message;
    return new EmbedderError(message, 'failed');
  }

  private garbage(what: string): string {
    return (
      `the embeddings server at ${this.opts.baseUrl} answered ${what} for model "${this.opts.model}": is it an OpenAI-compatible /v1/embeddings server? (Ollama's base URL ends in /v1, e.g. http://localhost:11434/v1)`
    );
  }

  private failure(e: unknown): Error {
    const f = openAiFailure(e, this.opts.apiKey);
    const where = `the embeddings server at ${this.opts.baseUrl}`;
    const model = this.opts.model;
    switch (f.kind) {
      case 'aborted':
        return e as Error;
      case 'unreachable':
      case 'host-not-found':
      case 'timeout':
        return new EmbedderError(
          `${where} is not answering (${f.cause ?? f.kind}): start it (Ollama: \`ollama serve\`, then \`ollama pull ${model}\`), fix memory.embedder.baseUrl, or choose the on-device engine in Settings > Memory`,
          'unreachable',
        );
      case 'http':
        if (f.status === 404 || f.code === 'model_not_found')
          return new EmbedderError(`${where} has no embeddings model "${model}" (${f.detail || 'HTTP 404'}): \`ollama pull ${model}\`, or set memory.embedder.model`, 'missing');
        if (f.status === 401 || f.status === 403) return new EmbedderError(`${where} refused the key (HTTP ${f.status}${f.detail ? `: ${f.detail}` : ''}): set memory.embedder.apiKey`, 'failed');
        return new EmbedderError(`${where} failed (HTTP ${f.status}${f.detail ? `: ${f.detail}` : ''}) embedding with "${model}"`, 'failed');
      case 'bad-json':
        return new EmbedderError(this.garbage(`a body that is not JSON (${f.detail.slice(0, 80)})`), 'failed');
      default:
        return new EmbedderError(`${where} failed embedding with "${model}": ${f.detail}`, 'failed');
    }
  }

  state(): Pick<LtmStatus, 'engine_state' | 'engine_error' | 'download'> {
    if (this.error) return { engine_state: 'error', engine_error: this.error };
    if (this.learnt > 0) return { engine_state: 'ready' };
    return { engine_state: 'loading' };
  }

  async close(): Promise<void> {
    // Nothing held: each request is its own (the SDK keeps no socket open between calls).
  }
}

function normalised(v: number[]): Float32Array {
  const out = Float32Array.from(v);
  let n = 0;
  for (let i = 0; i < out.length; i++) n += out[i]! * out[i]!;
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < out.length; i++) out[i]! /= n;
  return out;
}
