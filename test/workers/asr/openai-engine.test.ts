/**
 * The OpenAI-compatible transcription engine through the real `openai` SDK against the local
 * stand-in server: what it uploads (a valid 16 kHz WAV of the audio, model, language), which
 * endpoint and key it uses, and how failures read (bad key, wrong URL or model, unreachable,
 * time-out, server error, abort).
 */
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigSchema, type ConfigInput } from '../../../src/shared/config.js';
import { parseWav } from '../../../src/workers/audio/pcm.js';
import { AsrFailedError, AsrUnavailableError } from '../../../src/workers/asr/engine.js';
import { OpenAiAsrEngine } from '../../../src/workers/asr/openai-engine.js';
import { freePort } from '../../helpers/redis-server.js';
import { startOpenAiServer, type OpenAiServer } from '../../helpers/openai-server.js';
import { SENTENCES, say } from './speech.js';

const log = pino({ level: 'silent' });
const settings = (asr: NonNullable<ConfigInput['asr']>, llm: ConfigInput['llm'] = {}) => ConfigSchema.parse({ dataDir: '/tmp', asr, llm });

async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as Error,
  );
}

let ai: OpenAiServer;
beforeAll(async () => {
  ai = await startOpenAiServer({ transcript: 'turn on the lights in the kitchen' });
});
afterAll(async () => {
  await ai.close();
});
beforeEach(() => {
  ai.setOptions({ status: undefined, requireApiKey: undefined, hangAfterHeaders: undefined, models: undefined, firstTokenDelayMs: undefined });
});

describe('openai transcription engine', () => {
  it('uploads the utterance as a 16 kHz WAV with model and language, and returns the text', async () => {
    const engine = new OpenAiAsrEngine(settings({ engine: 'openai', openai: { baseUrl: ai.url, apiKey: 'sk-test', model: 'whisper-large-v3' } }), { log });
    await engine.init();
    const pcm = say(SENTENCES[0], 'slt');
    const from = ai.requests.length;
    const r = await engine.transcribe(pcm, { language: 'en' });
    expect(r.text).toBe('turn on the lights in the kitchen');
    expect(r.language).toBe('en');
    expect(r.engineMs).toBeGreaterThan(0);
    const req = ai.requests[from]!;
    expect(req.path).toBe('/v1/audio/transcriptions');
    expect(req.headers.authorization).toBe('Bearer sk-test');
    expect(req.body).toMatchObject({ model: 'whisper-large-v3', language: 'en', response_format: 'json' });
    expect(req.file!.name).toBe('audio.wav');
    const wav = parseWav(req.file!.bytes);
    expect(wav.sampleRate).toBe(16_000);
    expect(wav.samples.length).toBe(pcm.length);
    // 16-bit round trip of the same samples.
    let maxDiff = 0;
    for (let i = 0; i < pcm.length; i++) maxDiff = Math.max(maxDiff, Math.abs(wav.samples[i]! - pcm[i]!));
    expect(maxDiff).toBeLessThan(1 / 16000);
    await engine.dispose();
  });

  it("uses the LLM's endpoint and key when asr.openai.baseUrl is not set; no language when none is set", async () => {
    const engine = new OpenAiAsrEngine(settings({ engine: 'openai' }, { preset: 'custom', baseUrl: ai.url, apiKey: 'sk-llm' }), { log });
    await engine.init();
    const from = ai.requests.length;
    await engine.transcribe(say(SENTENCES[1], 'slt'));
    const req = ai.requests[from]!;
    expect(req.headers.authorization).toBe('Bearer sk-llm');
    expect(req.body).toMatchObject({ model: 'whisper-1' });
    expect(req.body).not.toHaveProperty('language');
  });

  it('does not send the LLM key to a different transcription server', async () => {
    const engine = new OpenAiAsrEngine(settings({ engine: 'openai', openai: { baseUrl: ai.url } }, { preset: 'openai', apiKey: 'sk-secret-llm' }), { log });
    await engine.init();
    const from = ai.requests.length;
    await engine.transcribe(say(SENTENCES[2], 'slt'));
    expect(ai.requests[from]!.headers.authorization).not.toContain('sk-secret-llm');
  });

  it('a rejected key reads as such', async () => {
    ai.setOptions({ requireApiKey: 'sk-right' });
    const engine = new OpenAiAsrEngine(settings({ engine: 'openai', openai: { baseUrl: ai.url, apiKey: 'sk-wrong' } }), { log });
    await engine.init();
    const err = await failure(engine.transcribe(say(SENTENCES[3], 'slt')));
    expect(err).toBeInstanceOf(AsrFailedError);
    expect(err.message).toBe('the transcription endpoint rejected the API key (asr.openai.apiKey)');
  });

  it('an unknown model names the settings to check', async () => {
    ai.setOptions({ models: ['whisper-1'] });
    const engine = new OpenAiAsrEngine(settings({ engine: 'openai', openai: { baseUrl: ai.url, model: 'no-such-model' } }), { log });
    await engine.init();
    const err = await failure(engine.transcribe(say(SENTENCES[3], 'slt')));
    expect(err.message).toMatch(/no model "no-such-model" \(HTTP 404.*\): check asr\.openai\.baseUrl and asr\.openai\.model/);
  });

  it('a server error and an unreachable server read clearly', async () => {
    ai.setOptions({ status: 500 });
    const engine = new OpenAiAsrEngine(settings({ engine: 'openai', openai: { baseUrl: ai.url } }), { log });
    await engine.init();
    expect((await failure(engine.transcribe(say(SENTENCES[4], 'slt')))).message).toMatch(new RegExp(`${ai.url.replace(/[.]/g, '\\.')} answered HTTP 500`));
    const gone = `http://127.0.0.1:${await freePort()}/v1`;
    const down = new OpenAiAsrEngine(settings({ engine: 'openai', openai: { baseUrl: gone } }), { log });
    await down.init();
    const err = await failure(down.transcribe(say(SENTENCES[4], 'slt')));
    expect(err.message).toMatch(/is unreachable \(ECONNREFUSED\): is the server running, and is asr\.openai\.baseUrl right\?/);
  }, 20_000);

  it('a server that never answers times out with a message, and abort stops at once', async () => {
    ai.setOptions({ hangAfterHeaders: true });
    const engine = new OpenAiAsrEngine(settings({ engine: 'openai', openai: { baseUrl: ai.url } }), { log, baseTimeoutMs: 300 });
    await engine.init();
    const short = say('hi', 'slt');
    const err = await failure(engine.transcribe(short));
    expect(err.message).toMatch(/did not answer within \d+ s/);
    // The abort's own reason, not the time-out's message: it stopped when aborted, not when the time-out ran out.
    const ac = new AbortController();
    const pending = engine.transcribe(short, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('turn cancelled')), 50);
    await expect(pending).rejects.toThrow('turn cancelled');
  }, 20_000);

  it('without any endpoint, init says what to set', async () => {
    const engine = new OpenAiAsrEngine(settings({ engine: 'openai' }, { preset: 'custom' }), { log });
    await expect(engine.init()).rejects.toThrow(AsrUnavailableError);
    await expect(engine.init()).rejects.toThrow(/set asr\.openai\.baseUrl/);
  });
});
