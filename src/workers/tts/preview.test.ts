/**
 * The voice preview: real flite and espeak-ng give one WAV of the text; an unknown voice fails with
 * the engine's message and a fix; audio past the limit is cut there and the synthesis stopped; an
 * engine that gives nothing in time is aborted (an injected engine, driven by the test's signal).
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../shared/config.js';
import { parseWav } from '../audio/pcm.js';
import type { AudioPiece, SynthOptions, TtsEngine } from './engine.js';
import { espeakVoices, listVoices, preview } from './preview.js';

/** espeak-ng is a system package (the CI setup fails without it; skipped elsewhere). */
const ESPEAK = ['/usr/bin/espeak-ng', '/usr/local/bin/espeak-ng'].some((p) => existsSync(p));
const settings = ConfigSchema.parse({ dataDir: '/tmp/fav-preview-test' });
const wavOf = (b64?: string) => parseWav(Buffer.from(b64 ?? '', 'base64'));

/** Yields `pieces` of 100 ms at 16 kHz, then waits for the abort when `hang` is set. */
function fakeEngine(pieces: number, hang = false, seen: { aborted?: boolean } = {}): TtsEngine {
  return {
    name: 'fake',
    init: async () => undefined,
    async *synthesize(_t: string, o: SynthOptions): AsyncGenerator<AudioPiece> {
      try {
        for (let i = 0; i < pieces; i++) yield { samples: new Float32Array(1600).fill(0.1), sampleRate: 16000 };
        if (hang) await new Promise((_r, reject) => o.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
      } finally {
        seen.aborted = o.signal.aborted;
      }
    },
    dispose: async () => undefined,
  };
}

describe('tts preview', () => {
  it('speaks the text with flite and the chosen voice as one WAV', async () => {
    const a = await preview(settings, { engine: 'flite', voice: 'kal16', text: 'Hello, this is a preview.', rate: 1 });
    expect(a.ok).toBe(true);
    const wav = wavOf(a.wav_b64);
    expect(wav.sampleRate).toBe(16000);
    expect(wav.samples.length).toBeGreaterThan(16000 * 0.5);
    expect(a.duration_ms).toBe(Math.round((wav.samples.length / 16000) * 1000));
  }, 30_000);

  it.skipIf(!ESPEAK)('speaks faster at a higher rate (espeak-ng)', async () => {
    const text = 'The quick brown fox jumps over the lazy dog.';
    const slow = await preview(settings, { engine: 'espeak-ng', voice: 'en-us', text, rate: 0.75 });
    const fast = await preview(settings, { engine: 'espeak-ng', voice: 'en-us', text, rate: 1.5 });
    expect(slow.ok && fast.ok).toBe(true);
    expect(fast.duration_ms!).toBeLessThan(slow.duration_ms! * 0.8);
  }, 30_000);

  it('fails on an unknown voice with the engine message, a code and a fix', async () => {
    const a = await preview(settings, { engine: 'flite', voice: 'nobody', text: 'Hi', rate: 1 });
    expect(a).toMatchObject({ ok: false, code: 'tts_failed' });
    expect(a.error).toContain('flite has no voice "nobody"');
    expect(a.fix).toMatch(/another voice/);
  }, 30_000);

  it('cuts the audio at the limit and stops the synthesis', async () => {
    const seen: { aborted?: boolean } = {};
    const a = await preview(settings, { engine: 'flite', voice: '', text: 'long', rate: 1 }, { maxAudioMs: 350, makeEngine: async () => fakeEngine(10, false, seen) });
    expect(a).toMatchObject({ ok: true, truncated: true, duration_ms: 350 });
    expect(wavOf(a.wav_b64).samples.length).toBe(5600);
    expect(seen.aborted).toBe(true);
  });

  it('gives up on an engine that delivers nothing in time', async () => {
    const seen: { aborted?: boolean } = {};
    const a = await preview(settings, { engine: 'edge', voice: '', text: 'hi', rate: 1 }, { timeoutMs: 50, makeEngine: async () => fakeEngine(0, true, seen) });
    expect(a).toMatchObject({ ok: false, code: 'timeout' });
    expect(a.fix).toMatch(/server/);
    expect(seen.aborted).toBe(true);
  });

  it('lists the voices of every engine, espeak-ng from the program, with what each needs', async () => {
    const engines = await listVoices(settings);
    expect(engines.map((e) => e.engine)).toEqual(['flite', 'espeak-ng', 'edge', 'openai', 'gpt-sovits']);
    expect(engines[0]).toMatchObject({ voices: ['slt', 'kal16', 'rms', 'awb', 'kal'], defaultVoice: 'slt', network: 'none', freeText: false });
    if (ESPEAK) expect(engines[1]!.voices).toContain('en-us');
    expect(engines.find((e) => e.engine === 'edge')).toMatchObject({ network: 'internet', freeText: true, defaultVoice: 'en-US-AriaNeural' });
    const missing = await espeakVoices('/nonexistent/espeak-ng');
    expect(missing).toEqual({ voices: [], problem: 'espeak-ng is not installed: apt install espeak-ng' });
  });
});
