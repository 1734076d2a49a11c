/**
 * The OpenAI-compatible speech engine through the real `openai` SDK against the local stand-in
 * (test/helpers/openai-server.ts): streamed PCM with odd chunk boundaries, what is sent, and the
 * failure modes (server down, 401, 400, a stream that breaks mid-sentence, HTML instead of audio),
 * plus abort closing the HTTP request.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { floatToS16 } from '../../../src/workers/audio/pcm.js';
import { OpenAiSpeechEngine } from '../../../src/workers/tts/engines/openai.js';
import { S16Stream } from '../../../src/workers/tts/wav-stream.js';
import { freePort } from '../../helpers/redis-server.js';
import { defaultSpeech, startOpenAiServer, type OpenAiServer } from '../../helpers/openai-server.js';
import { collectTimed, concat, signal } from './helpers.js';

const speechTexts: string[] = [];

describe('openai speech engine', () => {
  let ai: OpenAiServer;
  let engine: OpenAiSpeechEngine;

  beforeAll(async () => {
    ai = await startOpenAiServer({
      speech: (text) => {
        speechTexts.push(text);
        if (text.includes('REFUSE')) throw new Error('Input contains a word this voice will not say.');
        return defaultSpeech(text);
      },
    });
    engine = new OpenAiSpeechEngine({ baseUrl: ai.url, apiKey: 'sk-test', model: 'kokoro' });
    await engine.init();
  });
  afterAll(() => ai?.close());
  beforeEach(() => ai.setOptions({ speechChunkBytes: undefined, speechChunkIntervalMs: undefined, brokenStreamAfter: undefined, garbage: undefined, requireApiKey: undefined, speechFirstByteDelayMs: undefined }));

  it('streams 24 kHz PCM as it arrives, sample-exact across odd chunk boundaries', async () => {
    ai.setOptions({ speechChunkBytes: 4801, speechChunkIntervalMs: 30 });
    const t0 = performance.now();
    const pieces = await collectTimed(engine.synthesize('Hello stream test.', { voice: 'af_heart', rate: 1.25, signal: signal() }));
    expect(pieces.length).toBeGreaterThan(3);
    expect(pieces.every((p) => p.sampleRate === 24000)).toBe(true);
    // The first piece came well before the last: it was not buffered to the end.
    expect(pieces.at(-1)!.at - pieces[0]!.at).toBeGreaterThan(60);
    // (The stand-in applies `speed` only to its own default voice; a custom one is sent as made.)
    const expected = new S16Stream().push(floatToS16(defaultSpeech('Hello stream test.')));
    expect(Array.from(concat(pieces))).toEqual(Array.from(expected));
    const req = ai.requests.at(-1)!;
    expect(req.path).toBe('/v1/audio/speech');
    expect(req.body).toMatchObject({ model: 'kokoro', input: 'Hello stream test.', voice: 'af_heart', response_format: 'pcm', speed: 1.25 });
    expect(req.headers.authorization).toBe('Bearer sk-test');
    console.info(`openai: first piece after ${(pieces[0]!.at - t0).toFixed(1)} ms (stand-in, 30 ms between chunks)`);
  });

  it('reports a refused sentence with the server message', async () => {
    await expect(engine.synthesize('Please REFUSE this.', { voice: 'af_heart', rate: 1, signal: signal() }).next()).rejects.toMatchObject({
      message: expect.stringMatching(/refused the sentence \(400\): Input contains a word this voice will not say\./),
      code: 'tts_failed',
    });
  });

  it('reports a stream that breaks mid-sentence', async () => {
    ai.setOptions({ speechChunkBytes: 2000, speechChunkIntervalMs: 20, brokenStreamAfter: 2 });
    const got: number[] = [];
    const run = (async () => {
      for await (const p of engine.synthesize('This one breaks in the middle.', { voice: 'af_heart', rate: 1, signal: signal() })) got.push(p.samples.length);
    })();
    await expect(run).rejects.toThrow(/the speech stream from http:\/\/127\.0\.0\.1:\d+\/v1 broke after 4000 bytes/);
    expect(got.reduce((a, b) => a + b, 0)).toBe(2000);
  });

  it('refuses an HTML page answered as 200', async () => {
    ai.setOptions({ garbage: true });
    await expect(engine.synthesize('Garbage please.', { voice: 'af_heart', rate: 1, signal: signal() }).next()).rejects.toThrow(/answered text\/html.* instead of audio: <!DOCTYPE html>/);
  });

  it('names the fix for a wrong API key, at start-up and per sentence', async () => {
    ai.setOptions({ requireApiKey: 'sk-right' });
    const e = new OpenAiSpeechEngine({ baseUrl: ai.url, apiKey: 'sk-wrong', model: 'kokoro' });
    const msg = /rejected the API key \(401\): set tts\.openai\.apiKey/;
    await expect(e.init()).rejects.toMatchObject({ message: expect.stringMatching(msg), code: 'tts_unavailable' });
    await expect(e.synthesize('Hi.', { voice: 'alloy', rate: 1, signal: signal() }).next()).rejects.toThrow(msg);
  });

  it('names the fix when the server is down', async () => {
    const url = `http://127.0.0.1:${await freePort()}/v1`;
    const e = new OpenAiSpeechEngine({ baseUrl: url, model: 'kokoro' });
    const msg = `the speech server at ${url} is not reachable: start it (Kokoro-FastAPI, Speaches) or set tts.openai.baseUrl`;
    await expect(e.init()).rejects.toMatchObject({ message: msg, code: 'tts_unavailable' });
    await expect(e.synthesize('Hi.', { voice: 'alloy', rate: 1, signal: signal() }).next()).rejects.toThrow(msg);
  });

  it('aborts mid-stream: the iterator rejects at once and the HTTP request is closed', async () => {
    ai.setOptions({ speechChunkBytes: 4800, speechChunkIntervalMs: 50 });
    const ac = new AbortController();
    const it = engine.synthesize('A long sentence that streams slowly so it can be cut off.', { voice: 'af_heart', rate: 1, signal: ac.signal })[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    const t0 = performance.now();
    ac.abort(new Error('turn cancelled'));
    await expect(it.next()).rejects.toThrow('turn cancelled');
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(250); // the stream would run ~1.5 s more; the printed figure is the measurement
    const req = await ai.waitFor((r) => r.path === '/v1/audio/speech' && r.aborted && r.body?.input === 'A long sentence that streams slowly so it can be cut off.');
    expect(req.completed).toBe(false);
    console.info(`openai: abort took ${ms.toFixed(2)} ms`);
  });
});
