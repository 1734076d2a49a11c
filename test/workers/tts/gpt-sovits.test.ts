/**
 * The GPT-SoVITS engine against a stand-in of api_v2.py (test/helpers/gpt-sovits-server.ts):
 * streamed WAV (header with zero sizes, then raw PCM), what is sent, the start-up checks and the
 * failure modes (server down, 400 from check_params, inference failing after the 200, a stream
 * that breaks mid-sentence), and abort closing the request. The stand-in itself is checked
 * against the real server's parameter rules.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GptSovitsEngine } from '../../../src/workers/tts/engines/gpt-sovits.js';
import { freePort } from '../../helpers/redis-server.js';
import { sovitsVoice, startGptSovitsServer, type GptSovitsServer } from '../../helpers/gpt-sovits-server.js';
import { collectTimed, concat, signal } from './helpers.js';

const cfg = (url: string, over: Record<string, string> = {}) => ({ url, refAudioPath: '/data/ref.wav', promptText: 'This is my voice.', promptLang: 'en', textLang: 'en', ...over });

describe('gpt-sovits engine', () => {
  let srv: GptSovitsServer;
  let engine: GptSovitsEngine;

  beforeAll(async () => {
    srv = await startGptSovitsServer({ refAudioPaths: ['/data/ref.wav'] });
    engine = new GptSovitsEngine(cfg(srv.url));
    await engine.init();
  });
  afterAll(() => srv?.close());
  beforeEach(() => srv.setOptions({ firstByteDelayMs: undefined, fragmentIntervalMs: undefined, fragmentBytes: undefined, breakAfterFragments: undefined, failWith: undefined }));

  it('streams the 32 kHz answer fragment by fragment and sends what api_v2 expects', async () => {
    srv.setOptions({ fragmentIntervalMs: 40, fragmentBytes: 6401, firstByteDelayMs: 30 });
    const t0 = performance.now();
    const pieces = await collectTimed(engine.synthesize('Hello from the stand-in.', { voice: 'default', rate: 1, signal: signal() }));
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.every((p) => p.sampleRate === 32000)).toBe(true);
    expect(pieces.at(-1)!.at - pieces[0]!.at).toBeGreaterThan(60);
    const all = concat(pieces);
    const src = sovitsVoice('Hello from the stand-in.', 32000);
    expect(all.length).toBe(src.length);
    expect(Math.max(...all.map((v, i) => Math.abs(v - src[i]!)))).toBeLessThan(1e-4);
    const req = srv.requests.at(-1)!;
    expect(req).toMatchObject({ method: 'POST', path: '/tts', status: 200 });
    expect(req.params).toEqual({
      text: 'Hello from the stand-in.',
      text_lang: 'en',
      ref_audio_path: '/data/ref.wav',
      prompt_text: 'This is my voice.',
      prompt_lang: 'en',
      media_type: 'wav',
      streaming_mode: true,
      speed_factor: 1,
    });
    console.info(`gpt-sovits: first piece after ${(pieces[0]!.at - t0).toFixed(1)} ms (stand-in: 30 ms to first byte)`);
  });

  it('passes the rate as speed_factor', async () => {
    const len = async (rate: number) => concat(await collectTimed(engine.synthesize('Speed test sentence.', { voice: 'default', rate, signal: signal() }))).length;
    expect((await len(2)) / (await len(1))).toBeCloseTo(0.5, 1);
  });

  it('reports check_params refusals with the server message', async () => {
    const e = new GptSovitsEngine(cfg(srv.url, { textLang: 'klingon' }));
    await expect(e.synthesize('Hi.', { voice: 'default', rate: 1, signal: signal() }).next()).rejects.toMatchObject({
      message: 'GPT-SoVITS refused the sentence (HTTP 400): text_lang: klingon is not supported in version v2',
      code: 'tts_failed',
    });
  });

  it('explains an inference failure that breaks the stream after the 200', async () => {
    const e = new GptSovitsEngine(cfg(srv.url, { refAudioPath: '/data/missing.wav' }));
    await expect(e.synthesize('Hi.', { voice: 'default', rate: 1, signal: signal() }).next()).rejects.toThrow(
      /GPT-SoVITS: the server failed before sending audio \(.+\): see its console; a wrong tts\.gptSovits\.refAudioPath or language is the usual cause/,
    );
  });

  it('reports a stream that breaks mid-sentence after the audio it got', async () => {
    srv.setOptions({ fragmentIntervalMs: 20, breakAfterFragments: 2 });
    let got = 0;
    const run = (async () => {
      for await (const p of engine.synthesize('This sentence is long enough to break in the middle of it.', { voice: 'default', rate: 1, signal: signal() })) got += p.samples.length;
    })();
    await expect(run).rejects.toThrow(/GPT-SoVITS: the stream broke after \d+ bytes/);
    expect(got).toBe(2 * 6400);
  });

  it('fails start-up with the fix when the server is down or the reference audio is not set', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    await expect(new GptSovitsEngine(cfg(url)).init()).rejects.toMatchObject({
      message: expect.stringMatching(new RegExp(`^the GPT-SoVITS server at ${url} is not reachable \\(ECONNREFUSED\\): start api_v2\\.py or set tts\\.gptSovits\\.url$`)),
      code: 'tts_unavailable',
    });
    await expect(new GptSovitsEngine(cfg(srv.url, { refAudioPath: '' })).init()).rejects.toThrow(/^tts\.gptSovits\.refAudioPath is empty: set it to a 3-10 s reference WAV/);
    // Down after start-up: per sentence.
    await expect(new GptSovitsEngine(cfg(url)).synthesize('Hi.', { voice: 'default', rate: 1, signal: signal() }).next()).rejects.toThrow(/is not reachable/);
  });

  it('aborts mid-stream: rejects at once and closes the request', async () => {
    srv.setOptions({ fragmentIntervalMs: 50 });
    const ac = new AbortController();
    const text = 'A long sentence that the stand-in streams slowly enough to be cut off by the test.';
    const it = engine.synthesize(text, { voice: 'default', rate: 1, signal: ac.signal })[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    const t0 = performance.now();
    ac.abort(new Error('turn cancelled'));
    await expect(it.next()).rejects.toThrow('turn cancelled');
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(250); // the stream would run ~1 s more; the printed figure is the measurement
    await expect.poll(() => srv.requests.find((r) => r.params.text === text)?.aborted).toBe(true);
    console.info(`gpt-sovits: abort took ${ms.toFixed(2)} ms`);
  });
});

describe('gpt-sovits stand-in follows api_v2 rules', () => {
  let srv: GptSovitsServer;
  beforeAll(async () => {
    srv = await startGptSovitsServer();
  });
  afterAll(() => srv?.close());

  const post = (body: unknown) => fetch(`${srv.url}/tts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const ok = { text: 'hi', text_lang: 'en', ref_audio_path: 'r.wav', prompt_lang: 'en' };

  it.each([
    [{ ...ok, ref_audio_path: '' }, 400, { message: 'ref_audio_path is required' }],
    [{ ...ok, text: '' }, 400, { message: 'text is required' }],
    [{ ...ok, prompt_lang: 'xx' }, 400, { message: 'prompt_lang: xx is not supported in version v2' }],
    [{ ...ok, media_type: 'mp3' }, 400, { message: 'media_type: mp3 is not supported' }],
    [{ ...ok, text_split_method: 'cut9' }, 400, { message: 'text_split_method:cut9 is not supported' }],
    [{ ...ok, streaming_mode: 7 }, 400, { message: 'the value of streaming_mode must be 0, 1, 2, 3(int) or true/false(bool)' }],
  ])('POST %j -> %i', async (body, status, answer) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual(answer);
  });

  it('answers 422 for a body of the wrong shape, and a whole WAV when not streaming', async () => {
    const bad = await post('{not json');
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { detail: unknown[] }).detail.length).toBe(1);
    const typed = await post({ ...ok, speed_factor: 'fast' });
    expect(typed.status).toBe(422);
    const wav = await post(ok);
    expect(wav.headers.get('content-type')).toBe('audio/wav');
    const bytes = Buffer.from(await wav.arrayBuffer());
    expect(bytes.toString('latin1', 0, 4)).toBe('RIFF');
    expect(bytes.readUInt32LE(40)).toBe(bytes.length - 44);
  });

  it('answers GET /tts with query parameters (a 500 without text_lang, as api_v2 does)', async () => {
    const res = await fetch(`${srv.url}/tts?text=hi&text_lang=en&ref_audio_path=r.wav&prompt_lang=en&media_type=raw`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/raw');
    expect((await res.arrayBuffer()).byteLength).toBe(sovitsVoice('hi', 32000).length * 2);
    expect((await fetch(`${srv.url}/tts?text=hi`)).status).toBe(500);
    expect((await fetch(`${srv.url}/`)).status).toBe(404);
  });
});
