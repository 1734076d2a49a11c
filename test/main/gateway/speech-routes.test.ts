/**
 * The speech endpoints end to end: the real gateway asking real tts and asr workers over a real bus
 * (redis-server). Voice previews (WAV of the unsaved choice, engine errors with code and fix, bad
 * bodies, the token), the voice list, the sherpa-onnx model admin against a local release server
 * (progress, cancel, resume, install, delete, a broken folder, unknown names), and what the page is
 * told while the workers are not running.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../../src/main/gateway/server.js';
import { CONFIG_KEY } from '../../../src/shared/bus.js';
import { ConfigSchema } from '../../../src/shared/config.js';
import type { SpeechModelView, TtsVoicesView } from '../../../src/shared/settings-api.js';
import { parseWav } from '../../../src/workers/audio/pcm.js';
import { SHERPA_MODELS } from '../../../src/workers/asr/models.js';
import { Worker } from '../../helpers/worker.js';
import { ArchiveServer, buildModelArchive } from '../../workers/asr/archive-server.js';
import { startBackend, waitFor, type Backend } from '../supervisor/helpers.js';
import { testGatewayDeps } from './helpers.js';

const SPEC = SHERPA_MODELS['sense-voice'];
const tmp = mkdtempSync(join(tmpdir(), 'fav-speech-routes-'));
const dataDir = join(tmp, 'data');
const token = randomBytes(16).toString('hex');

let bus: Backend;
let gateway: Gateway;
let archives: ArchiveServer;
let archive: Buffer;
const workers: Worker[] = [];

const api = (path: string, init: RequestInit = {}, auth = true) =>
  fetch(`${gateway.url}${path}`, { ...init, headers: { ...(auth ? { authorization: `Bearer ${token}` } : {}), ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers } });
const listModels = async () => ((await (await api('/api/speech/models')).json()) as { models: SpeechModelView[] }).models;
const model = async (name = SPEC.name) => (await listModels()).find((m) => m.name === name)!;
const say = (body: Record<string, unknown>) => api('/api/speech/tts/preview', { method: 'POST', body: JSON.stringify(body) });

beforeAll(async () => {
  archives = new ArchiveServer();
  await archives.start();
  archive = buildModelArchive(tmp, SPEC, { 'model.int8.onnx': randomBytes(300_000), 'tokens.txt': Buffer.from('<blk> 0\n') });
  bus = await startBackend('redis-server');
  gateway = await startGateway(testGatewayDeps({ token, speech: { busUrl: bus.url, adminTimeoutMs: 10_000 } }), { host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  for (const w of workers) await w.stop();
  await gateway?.close();
  await bus?.stop();
  await archives?.close();
  rmSync(tmp, { recursive: true, force: true });
}, 30_000);

describe('speech endpoints', () => {
  it('tell the page which service is not running, with the fix', async () => {
    const voices = await api('/api/speech/tts/voices');
    expect(voices.status).toBe(503);
    expect(await voices.json()).toMatchObject({ ok: false, code: 'tts_not_running', fix: expect.stringContaining('Manager') });
    const models = await api('/api/speech/models');
    expect(models.status).toBe(503);
    expect(await models.json()).toMatchObject({ ok: false, code: 'asr_not_running' });
  });

  describe('with the tts and asr workers', () => {
    beforeAll(async () => {
      const redis = new Redis(bus.url);
      await redis.set(CONFIG_KEY, JSON.stringify(ConfigSchema.parse({ dataDir, tts: { engine: 'flite' }, asr: { engine: 'pocketsphinx', sherpa: { modelsBaseUrl: archives.url } } })));
      redis.disconnect();
      const started = await Promise.all(['tts', 'asr'].map((s) => Worker.start(s, bus.url, { graceMs: 8000 })));
      workers.push(...started);
    }, 120_000);

    it('previews the unsaved voice as audio/wav', async () => {
      const res = await say({ engine: 'flite', voice: 'awb', text: 'Hello from the settings page.', rate: 1.2 });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('audio/wav');
      const wav = parseWav(new Uint8Array(await res.arrayBuffer()));
      expect(wav.sampleRate).toBe(16000);
      expect(wav.samples.length).toBeGreaterThan(8000);
      expect(Number(res.headers.get('x-duration-ms'))).toBe(Math.round((wav.samples.length / 16000) * 1000));
    }, 30_000);

    it('answers an engine failure with its code, message and fix; a bad body with 400; no token with 401', async () => {
      const bad = await say({ engine: 'flite', voice: 'nobody', text: 'Hi' });
      expect(bad.status).toBe(422);
      expect(await bad.json()).toMatchObject({ ok: false, code: 'tts_failed', error: expect.stringContaining('no voice "nobody"'), fix: expect.any(String) });
      const empty = await say({ engine: 'flite', voice: '', text: '   ' });
      expect(empty.status).toBe(400);
      expect(await empty.json()).toMatchObject({ code: 'bad_request', error: expect.stringContaining('text') });
      const noToken = await api('/api/speech/tts/preview', { method: 'POST', body: JSON.stringify({ engine: 'flite', text: 'hi' }) }, false);
      expect(noToken.status).toBe(401);
    }, 30_000);

    it('lists the voices by engine', async () => {
      const res = await api('/api/speech/tts/voices');
      const body = (await res.json()) as TtsVoicesView;
      expect(body.engines.find((e) => e.engine === 'flite')).toMatchObject({ voices: ['slt', 'kal16', 'rms', 'awb', 'kal'], network: 'none' });
      expect(body.engines.find((e) => e.engine === 'edge')?.network).toBe('internet');
    });

    it('downloads a model with progress, cancels, resumes, installs and deletes it', async () => {
      archives.files.set(`${SPEC.archive}.tar.bz2`, archive);
      archives.holdAfter = 100_000;
      const started = await api(`/api/speech/models/${SPEC.name}/download`, { method: 'POST' });
      expect(started.status).toBe(200);
      const during = await waitFor(async () => {
        const m = await model();
        return (m.progress?.receivedBytes ?? 0) > 0 ? m : undefined;
      }, 'progress');
      expect(during).toMatchObject({ state: 'downloading', progress: { totalBytes: archive.length } });

      const cancel = await api(`/api/speech/models/${SPEC.name}/download`, { method: 'DELETE' });
      const afterCancel = ((await cancel.json()) as { models: SpeechModelView[] }).models.find((m) => m.name === SPEC.name)!;
      expect(afterCancel.state).toBe('absent');
      expect(afterCancel.partialBytes).toBeGreaterThan(0);
      archives.release();

      await api(`/api/speech/models/${SPEC.name}/download`, { method: 'POST' });
      const installed = await waitFor(async () => {
        const m = await model();
        return m.state === 'installed' ? m : undefined;
      }, 'installed');
      expect(installed.sizeBytes).toBe(archive.length);
      expect(archives.served.at(-1)).toMatchObject({ range: `bytes=${afterCancel.partialBytes}-`, status: 206 });

      const del = await api(`/api/speech/models/${SPEC.name}`, { method: 'DELETE' });
      expect(del.status).toBe(200);
      expect(await model()).toMatchObject({ state: 'absent' });
    }, 60_000);

    it('shows a broken model folder with its fix; unknown names are 404', async () => {
      const dir = join(dataDir, 'models', 'asr', 'whisper-base');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'base-tokens.txt'), 'x');
      expect(await model('whisper-base')).toMatchObject({ state: 'broken', code: 'broken', error: expect.stringContaining('base-encoder.int8.onnx'), fix: expect.any(String) });
      const refused = await api('/api/speech/models/whisper-base/download', { method: 'POST' });
      expect(refused.status).toBe(409);
      const unknown = await api('/api/speech/models/nope/download', { method: 'POST' });
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ code: 'unknown_model', fix: expect.stringContaining('sense-voice') });
    });
  });
});
