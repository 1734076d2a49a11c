/**
 * The OpenAI-compatible embedder against the project's local /v1/embeddings stand-in (hashed
 * bag-of-words vectors) with the real `openai` SDK: the dimension learnt from the first answer,
 * task prefixes, and every way a server can fail (down, no such model, garbage, wrong lengths).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbedder } from '../../../../src/workers/long-term-memory/embedders/index.js';
import { OpenAiEmbedder, taskPrefix } from '../../../../src/workers/long-term-memory/embedders/openai.js';
import { EmbedderError } from '../../../../src/workers/long-term-memory/embedders/types.js';
import { startOpenAiServer, type OpenAiServer } from '../../../helpers/openai-server.js';
import { freePort } from '../../../helpers/redis-server.js';

const log = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const q = { purpose: 'query' } as const;
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const inputsSent = (ai: OpenAiServer) => ai.requests.filter((r) => r.path === '/v1/embeddings').map((r) => r.body?.input as string[]);

describe('openai embedder', () => {
  let ai: OpenAiServer;
  beforeAll(async () => {
    ai = await startOpenAiServer({ embeddingDim: 96 });
  });
  afterAll(() => ai.close());
  const reset = (o: Parameters<OpenAiServer['setOptions']>[0] = {}) => {
    ai.requests.length = 0;
    ai.setOptions({ embeddingDim: 96, embeddingFor: undefined, garbage: undefined, status: undefined, models: undefined, ...o });
  };

  it('learns the dimension from the first answer and embeds, normalised, in order; blank texts are not sent', async () => {
    reset();
    const e = createEmbedder({ engine: 'openai', model: 'bge-m3', baseUrl: ai.url, apiKey: undefined }, { dataDir: '/nonexistent', log }) as OpenAiEmbedder;
    expect(e.dim).toBe(0);
    expect(e.state()).toEqual({ engine_state: 'loading' });
    await e.ready();
    expect(e.dim).toBe(96);
    expect(e.id).toBe('openai:bge-m3:96');
    expect(e.state()).toEqual({ engine_state: 'ready' });
    const out = await e.embed(['my cat Miso', '', 'cat Miso is mine', '   ', 'Berlin nurse'], q);
    expect(out.map((v) => v?.length)).toEqual([96, undefined, 96, undefined, 96]);
    for (const v of out.filter(Boolean)) expect(Math.hypot(...v!)).toBeCloseTo(1, 5);
    expect(dot(out[0]!, out[2]!)).toBeGreaterThan(dot(out[0]!, out[4]!));
    expect(inputsSent(ai).at(-1)).toEqual(['my cat Miso', 'cat Miso is mine', 'Berlin nurse']);
  });

  it('sends many texts in batches and keeps their order', async () => {
    reset();
    const e = new OpenAiEmbedder({ baseUrl: ai.url, model: 'm' });
    await e.ready();
    const texts = Array.from({ length: 70 }, (_, i) => `memory number ${i}`);
    const out = await e.embed(texts, { purpose: 'document' });
    expect(inputsSent(ai).slice(-2).map((b) => b.length)).toEqual([64, 6]);
    const [again] = await e.embed([texts[65]!], q);
    expect(dot(out[65]!, again!)).toBeCloseTo(1, 6);
  });

  it('prefixes queries and documents for models trained with task prefixes', async () => {
    reset();
    const nomic = new OpenAiEmbedder({ baseUrl: ai.url, model: 'nomic-embed-text' });
    await nomic.embed(['where is Miso'], { purpose: 'query' });
    await nomic.embed(['Miso is a cat'], { purpose: 'document' });
    expect(inputsSent(ai).slice(-2)).toEqual([['search_query: where is Miso'], ['search_document: Miso is a cat']]);
    expect(taskPrefix('intfloat/multilingual-e5-small', 'document')).toBe('passage: ');
    expect(taskPrefix('bge-m3', 'query')).toBe('');
  });

  it('says the server is down, naming it and the fix, and tries again on the next ready()', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/v1`;
    const e = new OpenAiEmbedder({ baseUrl: url, model: 'nomic-embed-text', timeoutMs: 5000 });
    const err = (await e.ready().catch((x: unknown) => x)) as EmbedderError;
    expect(err).toBeInstanceOf(EmbedderError);
    expect(err.kind).toBe('unreachable');
    expect(err.message).toContain(url);
    expect(err.message).toContain('ollama pull nomic-embed-text');
    expect(e.state()).toMatchObject({ engine_state: 'error', engine_error: err.message });
    const late = await startOpenAiServer({ port, embeddingDim: 48 });
    try {
      await e.ready();
      expect(e.dim).toBe(48);
      expect(e.state()).toEqual({ engine_state: 'ready' });
    } finally {
      await late.close();
    }
    await expect(e.embed(['the server went away again'], q)).rejects.toMatchObject({ kind: 'unreachable' });
    expect(e.state().engine_state).toBe('error');
  });

  it('says when the server lacks the model', async () => {
    reset({ models: ['something-else'] });
    const e = new OpenAiEmbedder({ baseUrl: ai.url, model: 'nomic-embed-text' });
    await expect(e.ready()).rejects.toMatchObject({ kind: 'missing', message: expect.stringContaining('`ollama pull nomic-embed-text`') });
  });

  it('reports a garbage answer or a server error clearly, without crashing', async () => {
    reset({ garbage: true });
    const e = new OpenAiEmbedder({ baseUrl: ai.url, model: 'm' });
    await expect(e.ready()).rejects.toMatchObject({ kind: 'failed', message: expect.stringContaining('OpenAI-compatible /v1/embeddings server') });
    reset({ garbage: '{"object":"list","data":"nope"}', garbageContentType: 'application/json' });
    await expect(e.ready()).rejects.toMatchObject({ kind: 'failed', message: expect.stringContaining('no "data" list') });
    reset({ status: 500 });
    await expect(e.ready()).rejects.toMatchObject({ kind: 'failed', message: expect.stringContaining('HTTP 500') });
    reset();
    await e.ready();
    expect(e.dim).toBe(96);
  });

  it('drops a vector of the wrong length or with non-numbers (that text only), and fails when all change length', async () => {
    reset();
    const e = new OpenAiEmbedder({ baseUrl: ai.url, model: 'm', log });
    await e.ready();
    reset({ embeddingFor: (text, dim) => (text === 'short' ? [1, 2, 3] : text === 'words' ? Array.from({ length: dim }, () => 'x') : Array.from({ length: dim }, (_, i) => i + 1)) });
    const out = await e.embed(['fine', 'short', 'words', 'also fine'], q);
    expect(out.map((v) => v?.length)).toEqual([96, undefined, undefined, 96]);
    reset({ embeddingDim: 32 });
    const err = (await e.embed(['a model swapped on the server'], q).catch((x: unknown) => x)) as EmbedderError;
    expect(err.kind).toBe('failed');
    expect(err.message).toContain('another length than 96');
    expect(e.state()).toMatchObject({ engine_state: 'error' });
  });
});
