/**
 * The ONNX embedder end to end with no internet: a tiny real ONNX model and WordPiece tokenizer
 * (test/helpers/tiny-onnx.ts) served by a local HTTP server laid out like Hugging Face
 * (`/<repo>/resolve/main/<file>`, Range supported), downloaded into a temp data dir, loaded by
 * onnxruntime-node and run: similarity, masking, prefixes, resume, broken and missing files.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tinyOnnxModel } from '../../../helpers/tiny-onnx.js';
import { until } from '../../../helpers/until.js';
import { createEmbedder } from '../../../../src/workers/long-term-memory/embedders/index.js';
import type { OnnxManifest } from '../../../../src/workers/long-term-memory/embedders/model-download.js';
import { OnnxEmbedder } from '../../../../src/workers/long-term-memory/embedders/onnx.js';
import type { OnnxModelSpec } from '../../../../src/workers/long-term-memory/embedders/onnx-models.js';
import { EmbedderError } from '../../../../src/workers/long-term-memory/embedders/types.js';

const WORDS = ['my', 'cat', 'is', 'called', 'miso', 'dog', 'name', 'berlin', 'nurse', 'lives', 'works', 'query', 'passage', '猫', '狗', '叫'];
const DIM = 32;
const tiny = tinyOnnxModel(WORDS, DIM);
const log = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const q = { purpose: 'query' } as const;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

const spec = (name: string, over: Partial<OnnxModelSpec> = {}): OnnxModelSpec => ({
  name,
  repo: `test/${name}`,
  onnx: 'onnx/model_quantized.onnx',
  files: [
    { path: 'tokenizer_config.json', optional: true },
    { path: 'tokenizer.json', approxBytes: tiny.tokenizerJson.length },
    { path: 'onnx/model_quantized.onnx', approxBytes: tiny.onnx.length },
  ],
  dim: DIM,
  pooling: 'mean',
  maxTokens: 32,
  about: 'test',
  ...over,
});
const MODELS: Record<string, OnnxModelSpec> = {
  tiny: spec('tiny'),
  prefixed: spec('prefixed', { prefixes: { query: 'query: ', document: 'passage: ' } }),
  corrupt: spec('corrupt'),
  verified: spec('verified', { files: [{ path: 'tokenizer.json', sha256: sha256(Buffer.from(tiny.tokenizerJson)) }, { path: 'onnx/model_quantized.onnx', sha256: sha256(tiny.onnx) }] }),
  wrongsha: spec('wrongsha', { files: [{ path: 'tokenizer.json' }, { path: 'onnx/model_quantized.onnx', sha256: '0'.repeat(64) }] }),
  nofile: spec('nofile', { files: [{ path: 'tokenizer.json' }, { path: 'onnx/missing.onnx' }], onnx: 'onnx/missing.onnx' }),
};

interface Served {
  path: string;
  range: string | undefined;
  status: number;
}

/**
 * A Hugging Face-like file server. `dropOnce` (url path -> the client's .part file) cuts the next
 * response of a path after half its bytes, once the client has written some of them to its .part
 * file (so the drop really comes mid-file, whatever the timing).
 */
function hfServer() {
  const files = new Map<string, Buffer>();
  const dropOnce = new Map<string, string>();
  /** Paths whose next response sends half its bytes, then waits for the promise before the rest. */
  const holdOnce = new Map<string, Promise<void>>();
  const served: Served[] = [];
  for (const name of Object.keys(MODELS)) {
    files.set(`/test/${name}/resolve/main/tokenizer.json`, Buffer.from(tiny.tokenizerJson));
    files.set(`/test/${name}/resolve/main/onnx/model_quantized.onnx`, name === 'corrupt' ? Buffer.from('this is not an onnx model at all'.repeat(20)) : tiny.onnx);
  }
  const server = http.createServer((req, res) => {
    const path = req.url ?? '';
    const body = files.get(path);
    const range = req.headers.range;
    if (!body) {
      served.push({ path, range, status: 404 });
      res.writeHead(404).end('Entry not found');
      return;
    }
    const from = range ? Number(/bytes=(\d+)-/.exec(range)?.[1] ?? 0) : 0;
    const status = range ? 206 : 200;
    served.push({ path, range, status });
    res.writeHead(status, {
      'content-length': body.length - from,
      ...(range ? { 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` } : {}),
    });
    const hold = holdOnce.get(path);
    if (hold) {
      holdOnce.delete(path);
      const half = from + Math.floor((body.length - from) / 2);
      res.write(body.subarray(from, half));
      void hold.then(() => res.end(body.subarray(half)));
      return;
    }
    const part = dropOnce.get(path);
    if (part) {
      dropOnce.delete(path);
      res.write(body.subarray(from, from + Math.floor((body.length - from) / 2)));
      void until(async () => existsSync(part) && statSync(part).size > 0, 10_000, `${part} written`).then(
        () => res.destroy(),
        () => res.destroy(),
      );
      return;
    }
    res.end(body.subarray(from));
  });
  return { server, files, dropOnce, holdOnce, served };
}

describe('onnx embedder (tiny model from a local server)', () => {
  const hf = hfServer();
  let base = '';
  let dataDir = '';
  const open: OnnxEmbedder[] = [];
  const make = (model: string, attempts = 3) => {
    const e = new OnnxEmbedder({ model, downloadBaseUrl: base, dataDir, log, models: MODELS, download: { attempts, retryBaseMs: 1 } });
    open.push(e);
    return e;
  };

  beforeAll(async () => {
    await new Promise<void>((r) => hf.server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(hf.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    hf.server.closeAllConnections();
    await new Promise((r) => hf.server.close(r));
  });
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'fav-onnx-'));
    hf.served.length = 0;
  });
  afterEach(async () => {
    for (const e of open.splice(0)) await e.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('downloads, records a manifest, loads and embeds: shared words are closer, vectors unit length', async () => {
    const e = createEmbedder({ engine: 'onnx', model: 'tiny', downloadBaseUrl: base }, { dataDir, log, onnx: { models: MODELS } }) as OnnxEmbedder;
    open.push(e);
    expect(e.dim).toBe(0);
    await e.ready();
    expect(e.id).toBe('onnx:tiny:32');
    expect(e.state()).toEqual({ engine_state: 'ready' });
    const dir = join(dataDir, 'models', 'embeddings', 'tiny');
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as OnnxManifest;
    expect(manifest.absent).toEqual(['tokenizer_config.json']);
    expect(manifest.files.map((f) => [f.path, f.sha256, f.verified])).toEqual([
      ['tokenizer.json', sha256(Buffer.from(tiny.tokenizerJson)), false],
      ['onnx/model_quantized.onnx', sha256(tiny.onnx), false],
    ]);
    expect(readdirSync(join(dataDir, 'models', 'embeddings')).sort()).toEqual(['tiny']); // no .tmp or .downloads left

    const [cat, catName, nurse, zhCat] = await e.embed(['my cat is called miso', 'miso is my cat name', 'lives berlin works nurse', '我的猫叫'], q);
    for (const v of [cat, catName, nurse, zhCat]) expect(Math.hypot(...v!)).toBeCloseTo(1, 5);
    expect(dot(cat!, catName!)).toBeGreaterThan(dot(cat!, nurse!) + 0.2);
    expect(zhCat).toHaveLength(DIM); // the tokenizer splits CJK characters: Chinese gets a vector
    expect(await e.embed(['', '  ', null as unknown as string], q)).toEqual([undefined, undefined, undefined]);
  });

  it('reports download progress in state() while the model downloads', async () => {
    let release!: () => void;
    hf.holdOnce.set('/test/tiny/resolve/main/onnx/model_quantized.onnx', new Promise<void>((r) => (release = r)));
    const e = make('tiny');
    const ready = e.ready();
    const during = await until(async () => {
      const s = e.state();
      return s.engine_state === 'downloading' && s.download !== undefined && s.download > 0.3 ? s : undefined;
    }, 10_000, 'download progress');
    expect(during.download).toBeLessThan(1);
    release();
    await ready;
    expect(e.state()).toEqual({ engine_state: 'ready' });
  });

  it('pools over the attention mask: padding in a batch does not change a short text', async () => {
    const e = make('tiny');
    const [alone] = await e.embed(['cat'], q);
    const [short, long] = await e.embed(['cat', 'my dog is called miso and my cat lives in berlin'], q);
    expect(long).toBeDefined();
    expect(dot(alone!, short!)).toBeCloseTo(1, 6);
  });

  it('replaces a crashed model thread at the next call, with the same vectors', async () => {
    const e = make('tiny');
    const [before] = await e.embed(['my cat miso'], q);
    await e.killThread();
    const [after] = await e.embed(['my cat miso'], q);
    expect(dot(before!, after!)).toBeCloseTo(1, 6);
  });

  it('prefixes queries and documents for models trained that way', async () => {
    const plain = make('tiny');
    const prefixed = make('prefixed');
    const [a] = await plain.embed(['cat'], q);
    const [qv] = await prefixed.embed(['cat'], { purpose: 'query' });
    const [dv] = await prefixed.embed(['cat'], { purpose: 'document' });
    const [queryWord] = await plain.embed(['query: cat'], q);
    expect(dot(qv!, queryWord!)).toBeCloseTo(1, 5);
    expect(dot(qv!, dv!)).toBeLessThan(0.9999);
    expect(dot(qv!, a!)).toBeLessThan(0.9999);
  });

  it('resumes a dropped download with a Range request, and never leaves half a model under its name', async () => {
    const model = '/test/tiny/resolve/main/onnx/model_quantized.onnx';
    const part = join(dataDir, 'models', 'embeddings', '.downloads', 'tiny', 'onnx', 'model_quantized.onnx.part');
    hf.dropOnce.set(model, part);
    const first = make('tiny', 1);
    await expect(first.ready()).rejects.toMatchObject({ kind: 'missing', message: expect.stringContaining('resumes at the next start') });
    expect(first.state().engine_state).toBe('error');
    expect(existsSync(join(dataDir, 'models', 'embeddings', 'tiny'))).toBe(false);
    const have = readFileSync(part).length;
    expect(have).toBeGreaterThan(0);
    expect(have).toBeLessThan(tiny.onnx.length);

    const second = make('tiny', 1);
    await second.ready();
    const modelRequests = hf.served.filter((s) => s.path === model);
    expect(modelRequests.map((s) => [s.range, s.status])).toEqual([
      [undefined, 200],
      [`bytes=${have}-`, 206],
    ]);
    expect(readFileSync(join(dataDir, 'models', 'embeddings', 'tiny', 'onnx', 'model_quantized.onnx'))).toEqual(tiny.onnx);
    expect((await second.embed(['cat'], q))[0]).toHaveLength(DIM);
  });

  it('resumes within one run when the connection drops', async () => {
    hf.dropOnce.set('/test/tiny/resolve/main/tokenizer.json', join(dataDir, 'models', 'embeddings', '.downloads', 'tiny', 'tokenizer.json.part'));
    const e = make('tiny', 3);
    await e.ready();
    expect(hf.served.filter((s) => s.path.endsWith('tokenizer.json')).map((s) => s.status)).toEqual([200, 206]);
  });

  it('checks a known sha256, and deletes a download that does not match', async () => {
    await make('verified').ready();
    const m = JSON.parse(readFileSync(join(dataDir, 'models', 'embeddings', 'verified', 'manifest.json'), 'utf8')) as OnnxManifest;
    expect(m.files.every((f) => f.verified)).toBe(true);
    await expect(make('wrongsha').ready()).rejects.toMatchObject({ kind: 'broken', message: expect.stringMatching(/corrupt: sha256 [0-9a-f]{64} instead of 0{64}/) });
    expect(existsSync(join(dataDir, 'models', 'embeddings', '.downloads', 'wrongsha', 'onnx', 'model_quantized.onnx.part'))).toBe(false);
  });

  it('reports a model file onnxruntime cannot load as broken, naming the file and the fix', async () => {
    const e = make('corrupt');
    const err = (await e.ready().catch((x: unknown) => x)) as EmbedderError;
    expect(err).toBeInstanceOf(EmbedderError);
    expect(err.kind).toBe('broken');
    expect(err.message).toContain(join(dataDir, 'models', 'embeddings', 'corrupt', 'onnx', 'model_quantized.onnx'));
    expect(err.message).toContain('delete the folder');
    expect(e.state()).toEqual({ engine_state: 'error', engine_error: err.message });
  });

  it('reports a model folder missing a file as broken', async () => {
    await make('tiny').ready();
    rmSync(join(dataDir, 'models', 'embeddings', 'tiny', 'tokenizer.json'));
    await expect(make('tiny').ready()).rejects.toMatchObject({ kind: 'broken', message: expect.stringMatching(/tokenizer\.json missing\. Delete the folder/) });
  });

  it('says which file the server lacks and what to check', async () => {
    await expect(make('nofile').ready()).rejects.toMatchObject({ kind: 'missing', message: expect.stringContaining('onnx/missing.onnx was not found (HTTP 404)') });
  });

  it('names the known models when the settings name another', async () => {
    const e = make('no-such-model');
    await expect(e.ready()).rejects.toThrow(/unknown ONNX embedding model "no-such-model": memory\.embedder\.onnxModel must be one of tiny, prefixed, corrupt/);
    const real = new OnnxEmbedder({ model: 'nope', downloadBaseUrl: base, dataDir, log });
    await expect(real.ready()).rejects.toThrow(/multilingual-minilm-l12, multilingual-e5-small/);
  });
});
