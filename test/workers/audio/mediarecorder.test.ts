/**
 * What the studio page uploads: a real Chromium records the source speech with MediaRecorder
 * (decoded WAV -> AudioBufferSourceNode -> MediaStreamDestination, in real time) in every audio
 * format it offers, and each recording must decode (and normalise) to the same speech here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio, freeDecoders, normaliseAudio, sniffAudio } from '../../../src/workers/audio/decode.js';
import { chromiumMissing, launchChromium } from '../../helpers/chromium.js';
import { FIXTURES, bestCorrelation, rmsFrames, sourceSpeech } from './audio-helpers.js';

interface Recording {
  requested: string;
  mimeType: string;
  bytes: Uint8Array;
}

/** Records the WAV (base64) once per supported type, all from one playback. The script is a string (see FIELD-NOTES). */
function recordScript(wavB64: string): string {
  return `(async () => {
    const types = ['audio/webm;codecs=opus', 'audio/webm', 'audio/webm;codecs=pcm', 'audio/ogg;codecs=opus', 'audio/mp4;codecs=opus', 'audio/mp4'];
    const supported = types.filter((t) => MediaRecorder.isTypeSupported(t));
    const ctx = new AudioContext();
    await ctx.resume();
    const bytes = Uint8Array.from(atob('${wavB64}'), (c) => c.charCodeAt(0));
    const buffer = await ctx.decodeAudioData(bytes.buffer);
    const dest = ctx.createMediaStreamDestination();
    const recs = supported.map((type) => {
      const r = new MediaRecorder(dest.stream, { mimeType: type });
      const chunks = [];
      r.ondataavailable = (e) => chunks.push(e.data);
      const stopped = new Promise((res) => (r.onstop = res));
      r.start(250); // timeslices, as a page streaming its recording would
      return { type, r, chunks, stopped };
    });
    const src = ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(dest);
    const ended = new Promise((res) => (src.onended = res));
    src.start();
    await ended;
    await new Promise((r) => setTimeout(r, 150));
    for (const x of recs) x.r.stop();
    const out = [];
    for (const x of recs) {
      await x.stopped;
      const b = new Uint8Array(await new Blob(x.chunks).arrayBuffer());
      let s = '';
      for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
      out.push({ requested: x.type, mimeType: x.r.mimeType, b64: btoa(s) });
    }
    await ctx.close();
    return out;
  })()`;
}

const missing = chromiumMissing();

describe.skipIf(missing !== undefined)(`Chromium MediaRecorder uploads${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let browser: Browser;
  let recordings: Recording[] = [];
  const source = sourceSpeech();
  const sourceS = source.samples.length / source.sampleRate;

  beforeAll(async () => {
    browser = await launchChromium();
    const page = await browser.newPage();
    const wav = readFileSync(join(FIXTURES, 'speech-16k.wav')).toString('base64');
    const out = (await page.evaluate(recordScript(wav))) as Array<{ requested: string; mimeType: string; b64: string }>;
    recordings = out.map((o) => ({ requested: o.requested, mimeType: o.mimeType, bytes: new Uint8Array(Buffer.from(o.b64, 'base64')) }));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await freeDecoders();
  });

  it('offers WebM/Opus (what the studio page records)', () => {
    const webm = recordings.find((r) => r.requested === 'audio/webm;codecs=opus');
    expect(webm, `recorded: ${recordings.map((r) => r.mimeType).join(', ')}`).toBeDefined();
    expect(sniffAudio(webm!.bytes)).toBe('webm');
  });

  it('every recording decodes and normalises to the source speech', async () => {
    expect(recordings.length).toBeGreaterThan(0);
    const report: string[] = [];
    for (const rec of recordings) {
      const pcm = await decodeAudio(rec.bytes, rec.mimeType);
      const { pcm16k, durationMs } = await normaliseAudio(rec.bytes, rec.mimeType, { maxBytes: 25 * 1024 * 1024, maxDurationS: 60 });
      // A live recording starts a little before playback and stops 150 ms after it.
      const seconds = durationMs / 1000;
      expect(seconds, rec.mimeType).toBeGreaterThan(sourceS * 0.9);
      expect(seconds, rec.mimeType).toBeLessThan(sourceS * 1.35);
      // Loudness envelopes line up at some offset within half a second.
      const { r, lag } = bestCorrelation(rmsFrames(source), rmsFrames(pcm16k), 50);
      expect(r, rec.mimeType).toBeGreaterThan(0.9);
      report.push(`${rec.mimeType} (${sniffAudio(rec.bytes)}, ${rec.bytes.length} bytes, ${pcm.sampleRate} Hz): ${seconds.toFixed(2)} s, envelope r=${r.toFixed(3)} at ${lag * 10} ms`);
    }
    console.log(`MediaRecorder recordings of ${sourceS.toFixed(2)} s of speech:\n  ${report.join('\n  ')}`);
  });

  it('a recording cut off mid-upload is rejected as corrupt, not transcribed in part', async () => {
    for (const rec of recordings.filter((r) => !r.requested.includes('pcm'))) {
      for (const frac of [0.3, 0.6, 0.95]) {
        const cut = rec.bytes.subarray(0, Math.floor(rec.bytes.length * frac));
        await expect(decodeAudio(cut, rec.mimeType), `${rec.mimeType} cut at ${frac}`).rejects.toMatchObject({ code: 'audio_corrupt' });
      }
    }
  });
});
