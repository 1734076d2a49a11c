/**
 * The flite engine for real: flite.wasm on its in-memory WASI host, on a worker thread. Audio
 * checked for being speech (pocketsphinx transcribes it back when installed), visemes for sanity,
 * rates, voices, abort, no file descriptor kept per sentence, no WASI warning. The soak with
 * cancels: test/workers/tts/flite-soak.test.ts.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../../src/workers/tts/engine.js';
import { FliteEngine } from '../../../src/workers/tts/engines/flite.js';
import { ConfigSchema } from '../../../src/shared/config.js';
import { encodeWav, envelope } from '../../../src/workers/audio/pcm.js';
import { collect } from './helpers.js';

const POCKETSPHINX = ['/usr/bin/pocketsphinx_continuous', '/usr/local/bin/pocketsphinx_continuous'].find((p) => existsSync(p));

describe('flite engine', () => {
  let engine: FliteEngine;
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);

  beforeAll(async () => {
    process.on('warning', onWarning);
    engine = new FliteEngine({ voice: 'slt' });
    await engine.init();
  });

  afterAll(async () => {
    process.off('warning', onWarning);
    await engine?.dispose();
  });

  it('is what createEngine builds by default', async () => {
    const e = await createEngine(ConfigSchema.parse({ dataDir: tmpdir() }));
    expect(e.name).toBe('flite');
    expect(e.sampleRate).toBe(16000);
  });

  it('speaks a sentence as one 16 kHz piece with sane visemes and a speech envelope', async () => {
    const t0 = performance.now();
    const pieces = await collect(engine.synthesize('Hello there, this is a test of the speech engine.', { voice: 'slt', rate: 1, signal: new AbortController().signal }));
    const ms = performance.now() - t0;
    expect(pieces).toHaveLength(1);
    const { samples, sampleRate, visemes = [] } = pieces[0]!;
    expect(sampleRate).toBe(16000);
    const durMs = (samples.length / sampleRate) * 1000;
    expect(durMs).toBeGreaterThan(1500);
    expect(durMs).toBeLessThan(6000);
    // Visemes: start at 0 in silence, strictly increasing, inside the audio, several mouth shapes.
    expect(visemes[0]).toMatchObject({ t_ms: 0, v: 'sil' });
    for (let i = 1; i < visemes.length; i++) {
      expect(visemes[i]!.t_ms).toBeGreaterThan(visemes[i - 1]!.t_ms);
      expect(visemes[i]!.v).not.toBe(visemes[i - 1]!.v);
    }
    expect(visemes.at(-1)!.t_ms).toBeLessThan(durMs);
    expect(new Set(visemes.map((v) => v.v)).size).toBeGreaterThanOrEqual(5);
    // Envelope: loud in the middle of speech, near silence at the very start.
    const env = envelope(samples, sampleRate, 20);
    expect(Math.max(...env)).toBeGreaterThan(0.3);
    expect(env.filter((v) => v > 0.1).length).toBeGreaterThan(env.length / 3);
    expect(env[0]).toBeLessThan(0.05);
    console.info(`flite: ${durMs.toFixed(0)} ms of audio in ${ms.toFixed(1)} ms (thread ${engine.lastSynthMs.toFixed(1)} ms)`);
  });

  it.skipIf(!POCKETSPHINX)('says the words (pocketsphinx transcribes them back)', async () => {
    const [p] = await collect(engine.synthesize('Hello there, this is a test of the speech engine.', { voice: 'slt', rate: 1, signal: new AbortController().signal }));
    const dir = mkdtempSync(join(tmpdir(), 'fav-tts-asr-'));
    const wav = join(dir, 'x.wav');
    writeFileSync(wav, encodeWav({ samples: p!.samples, sampleRate: p!.sampleRate }));
    const text = await new Promise<string>((resolve, reject) =>
      execFile(POCKETSPHINX!, ['-infile', wav], { timeout: 25_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    expect(text).toMatch(/hello/);
    expect(text).toMatch(/test/);
  }, 30_000);

  it('speaks faster at rate 2 and slower at rate 0.5', async () => {
    const len = async (rate: number) => (await collect(engine.synthesize('One two three four five.', { voice: 'slt', rate, signal: new AbortController().signal })))[0]!.samples.length;
    const [slow, normal, fast] = [await len(0.5), await len(1), await len(2)];
    expect(fast / normal).toBeGreaterThan(0.4);
    expect(fast / normal).toBeLessThan(0.7);
    expect(slow / normal).toBeGreaterThan(1.6);
  });

  it('has the built-in voices at their rates and names the valid ones for a bad one', async () => {
    const kal = (await collect(engine.synthesize('Hi.', { voice: 'kal', rate: 1, signal: new AbortController().signal })))[0]!;
    expect(kal.sampleRate).toBe(8000);
    const awb = (await collect(engine.synthesize('Hi.', { voice: 'awb', rate: 1, signal: new AbortController().signal })))[0]!;
    expect(awb.sampleRate).toBe(16000);
    await expect(new FliteEngine({ voice: 'alice' }).init()).rejects.toThrow('flite has no voice "alice": set tts.voice to one of slt, kal16, rms, awb, kal');
  });

  it('aborts a synthesis at once and works again afterwards', async () => {
    const ac = new AbortController();
    // Ten sentences: flite needs well over 250 ms for them even on a fast machine.
    const long = Array.from({ length: 10 }, (_, i) => `Sentence ${i + 1} keeps flite busy when the abort arrives.`).join(' ');
    const run = collect(engine.synthesize(long, { voice: 'slt', rate: 1, signal: ac.signal }));
    await new Promise((r) => setTimeout(r, 5));
    const t0 = performance.now();
    ac.abort(new Error('turn cancelled'));
    await expect(run).rejects.toThrow('turn cancelled');
    const abortMs = performance.now() - t0;
    expect(abortMs).toBeLessThan(250); // the printed figure is the measurement
    expect((engine as unknown as { thread: unknown }).thread).toBeUndefined(); // the busy thread was ended
    const [again] = await collect(engine.synthesize('Still here.', { voice: 'slt', rate: 1, signal: new AbortController().signal }));
    expect(again!.samples.length).toBeGreaterThan(8000);
    console.info(`flite: abort took ${abortMs.toFixed(2)} ms`);
  });

  it.skipIf(!existsSync('/proc/self/fd'))('keeps no file descriptor per sentence', async () => {
    const open = () => readdirSync('/proc/self/fd').length;
    const before = open();
    for (let i = 0; i < 20; i++) await collect(engine.synthesize('Tidy.', { voice: 'slt', rate: 1, signal: new AbortController().signal }));
    expect(open()).toBeLessThan(before + 5);
  });

  it('runs no node:wasi, so no WASI warning, and leaves other warnings alone', async () => {
    await collect(engine.synthesize('Warnings.', { voice: 'slt', rate: 1, signal: new AbortController().signal }));
    const seen = new Promise<Error>((resolve) => process.once('warning', resolve));
    process.emitWarning('another experimental feature', 'ExperimentalWarning');
    expect((await seen).message).toBe('another experimental feature');
    expect(warnings.filter((w) => /WASI/.test(w.message))).toEqual([]);
  });
});
