/**
 * The pocketsphinx engine against the real Debian pocketsphinx_continuous: word error rate over
 * flite sentences (16 kHz voices), latency from the end of the audio to the text, live streams,
 * requests that give no output, a decoder killed mid-request, abort, and the start-up errors.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsrFailedError, AsrUnavailableError } from '../../../src/workers/asr/engine.js';
import { PocketsphinxEngine, findOnPath } from '../../../src/workers/asr/pocketsphinx.js';
import { RATE, SENTENCES, concat, noise, say, silence, wordErrors } from './speech.js';

const log = pino({ level: 'warn' });
const installed = Boolean(findOnPath('pocketsphinx_continuous'));
const ms = (n: number) => (n / RATE) * 1000;

describe.skipIf(!installed)('pocketsphinx engine', () => {
  let engine: PocketsphinxEngine;
  beforeAll(async () => {
    engine = new PocketsphinxEngine({ log, maxDecoders: 2 });
    await engine.init();
  }, 60_000);
  afterAll(async () => {
    await engine?.dispose();
  });

  it('transcribes 8 flite sentences with a word error rate of at most 20%', async () => {
    let errors = 0;
    let words = 0;
    const latency: number[] = [];
    const lines: string[] = [];
    for (const [i, text] of SENTENCES.slice(0, 8).entries()) {
      const voice = i % 2 ? 'kal16' : 'slt';
      const pcm = say(text, voice);
      const t0 = performance.now();
      const r = await engine.transcribe(pcm);
      latency.push(performance.now() - t0);
      const e = wordErrors(text, r.text);
      errors += e.errors;
      words += e.words;
      expect(r.language).toBe('en');
      expect(r.engineMs).toBeGreaterThan(0);
      lines.push(`${voice} ${Math.round(latency.at(-1)!)} ms for ${Math.round(ms(pcm.length))} ms: "${r.text}"`);
    }
    console.log(`pocketsphinx: WER ${((100 * errors) / words).toFixed(1)}% (${errors}/${words}); end of audio -> text ${latency.map(Math.round).join(', ')} ms\n  ${lines.join('\n  ')}`);
    expect(errors / words).toBeLessThanOrEqual(0.2);
  }, 120_000);

  it('follows a live stream: audio pushed in 20 ms frames, the text comes soon after finish', async () => {
    const text = SENTENCES[9];
    const audio = concat(silence(200), say(text, 'slt'), silence(300));
    const stream = engine.openStream();
    // Real-time-ish: 20 ms frames, pushed in bursts of 5 every 100 ms.
    for (let i = 0; i < audio.length; i += 320) {
      stream.push(audio.subarray(i, i + 320));
      if ((i / 320) % 5 === 4) await new Promise((r) => setTimeout(r, 100));
    }
    const t0 = performance.now();
    const r = await stream.finish();
    const after = performance.now() - t0;
    console.log(`pocketsphinx stream: "${r.text}" ${Math.round(after)} ms after the end of the audio`);
    expect(wordErrors(text, r.text).errors).toBeLessThanOrEqual(2);
  }, 60_000);

  it('gives "" for silence and noise, and keeps answering the next request right', async () => {
    const quiet = await engine.transcribe(silence(1500));
    expect(quiet.text).toBe('');
    const hiss = await engine.transcribe(noise(1500, 0.003, 5));
    expect(wordErrors('', hiss.text).errors).toBeLessThanOrEqual(2);
    const r = await engine.transcribe(say(SENTENCES[10], 'slt'));
    expect(wordErrors(SENTENCES[10], r.text).errors).toBeLessThanOrEqual(2);
  }, 60_000);

  it('serves parallel requests, each with its own text', async () => {
    const texts = [SENTENCES[3], SENTENCES[5], SENTENCES[11]];
    const results = await Promise.all(texts.map((t) => engine.transcribe(say(t, 'slt'))));
    for (const [i, r] of results.entries()) expect(wordErrors(texts[i]!, r.text).errors, r.text).toBeLessThanOrEqual(2);
  }, 60_000);

  it('an aborted request rejects at once; its late output does not leak into the next answer', async () => {
    const ac = new AbortController();
    const first = engine.transcribe(say(SENTENCES[0], 'slt'), { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('turn cancelled')), 20);
    await expect(first).rejects.toThrow('turn cancelled');
    const r = await engine.transcribe(say(SENTENCES[8], 'slt'));
    expect(wordErrors(SENTENCES[8], r.text).errors, r.text).toBeLessThanOrEqual(2);
    expect(r.text).not.toContain('kitchen');
  }, 60_000);

  it('a decoder that dies fails its request with a clear error; the next request starts a new one', async () => {
    const single = new PocketsphinxEngine({ log, maxDecoders: 1 });
    await single.init();
    try {
      const [pid] = single.decoderPids;
      const pending = single.transcribe(concat(say(SENTENCES[2], 'slt'), say(SENTENCES[3], 'slt')));
      process.kill(-pid!, 'SIGKILL');
      const err = await pending.then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(AsrFailedError);
      expect(err!.message).toMatch(/pocketsphinx stopped/);
      const r = await single.transcribe(say(SENTENCES[4], 'slt'));
      expect(wordErrors(SENTENCES[4], r.text).errors, r.text).toBeLessThanOrEqual(2);
      expect(single.decoderPids[0]).not.toBe(pid);
    } finally {
      await single.dispose();
    }
  }, 60_000);

  it('dispose ends the decoder processes', async () => {
    const e = new PocketsphinxEngine({ log });
    await e.init();
    const pids = e.decoderPids;
    expect(pids.length).toBe(1);
    await e.dispose();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  }, 30_000);
});

describe('pocketsphinx start-up errors', () => {
  it('a missing program names the packages to install', async () => {
    const e = new PocketsphinxEngine({ log, binary: 'pocketsphinx_continuous_not_here' });
    const err = await e.init().then(
      () => undefined,
      (x: unknown) => x as Error,
    );
    expect(err).toBeInstanceOf(AsrUnavailableError);
    expect(err!.message).toContain('apt install pocketsphinx pocketsphinx-en-us');
  });

  it.skipIf(!installed)('a missing model names the package to install', async () => {
    const e = new PocketsphinxEngine({ log, modelDir: '/nonexistent/en-us' });
    await expect(e.init()).rejects.toThrow(/model is not installed.*apt install pocketsphinx pocketsphinx-en-us/);
  });

  it.skipIf(!installed)("a decoder that cannot load its model reports pocketsphinx's own error", async () => {
    const e = new PocketsphinxEngine({ log, args: ['-hmm', '/nonexistent/hmm'], modelDir: '' });
    const err = await e.init().then(
      () => undefined,
      (x: unknown) => x as Error,
    );
    expect(err).toBeInstanceOf(AsrUnavailableError);
    expect(err!.message).toMatch(/pocketsphinx failed to start: .*nonexistent/);
    await e.dispose();
  });
});
