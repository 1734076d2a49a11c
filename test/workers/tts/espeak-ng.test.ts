/**
 * The espeak-ng engine against the real program (skipped, saying why, where it is not installed),
 * and its start-up errors.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope } from '../../../src/workers/audio/pcm.js';
import { EspeakEngine } from '../../../src/workers/tts/engines/espeak-ng.js';
import { collectTimed, concat, signal } from './helpers.js';

const INSTALLED = ['/usr/bin/espeak-ng', '/usr/local/bin/espeak-ng'].some((p) => existsSync(p));

describe('espeak-ng engine: start-up errors', () => {
  it('names the fix when the program is missing', async () => {
    const e = new EspeakEngine({ voice: 'en-us', bin: '/nonexistent/espeak-ng' });
    await expect(e.init()).rejects.toMatchObject({ message: expect.stringContaining('espeak-ng is not installed: apt install espeak-ng'), code: 'tts_unavailable' });
  });
});

describe.skipIf(!INSTALLED)('espeak-ng engine (needs apt install espeak-ng)', () => {
  let engine: EspeakEngine;
  beforeAll(async () => {
    engine = new EspeakEngine({ voice: 'en-us' });
    await engine.init();
  });
  afterAll(() => engine?.dispose());

  it('speaks a sentence at 22.05 kHz with a speech envelope', async () => {
    const t0 = performance.now();
    const pieces = await collectTimed(engine.synthesize('Hello there, this is espeak speaking.', { voice: 'en-us', rate: 1, signal: signal() }));
    expect(pieces.length).toBeGreaterThan(0);
    expect(pieces[0]!.sampleRate).toBe(22050);
    const all = concat(pieces);
    const durMs = (all.length / 22050) * 1000;
    expect(durMs).toBeGreaterThan(1200);
    expect(durMs).toBeLessThan(5000);
    const env = envelope(all, 22050, 20);
    expect(Math.max(...env)).toBeGreaterThan(0.3);
    console.info(`espeak-ng: first piece after ${(pieces[0]!.at - t0).toFixed(1)} ms, ${durMs.toFixed(0)} ms of audio in ${(pieces.at(-1)!.at - t0).toFixed(1)} ms`);
  });

  it('follows the rate', async () => {
    const len = async (rate: number) => concat(await collectTimed(engine.synthesize('One two three four five six.', { voice: 'en-us', rate, signal: signal() }))).length;
    const normal = await len(1);
    const fast = await len(2);
    expect(fast / normal).toBeLessThan(0.75);
  });

  it('reads text that looks like an option as text', async () => {
    const all = concat(await collectTimed(engine.synthesize('--version -v', { voice: 'en-us', rate: 1, signal: signal() })));
    expect(all.length).toBeGreaterThan(22050 * 0.3);
  });

  it('rejects an unknown voice with a message naming the fix', async () => {
    const e = new EspeakEngine({ voice: 'xx-nope' });
    await expect(e.init()).rejects.toThrow('espeak-ng has no voice "xx-nope": set tts.voice to one listed by `espeak-ng --voices`');
  });

  it('aborts: the process is killed and the iterator rejects at once', async () => {
    const ac = new AbortController();
    const text = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} keeps espeak busy for a while.`).join(' ');
    const it = engine.synthesize(text, { voice: 'en-us', rate: 1, signal: ac.signal })[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    const t0 = performance.now();
    ac.abort(new Error('turn cancelled'));
    await expect((async () => {
      for (;;) if ((await it.next()).done) return;
    })()).rejects.toThrow('turn cancelled');
    expect(performance.now() - t0).toBeLessThan(250);
  });
});
