/**
 * Streaming band-limited resampler for the mic path (runs inside the AudioWorklet, so: no
 * allocation per call, no DOM, no imports). Windowed sinc (Blackman) with the cut-off at 90 % of the
 * lower Nyquist frequency, so 48 kHz -> 16 kHz keeps speech up to ~7.2 kHz and nothing aliases.
 *
 * Positions are tracked as exact fractions (in/out reduced by their gcd), so a rational ratio such
 * as 48000 -> 16000 (3/1) or 44100 -> 16000 (441/160) uses exactly `den` precomputed filter phases
 * and never drifts. Ratios with a huge denominator fall back to the nearest of MAX_PHASES phases.
 */

/** Zero crossings of the sinc on each side, counted at the lower of the two rates. */
const ZERO_CROSSINGS = 8;
const CUTOFF = 0.9;
const MAX_PHASES = 1024;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

export class StreamResampler {
  readonly inRate: number;
  readonly outRate: number;
  /** Filter taps each side of the centre, in input samples. */
  private readonly half: number;
  /** Input samples advanced per output sample = num / den. */
  private readonly num: number;
  private readonly den: number;
  private readonly phases: number;
  /** phases x (2 * half) coefficients, each phase normalised to unity DC gain. */
  private readonly table: Float32Array;
  /** Input history; buf[0] is absolute input sample `bufStart`. */
  private buf: Float32Array;
  private bufLen: number;
  private bufStart = 0;
  /** Position of the next output sample, in input samples times den (exact). */
  private pos = 0;

  constructor(inRate: number, outRate: number) {
    if (!(inRate > 0 && outRate > 0) || !Number.isInteger(inRate) || !Number.isInteger(outRate)) {
      throw new RangeError(`sample rates must be positive integers (got ${inRate} -> ${outRate})`);
    }
    this.inRate = inRate;
    this.outRate = outRate;
    const g = gcd(inRate, outRate);
    this.num = inRate / g;
    this.den = outRate / g;
    const scale = Math.min(1, outRate / inRate); // < 1 when downsampling
    const cutoff = CUTOFF * scale; // fraction of the input Nyquist
    this.half = Math.ceil(ZERO_CROSSINGS / scale);
    this.phases = Math.min(this.den, MAX_PHASES);
    const taps = 2 * this.half;
    this.table = new Float32Array(this.phases * taps);
    for (let p = 0; p < this.phases; p++) {
      const frac = p / this.phases;
      let sum = 0;
      for (let k = 0; k < taps; k++) {
        // Tap k weighs input sample (floor(centre) - half + 1 + k); x is its distance from the centre.
        const x = k - this.half + 1 - frac;
        const sinc = x === 0 ? 1 : Math.sin(Math.PI * cutoff * x) / (Math.PI * cutoff * x);
        const w = 0.42 + 0.5 * Math.cos((Math.PI * x) / this.half) + 0.08 * Math.cos((2 * Math.PI * x) / this.half);
        const c = Math.abs(x) >= this.half ? 0 : sinc * w;
        this.table[p * taps + k] = c;
        sum += c;
      }
      for (let k = 0; k < taps; k++) this.table[p * taps + k]! /= sum;
    }
    // Start with `half` zeros of history so the first output is centred on input sample 0.
    this.buf = new Float32Array(Math.max(4096, taps * 4));
    this.bufLen = this.half;
    this.bufStart = -this.half;
  }

  /** The most output samples a call with `inputLength` new samples can produce. */
  maxOutput(inputLength: number): number {
    return Math.ceil(((inputLength + 2 * this.half) * this.den) / this.num) + 1;
  }

  /**
   * Feeds `input` and writes every output sample that is now computable into `out` (which must hold
   * maxOutput(input.length)); returns how many were written. Output lags input by `half` samples.
   */
  process(input: Float32Array, out: Float32Array): number {
    this.append(input);
    const taps = 2 * this.half;
    const end = this.bufStart + this.bufLen; // absolute index one past the last input sample
    let n = 0;
    for (;;) {
      const centre = Math.floor(this.pos / this.den);
      const first = centre - this.half + 1;
      if (first + taps > end) break;
      const rem = this.pos - centre * this.den;
      const phase = this.phases === this.den ? rem : Math.min(this.phases - 1, Math.round((rem / this.den) * this.phases));
      const base = phase * taps;
      const at = first - this.bufStart;
      let acc = 0;
      for (let k = 0; k < taps; k++) acc += this.buf[at + k]! * this.table[base + k]!;
      out[n++] = acc;
      this.pos += this.num;
    }
    this.compact();
    return n;
  }

  private append(input: Float32Array): void {
    if (this.bufLen + input.length > this.buf.length) {
      const bigger = new Float32Array(Math.max(this.buf.length * 2, this.bufLen + input.length));
      bigger.set(this.buf.subarray(0, this.bufLen));
      this.buf = bigger;
    }
    this.buf.set(input, this.bufLen);
    this.bufLen += input.length;
  }

  /** Drops history no future output needs (keeps positions small so they stay exact). */
  private compact(): void {
    const centre = Math.floor(this.pos / this.den);
    const keepFrom = centre - this.half + 1;
    const drop = keepFrom - this.bufStart;
    if (drop <= 0) return;
    this.buf.copyWithin(0, drop, this.bufLen);
    this.bufLen -= drop;
    this.bufStart += drop;
    // Rebase absolute positions on the new buffer start.
    this.pos -= this.bufStart * this.den;
    this.bufStart = 0;
  }
}
