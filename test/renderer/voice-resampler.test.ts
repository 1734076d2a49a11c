/**
 * The mic worklet's streaming resampler (src/renderer/voice/resampler.ts), in Node: tones keep their
 * frequency and level, tones above the new Nyquist frequency are removed (not folded back as
 * aliases), feeding in 128-sample render quanta gives the same samples as one big block, and the
 * output length tracks the ratio exactly over a long run.
 */
import { describe, expect, it } from 'vitest';
import { StreamResampler as Resampler, type StreamResampler } from '../../src/renderer/voice/resampler.js';


function tone(hz: number, rate: number, seconds: number, amp = 0.5): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amp * Math.sin((2 * Math.PI * hz * i) / rate);
  return out;
}

function runAll(r: StreamResampler, input: Float32Array, quantum = 128): Float32Array {
  const parts: number[] = [];
  const out = new Float32Array(r.maxOutput(quantum));
  for (let i = 0; i < input.length; i += quantum) {
    const n = r.process(input.subarray(i, Math.min(input.length, i + quantum)), out);
    for (let k = 0; k < n; k++) parts.push(out[k]!);
  }
  return Float32Array.from(parts);
}

function rms(x: Float32Array, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / Math.max(1, to - from));
}

/** Amplitude of the `hz` component (single-bin DFT) over the middle of the signal. */
function amplitudeAt(x: Float32Array, rate: number, hz: number): number {
  const from = Math.floor(x.length * 0.2);
  const to = Math.floor(x.length * 0.8);
  let re = 0;
  let im = 0;
  for (let i = from; i < to; i++) {
    re += x[i]! * Math.cos((2 * Math.PI * hz * i) / rate);
    im += x[i]! * Math.sin((2 * Math.PI * hz * i) / rate);
  }
  return (2 * Math.hypot(re, im)) / (to - from);
}

describe('StreamResampler', () => {
  for (const inRate of [48000, 44100, 96000, 22050]) {
    it(`${inRate} Hz -> 16 kHz keeps a 1 kHz tone's frequency and level`, () => {
      const out = runAll(new Resampler(inRate, 16000), tone(1000, inRate, 1));
      expect(Math.abs(out.length - 16000)).toBeLessThanOrEqual(40); // minus the filter's latency
      expect(amplitudeAt(out, 16000, 1000)).toBeCloseTo(0.5, 2);
      expect(amplitudeAt(out, 16000, 1100)).toBeLessThan(0.01);
    });
  }

  it('removes tones above 8 kHz instead of folding them into the speech band', () => {
    // 12 kHz at 48 kHz would alias to 4 kHz if simply decimated by 3.
    const out = runAll(new Resampler(48000, 16000), tone(12000, 48000, 1));
    expect(amplitudeAt(out, 16000, 4000)).toBeLessThan(0.005); // > 40 dB down
    expect(rms(out, 100)).toBeLessThan(0.005);
    const out441 = runAll(new Resampler(44100, 16000), tone(10000, 44100, 1));
    expect(rms(out441, 100)).toBeLessThan(0.01);
  });

  it('is flat to 5 kHz and within 1.5 dB at 6 kHz (the speech band)', () => {
    const at = (hz: number) => amplitudeAt(runAll(new Resampler(48000, 16000), tone(hz, 48000, 1)), 16000, hz);
    expect(at(3000)).toBeCloseTo(0.5, 2);
    expect(at(5000)).toBeCloseTo(0.5, 2);
    expect(at(6000)).toBeGreaterThan(0.5 * 10 ** (-1.5 / 20));
    // 9 kHz would fold to 7 kHz: at least 30 dB down.
    const folded = runAll(new Resampler(48000, 16000), tone(9000, 48000, 1));
    expect(amplitudeAt(folded, 16000, 7000)).toBeLessThan(0.5 * 10 ** (-30 / 20));
  });

  it('gives the same samples whatever the block sizes', () => {
    const input = new Float32Array(20000);
    for (let i = 0; i < input.length; i++) input[i] = Math.sin(i * 0.01) * 0.3 + Math.sin(i * 0.37) * 0.2;
    const a = runAll(new Resampler(44100, 16000), input, 128);
    const b = runAll(new Resampler(44100, 16000), input, 20000);
    const c = runAll(new Resampler(44100, 16000), input, 7);
    expect(a.length).toBe(b.length);
    expect(c.length).toBe(b.length);
    for (let i = 0; i < a.length; i++) {
      expect(a[i]).toBe(b[i]);
      expect(c[i]).toBe(b[i]);
    }
  });

  it('keeps the exact ratio over two minutes of 128-sample quanta (no drift)', () => {
    const r = new Resampler(44100, 16000);
    const quantum = new Float32Array(128);
    const out = new Float32Array(r.maxOutput(128));
    let produced = 0;
    let fed = 0;
    while (fed < 44100 * 120) {
      produced += r.process(quantum, out);
      fed += 128;
    }
    // Output sample k needs input up to k * 44100/16000 + half-width; nothing is lost or invented.
    const expected = (fed * 16000) / 44100;
    expect(Math.abs(produced - expected)).toBeLessThan(30);
  });

  it('upsamples too (a context slower than 16 kHz)', () => {
    const out = runAll(new Resampler(8000, 16000), tone(500, 8000, 1));
    expect(amplitudeAt(out, 16000, 500)).toBeCloseTo(0.5, 2);
  });

  it('refuses rates that are not positive integers', () => {
    expect(() => new Resampler(0, 16000)).toThrow(RangeError);
    expect(() => new Resampler(44100.5, 16000)).toThrow(/positive integers/);
  });
});
