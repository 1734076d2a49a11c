/** Shared pieces of the audio tests: fixtures, tones, and ways to compare two recordings. */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseWav, type Pcm } from '../../../src/workers/audio/pcm.js';

export const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'audio');

export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, name)));
}

/** The speech every encoded fixture was made from (16 kHz mono). */
export function sourceSpeech(): Pcm {
  return parseWav(fixture('speech-16k.wav'));
}

export function tone(freqs: number[], rate: number, seconds: number, amp = 0.4): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) for (const f of freqs) out[i]! += amp * Math.sin((2 * Math.PI * f * i) / rate);
  return out;
}

/** Amplitude of the component at `freq` (Goertzel), for a sine of amplitude A this is ~A. */
export function amplitudeAt(x: Float32Array, freq: number, rate: number): number {
  let s1 = 0;
  let s2 = 0;
  const c = 2 * Math.cos((2 * Math.PI * freq) / rate);
  for (let i = 0; i < x.length; i++) {
    const s0 = x[i]! + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return Math.sqrt(Math.max(0, s1 * s1 + s2 * s2 - c * s1 * s2)) / (x.length / 2);
}

/** The frequency (1 Hz steps) with the largest amplitude in [lo, hi]. */
export function dominantFrequency(x: Float32Array, rate: number, lo: number, hi: number, step = 10): number {
  let best = lo;
  let bestAmp = -1;
  for (let f = lo; f <= hi; f += step) {
    const a = amplitudeAt(x, f, rate);
    if (a > bestAmp) {
      bestAmp = a;
      best = f;
    }
  }
  return best;
}

/** RMS per 10 ms frame. */
export function rmsFrames(p: Pcm, frameMs = 10): Float64Array {
  const frame = Math.round((p.sampleRate * frameMs) / 1000);
  const n = Math.floor(p.samples.length / frame);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * frame; j < (i + 1) * frame; j++) s += p.samples[j]! ** 2;
    out[i] = Math.sqrt(s / frame);
  }
  return out;
}

/** Pearson correlation of a and b[lag..], over their overlap. */
export function correlation(a: ArrayLike<number>, b: ArrayLike<number>, lag = 0): number {
  const start = Math.max(0, -lag);
  const n = Math.min(a.length, b.length - lag) - start;
  if (n <= 1) return 0;
  let ma = 0;
  let mb = 0;
  for (let i = start; i < start + n; i++) {
    ma += a[i]!;
    mb += b[i + lag]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = start; i < start + n; i++) {
    const da = a[i]! - ma;
    const db = b[i + lag]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** Best correlation over lags in [-maxLag, maxLag], with the lag. */
export function bestCorrelation(a: ArrayLike<number>, b: ArrayLike<number>, maxLag: number): { r: number; lag: number } {
  let best = { r: -2, lag: 0 };
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    const r = correlation(a, b, lag);
    if (r > best.r) best = { r, lag };
  }
  return best;
}

/** Loudness-envelope similarity of two recordings (10 ms RMS frames, up to 100 ms apart). */
export function envelopeSimilarity(a: Pcm, b: Pcm): number {
  return bestCorrelation(rmsFrames(a), rmsFrames(b), 10).r;
}

/** Longest stretch the event loop was blocked while `fn` ran, ms. */
export async function maxEventLoopBlock<T>(fn: () => Promise<T>): Promise<{ result: T; maxBlockMs: number; turns: number }> {
  let last = performance.now();
  let maxBlockMs = 0;
  let turns = 0;
  let running = true;
  const tick = () => {
    turns++;
    const now = performance.now();
    maxBlockMs = Math.max(maxBlockMs, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    const result = await fn();
    return { result, maxBlockMs: Math.max(maxBlockMs, performance.now() - last), turns };
  } finally {
    running = false;
  }
}
