/**
 * pcm.ts: WAV read/write, sample conversion and the polyphase resampler (tones keep their
 * frequency and level, nothing above the new Nyquist aliases, slices equal the whole, and the cached
 * polyphase weights equal a direct windowed-sinc computation).
 */
import { describe, expect, it } from 'vitest';
import {
  AudioFormatError,
  downmix,
  encodeWav,
  envelope,
  floatToS16,
  parseWav,
  peak,
  resample,
  resampleInto,
  s16ToFloat,
} from '../../../src/workers/audio/pcm.js';
import { amplitudeAt, dominantFrequency, tone } from './audio-helpers.js';

/** The straightforward algorithm the polyphase tables must reproduce: a kernel per output sample. */
function referenceResample(samples: Float32Array, from: number, to: number): Float32Array {
  const ratio = to / from;
  const out = new Float32Array(Math.round(samples.length * ratio));
  const cutoff = Math.min(1, ratio) * 0.95;
  const half = Math.min(64, Math.ceil(16 / Math.min(1, ratio)));
  for (let i = 0; i < out.length; i++) {
    const center = (i * from) / to;
    const c0 = Math.floor(center);
    let acc = 0;
    let norm = 0;
    for (let j = c0 - half + 1; j <= c0 + half; j++) {
      if (j < 0 || j >= samples.length) continue;
      const x = center - j;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * cutoff * x) / (Math.PI * cutoff * x);
      const w = 0.42 + 0.5 * Math.cos((Math.PI * x) / half) + 0.08 * Math.cos((2 * Math.PI * x) / half);
      acc += samples[j]! * sinc * w;
      norm += sinc * w;
    }
    out[i] = acc / norm;
  }
  return out;
}

function noise(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 0.8;
  }
  return out;
}

describe('resample', () => {
  it.each([
    [48000, 16000],
    [44100, 16000],
    [24000, 16000],
    [22050, 16000],
    [8000, 16000],
    [16000, 48000],
    [44100.5, 16000], // not an integer ratio: phases rounded to 1/4096 of a sample
    [16001, 16000], // 16000 phases: more than the table holds, rounded too
  ])('%d -> %d Hz equals the direct windowed-sinc computation', (from, to) => {
    const x = noise(Math.round(from * 0.25));
    const fast = resample(x, from, to);
    const ref = referenceResample(x, from, to);
    expect(fast.length).toBe(ref.length);
    let maxErr = 0;
    for (let i = 0; i < ref.length; i++) maxErr = Math.max(maxErr, Math.abs(fast[i]! - ref[i]!));
    expect(maxErr).toBeLessThan(Number.isInteger(from) && from !== 16001 ? 1e-5 : 2e-3);
  });

  it.each([48000, 44100, 32000, 24000, 22050, 11025, 8000])('a 1 kHz tone at %d Hz keeps its frequency and level at 16 kHz', (from) => {
    const y = resample(tone([1000], from, 1, 0.5), from, 16000);
    expect(y.length).toBe(16000);
    const mid = y.subarray(400, -400);
    expect(dominantFrequency(mid, 16000, 100, 7900)).toBe(1000);
    expect(amplitudeAt(mid, 1000, 16000)).toBeCloseTo(0.5, 2);
  });

  it.each([
    [48000, 10000],
    [48000, 9000],
    [44100, 10000],
    [44100, 12000],
    [22050, 9500],
  ])('a %d Hz recording of a %d Hz tone does not alias below 8 kHz', (from, f) => {
    // Beside a 1 kHz tone for reference: the high tone must vanish, not fold to 16000 - f.
    const y = resample(tone([1000, f], from, 1, 0.4), from, 16000).subarray(400, -400);
    const alias = 16000 - f;
    expect(amplitudeAt(y, 1000, 16000)).toBeCloseTo(0.4, 2);
    expect(amplitudeAt(y, alias, 16000)).toBeLessThan(0.4 * 10 ** (-60 / 20)); // at least 60 dB down
  });

  it('slices computed with resampleInto equal the whole', () => {
    const x = noise(44100);
    const whole = resample(x, 44100, 16000);
    const parts = new Float32Array(whole.length);
    for (let i = 0; i < whole.length; i += 3001) resampleInto(x, 44100, 16000, parts, i, Math.min(whole.length, i + 3001));
    expect(parts).toEqual(whole);
  });

  it('returns the input when the rates are equal, and empty for empty', () => {
    const x = noise(100);
    expect(resample(x, 16000, 16000)).toBe(x);
    expect(resample(new Float32Array(0), 48000, 16000).length).toBe(0);
  });

  it('keeps DC at unity gain to the edges', () => {
    const y = resample(new Float32Array(4800).fill(0.25), 48000, 16000);
    for (const v of y) expect(v).toBeCloseTo(0.25, 5);
  });
});

describe('WAV and samples', () => {
  it('round-trips 16-bit PCM through encodeWav and parseWav', () => {
    const x = tone([440], 16000, 0.1, 0.5);
    const back = parseWav(encodeWav({ samples: x, sampleRate: 16000 }));
    expect(back.sampleRate).toBe(16000);
    expect(back.samples.length).toBe(x.length);
    for (let i = 0; i < x.length; i++) expect(Math.abs(back.samples[i]! - x[i]!)).toBeLessThan(1 / 32000);
  });

  it('clips on the way to 16-bit and maps full scale both ways', () => {
    const s = floatToS16(new Float32Array([2, -2, 1, -1, 0]));
    expect([...new Int16Array(s.buffer, s.byteOffset, 5)]).toEqual([32767, -32768, 32767, -32768, 0]);
    expect([...s16ToFloat(new Uint8Array(s))]).toEqual([32767 / 32768, -1, 32767 / 32768, -1, 0]);
  });

  it('downmixes by averaging, and reads a streaming header whose data size runs past the end', () => {
    expect([...downmix([new Float32Array([1, 0.5]), new Float32Array([0, 0.5])])]).toEqual([0.5, 0.5]);
    const wav = encodeWav({ samples: new Float32Array([0.5, -0.5, 0.25]), sampleRate: 8000 }, { streaming: true });
    expect(parseWav(wav).samples.length).toBe(3);
  });

  it('names what it cannot read', () => {
    expect(() => parseWav(new Uint8Array(20))).toThrow(AudioFormatError);
    const alaw = encodeWav({ samples: new Float32Array(10), sampleRate: 8000 });
    alaw.writeUInt16LE(6, 20); // WAVE_FORMAT_ALAW
    alaw.writeUInt16LE(8, 34);
    expect(() => parseWav(alaw)).toThrow(/encoding 6\/8-bit is not supported/);
    try {
      parseWav(alaw);
    } catch (e) {
      expect((e as AudioFormatError).code).toBe('audio_unsupported');
    }
  });

  it('measures peak and envelope', () => {
    const x = tone([200], 16000, 0.2, 0.3);
    expect(peak(x)).toBeCloseTo(0.3, 3);
    const env = envelope(x, 16000, 20);
    expect(env.length).toBe(10);
    expect(env[5]).toBeCloseTo(Math.min(1, (0.3 / Math.SQRT2) * 6), 2);
  });
});
