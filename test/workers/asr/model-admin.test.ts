/**
 * The studio's model admin (model-admin.ts) against a local release server (archive-server.ts)
 * serving a small real tar.bz2: a download's progress, cancel mid-way (the partial file kept), the
 * resume with a Range request and the install; a broken folder shown as broken with its fix and
 * deleted; refusals (unknown model, the model in use, deleting while downloading); a failed download
 * with its error; archive sizes learnt from the server before any download.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigSchema, type ConfigInput } from '../../../src/shared/config.js';
import type { SpeechModelView } from '../../../src/shared/settings-api.js';
import { ModelAdmin, type AdminAnswer } from '../../../src/workers/asr/model-admin.js';
import { SHERPA_MODELS } from '../../../src/workers/asr/models.js';
import { waitFor } from '../../main/supervisor/helpers.js';
import { ArchiveServer, buildModelArchive } from './archive-server.js';

const log = pino({ level: process.env.T_LOG ?? 'silent' });
const SPEC = SHERPA_MODELS['sense-voice'];
const tmp = mkdtempSync(join(tmpdir(), 'fav-model-admin-'));
let server: ArchiveServer;
let archive: Buffer;

beforeAll(async () => {
  server = new ArchiveServer();
  await server.start();
  // Random bytes do not compress: the archive is about 400 kB, enough to hold mid-way.
  archive = buildModelArchive(tmp, SPEC, { 'model.int8.onnx': randomBytes(400_000), 'tokens.txt': Buffer.from('<blk> 0\n') });
});
afterAll(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  server.files.clear();
  server.served.length = 0;
  server.holdAfter = undefined;
});

function admin(asr: ConfigInput['asr'] = {}, probeSizes = false): ModelAdmin {
  const dataDir = mkdtempSync(join(tmp, 'data-'));
  const settings = ConfigSchema.parse({ dataDir, asr: { ...asr, sherpa: { modelsBaseUrl: server.url, ...asr?.sherpa } } });
  return new ModelAdmin({ settings, log, probeSizes, attempts: 2 });
}

const models = (a: AdminAnswer): SpeechModelView[] => {
  if (!a.ok) throw new Error(`${a.code}: ${a.error}`);
  return a.models;
};
const one = (list: SpeechModelView[], name = SPEC.name) => list.find((m) => m.name === name)!;

describe('model admin', () => {
  it('lists every sherpa-onnx model with its languages, none installed in a fresh data dir', async () => {
    const list = models(await admin().handle('list'));
    expect(list.map((m) => m.name)).toEqual(Object.keys(SHERPA_MODELS));
    expect(list.every((m) => m.state === 'absent' && m.languages.length > 0)).toBe(true);
  });

  it('downloads with progress, cancels mid-way keeping the partial file, resumes with a Range request and installs', async () => {
    server.files.set(`${SPEC.archive}.tar.bz2`, archive);
    server.holdAfter = 150_000;
    const a = admin();
    expect(one(models(await a.handle('download', SPEC.name))).state).toBe('downloading');
    // The held response has delivered (part of) its first 150 kB: the list shows it as progress.
    const during = await waitFor(async () => {
      const m = one(await a.list());
      return (m.progress?.receivedBytes ?? 0) > 0 ? m : undefined;
    }, 'progress');
    expect(during).toMatchObject({ state: 'downloading', progress: { totalBytes: archive.length }, sizeBytes: archive.length });
    expect(during.progress!.receivedBytes).toBeLessThanOrEqual(150_000);

    const cancelled = one(models(await a.handle('cancel', SPEC.name)));
    expect(cancelled.state).toBe('absent');
    const kept = cancelled.partialBytes!;
    expect(kept).toBeGreaterThanOrEqual(during.progress!.receivedBytes);
    expect(kept).toBeLessThanOrEqual(150_000);
    expect(cancelled.error).toBeUndefined();
    server.release();

    models(await a.handle('download', SPEC.name));
    const installed = await waitFor(async () => (one(await a.list()).state === 'installed' ? one(await a.list()) : undefined), 'installed');
    expect(installed.sizeBytes).toBe(archive.length);
    expect(installed.partialBytes).toBeUndefined();
    expect(server.served.at(-1)).toMatchObject({ range: `bytes=${kept}-`, status: 206, bytes: archive.length - kept });
    expect(existsSync(join(a.manager.dirOf(SPEC), 'model.int8.onnx'))).toBe(true);

    // Downloading what is installed changes nothing; deleting removes it.
    expect(one(models(await a.handle('download', SPEC.name))).state).toBe('installed');
    expect(one(models(await a.handle('delete', SPEC.name))).state).toBe('absent');
    expect(existsSync(a.manager.dirOf(SPEC))).toBe(false);
  });

  it('shows a folder with a missing file as broken with the fix, refuses to download over it, and deletes it', async () => {
    const a = admin();
    const spec = SHERPA_MODELS['whisper-tiny'];
    mkdirSync(a.manager.dirOf(spec), { recursive: true });
    writeFileSync(join(a.manager.dirOf(spec), 'tiny-tokens.txt'), 'x');
    const broken = one(await a.list(), spec.name);
    expect(broken).toMatchObject({ state: 'broken', code: 'broken', fix: 'delete it here, then download it again' });
    expect(broken.error).toContain('tiny-encoder.int8.onnx');
    const refused = await a.handle('download', spec.name);
    expect(refused).toMatchObject({ ok: false, code: 'broken' });
    expect(one(models(await a.handle('delete', spec.name)), spec.name).state).toBe('absent');
  });

  it('refuses an unknown model, deleting the model in use, and deleting while downloading', async () => {
    const a = admin({ engine: 'sherpa-onnx', sherpa: { model: 'whisper-base' } });
    expect(await a.handle('download', 'nope')).toMatchObject({ ok: false, code: 'unknown_model' });
    expect(one(await a.list(), 'whisper-base').active).toBe(true);
    expect(await a.handle('delete', 'whisper-base')).toMatchObject({ ok: false, code: 'in_use' });

    server.files.set(`${SPEC.archive}.tar.bz2`, archive);
    server.holdAfter = 1000;
    models(await a.handle('download', SPEC.name));
    await waitFor(async () => (one(await a.list()).progress?.receivedBytes ?? 0) > 0, 'first bytes');
    expect(await a.handle('delete', SPEC.name)).toMatchObject({ ok: false, code: 'downloading', fix: 'cancel the download first' });
    await a.close();
    server.release();
    expect(one(await a.list()).state).toBe('absent');
  });

  it('reports a failed download with its error and fix', async () => {
    const a = admin();
    models(await a.handle('download', SPEC.name)); // nothing served: 404
    const failed = await waitFor(async () => (one(await a.list()).code ? one(await a.list()) : undefined), 'the failure');
    expect(failed).toMatchObject({ state: 'absent', code: 'download_failed' });
    expect(failed.error).toContain('404');
    expect(failed.fix).toContain(server.url);
  });

  it('learns archive sizes from the server before any download', async () => {
    const spec = SHERPA_MODELS['whisper-base'];
    server.files.set(`${spec.archive}.tar.bz2`, archive);
    const a = admin({}, true);
    const sized = await waitFor(async () => one(await a.list(), spec.name).sizeBytes, 'the size');
    expect(sized).toBe(archive.length);
    // Only asked: nothing was downloaded.
    expect(one(await a.list(), spec.name)).toMatchObject({ state: 'absent', sizeBytes: archive.length });
    expect(one(await a.list(), spec.name).partialBytes).toBeUndefined();
  });
});
