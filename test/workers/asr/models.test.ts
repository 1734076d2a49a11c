/**
 * The model manager's whole download path against a local HTTP server: a small tar.bz2 built here
 * with the layout of a sherpa-onnx release archive, served with Range support; a connection dropped
 * mid-way (resumed), a stalled one, a partial file from an earlier run, a corrupt archive, a wrong
 * checksum, an archive without the model's files, a 404, a broken model folder. Then the sherpa-onnx
 * engine's start-up errors, and recognition itself where a real model folder is given.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../../src/shared/config.js';
import { AsrUnavailableError } from '../../../src/workers/asr/engine.js';
import { ModelError, ModelManager, SHERPA_MODELS, checkModelDir, type DownloadProgress, type ModelSpec } from '../../../src/workers/asr/models.js';
import { SherpaEngine } from '../../../src/workers/asr/sherpa.js';
import { ArchiveServer, buildModelArchive } from './archive-server.js';
import { SENTENCES, say, wordErrors } from './speech.js';

const log = pino({ level: process.env.T_LOG ?? 'silent' });
const SPEC: ModelSpec = SHERPA_MODELS['sense-voice'];

const tmp = mkdtempSync(join(tmpdir(), 'fav-asr-models-'));
const buildArchive = (spec: ModelSpec, files: Record<string, Buffer>) => buildModelArchive(tmp, spec, files);

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let server: ArchiveServer;
let archive: Buffer;
let modelBytes: Buffer;
beforeAll(async () => {
  server = new ArchiveServer();
  await server.start();
  // Random bytes do not compress: the archive is about as large as the model, enough to cut mid-way.
  modelBytes = randomBytes(400_000);
  archive = buildArchive(SPEC, { 'model.int8.onnx': modelBytes, 'tokens.txt': Buffer.from('<blk> 0\n') });
});
afterAll(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  server.files.clear();
  server.served.length = 0;
  server.drop = undefined;
  server.stallAfter = undefined;
});

function manager(dataDir = mkdtempSync(join(tmp, 'data-')), extra: { onProgress?: (p: DownloadProgress) => void; stallMs?: number } = {}): ModelManager {
  return new ModelManager({ dataDir, baseUrl: server.url, log, attempts: 3, ...extra });
}

describe('model manager', () => {
  it('downloads, verifies by extracting, records the sha256 in a manifest and installs atomically', async () => {
    server.files.set(`${SPEC.archive}.tar.bz2`, archive);
    const progress: DownloadProgress[] = [];
    const m = manager(undefined, { onProgress: (p) => progress.push(p) });
    const dir = await m.ensure(SPEC);
    expect(dir).toBe(join(m.root, 'sense-voice'));
    expect(readFileSync(join(dir, 'model.int8.onnx'))).toEqual(modelBytes);
    const manifest = await m.manifest(SPEC);
    expect(manifest).toMatchObject({ name: 'sense-voice', archive: SPEC.archive, url: `${server.url}/${SPEC.archive}.tar.bz2`, sha256: sha256(archive), bytes: archive.length, verified: false });
    expect(progress.at(-1)).toEqual({ model: 'sense-voice', receivedBytes: archive.length, totalBytes: archive.length, done: true });
    // Nothing left behind: no partial download, no temporary folder.
    expect(readdirSync(join(m.root, '.downloads')).filter((f) => f.endsWith('.part'))).toEqual([]);
    expect(readdirSync(m.root).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    // Cached: the next start makes no request.
    const served = server.served.length;
    expect(await m.ensure(SPEC)).toBe(dir);
    expect(server.served.length).toBe(served);
  });

  it('resumes with a Range request after the connection drops mid-way', async () => {
    server.files.set(`${SPEC.archive}.tar.bz2`, archive);
    const cut = Math.floor(archive.length * 0.4);
    server.drop = { after: cut, times: 1 };
    const m = manager();
    const dir = await m.ensure(SPEC);
    expect(server.served.map((s) => s.status)).toEqual([200, 206]);
    // It asks for the rest of what it stored (bytes still in flight when the connection dropped are lost).
    const from = Number(/^bytes=(\d+)-$/.exec(server.served[1]!.range ?? '')?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(cut);
    expect(server.served.reduce((n, s) => n + s.bytes, 0)).toBe(archive.length + (cut - from));
    expect((await m.manifest(SPEC))?.sha256).toBe(sha256(archive));
    expect(readFileSync(join(dir, 'model.int8.onnx'))).toEqual(modelBytes);
  });

  it('gives up on a stalled connection and resumes', async () => {
    server.files.set(`${SPEC.archive}.tar.bz2`, archive);
    server.stallAfter = 100_000;
    const m = manager(undefined, { stallMs: 300 });
    await m.ensure(SPEC);
    expect(server.served[1]!.range).toBe('bytes=100000-');
    expect((await m.manifest(SPEC))?.sha256).toBe(sha256(archive));
  });

  it('resumes a partial file left by an earlier run', async () => {
    server.files.set(`${SPEC.archive}.tar.bz2`, archive);
    const m = manager();
    mkdirSync(join(m.root, '.downloads'), { recursive: true });
    const half = archive.length >> 1;
    writeFileSync(join(m.root, '.downloads', `${SPEC.archive}.tar.bz2.part`), archive.subarray(0, half));
    await m.ensure(SPEC);
    expect(server.served).toHaveLength(1);
    expect(server.served[0]).toMatchObject({ range: `bytes=${half}-`, status: 206, bytes: archive.length - half });
  });

  it('rejects a download whose sha256 differs from the known one, and deletes it', async () => {
    server.files.set(`${SPEC.archive}.tar.bz2`, archive);
    const spec = { ...SPEC, sha256: 'ab'.repeat(32) };
    const m = manager();
    await expect(m.ensure(spec)).rejects.toThrow(new RegExp(`corrupt: sha256 ${sha256(archive)} instead of ${'ab'.repeat(32)}`));
    expect(existsSync(m.dirOf(spec))).toBe(false);
    expect(existsSync(join(m.root, '.downloads', `${SPEC.archive}.tar.bz2.part`))).toBe(false);
    // With the right checksum it is accepted, and the manifest says it was verified.
    await m.ensure({ ...SPEC, sha256: sha256(archive) });
    expect((await m.manifest(SPEC))?.verified).toBe(true);
  });

  it('rejects a corrupt archive (extraction fails) and deletes it so the next start downloads again', async () => {
    const bad = Buffer.from(archive);
    bad.fill(0x5a, 200, 4000);
    server.files.set(`${SPEC.archive}.tar.bz2`, bad);
    const m = manager();
    const err = await m.ensure(SPEC).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(ModelError);
    expect(err!.message).toMatch(/corrupt or not a tar\.bz2 file .*deleted/);
    expect(existsSync(m.dirOf(SPEC))).toBe(false);
    expect(existsSync(join(m.root, '.downloads', `${SPEC.archive}.tar.bz2.part`))).toBe(false);
    expect(readdirSync(m.root).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
  });

  it('rejects an archive that lacks the model files, naming them', async () => {
    server.files.set(`${SPEC.archive}.tar.bz2`, buildArchive(SPEC, { 'model.int8.onnx': randomBytes(1000) }));
    await expect(manager().ensure(SPEC)).rejects.toThrow(/does not contain tokens\.txt/);
  });

  it('says so when the server has no such archive', async () => {
    await expect(manager().ensure(SPEC)).rejects.toThrow(new RegExp(`${SPEC.archive}\\.tar\\.bz2 was not found \\(HTTP 404\\)`));
    expect(server.served).toHaveLength(1); // a 404 is not retried
  });

  it('reports a broken model folder by the file it lacks', async () => {
    const m = manager();
    mkdirSync(m.dirOf(SPEC), { recursive: true });
    writeFileSync(join(m.dirOf(SPEC), 'model.int8.onnx'), 'x');
    await expect(m.ensure(SPEC)).rejects.toThrow(/sense-voice model folder .* is incomplete: tokens\.txt missing\. Delete the folder/);
    expect(() => checkModelDir(m.dirOf(SPEC), SHERPA_MODELS['whisper-tiny'])).toThrow(/tiny-encoder\.int8\.onnx, tiny-decoder\.int8\.onnx, tiny-tokens\.txt missing/);
  });
});

describe('sherpa-onnx engine start-up', () => {
  const settings = (dataDir: string, baseUrl: string) => ConfigSchema.parse({ dataDir, asr: { engine: 'sherpa-onnx', sherpa: { model: 'sense-voice', modelsBaseUrl: baseUrl, numThreads: 1 } } });

  it('a model that cannot be downloaded fails with what to do', async () => {
    const dataDir = mkdtempSync(join(tmp, 'data-'));
    const engine = new SherpaEngine(settings(dataDir, 'http://127.0.0.1:9/asr-models'), { log, modelDir: null });
    const err = await engine.init().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(AsrUnavailableError);
    expect(err!.message).toContain('sherpa-onnx model sense-voice is not downloaded and the download failed');
    expect(err!.message).toContain('set asr.sherpa.modelsBaseUrl');
    expect(err!.message).toContain(`download http://127.0.0.1:9/asr-models/${SPEC.archive}.tar.bz2 and unpack it into ${join(dataDir, 'models', 'asr', 'sense-voice')}`);
  }, 20_000);

  it('downloads the model, then reports a model file sherpa-onnx cannot load', async () => {
    server.files.set(`${SPEC.archive}.tar.bz2`, archive);
    const engine = new SherpaEngine(settings(mkdtempSync(join(tmp, 'data-')), server.url), { log, modelDir: null });
    await expect(engine.init()).rejects.toThrow(/sherpa-onnx could not load the sense-voice model from .*sense-voice/);
    expect(server.served.map((s) => s.status)).toEqual([200]);
  });

  const modelDir = process.env.FAV_SHERPA_MODEL_DIR;
  it.skipIf(!modelDir)('recognises speech with a real model (FAV_SHERPA_MODEL_DIR; no sherpa-onnx model can be downloaded on this machine)', async () => {
    const engine = new SherpaEngine(ConfigSchema.parse({ dataDir: tmp, asr: { engine: 'sherpa-onnx' } }), { log, modelDir });
    await engine.init();
    const r = await engine.transcribe(say(SENTENCES[0], 'slt'));
    expect(wordErrors(SENTENCES[0], r.text).errors).toBeLessThanOrEqual(2);
    await engine.dispose();
  }, 120_000);
});
