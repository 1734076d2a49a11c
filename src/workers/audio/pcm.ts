/**
 * PCM basics shared by the speech services: sample format conversion, WAV read/write, resampling
 * and loudness. Audio inside the pipeline is mono Float32 in [-1, 1] in memory and 16-bit
 * little-endian PCM ("pcm_s16le") on the bus.
 */
import type { ErrorCode } from '../../shared/voice.js';

export interface Pcm {
  /** Mono samples in [-1, 1]. */
  samples: Float32Array;
  sampleRate: number;
}

export class AudioFormatError extends Error {
  constructor(
    message: string,
    /** audio_corrupt, audio_unsupported, ... */
    readonly code: ErrorCode = 'audio_corrupt',
  ) {
    super(message);
    this.name = 'AudioFormatError';
  }
}

export function s16ToFloat(bytes: Uint8Array): Float32Array {
  const n = bytes.length >> 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, n * 2);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true) / 32768;
  return out;
}

export function floatToS16(samples: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i]!));
    out.writeInt16LE(v < 0 ? Math.round(v * 32768) : Math.round(v * 32767), i * 2);
  }
  return out;
}

/** Averages channels into one. */
export function downmix(channels: Float32Array[]): Float32Array {
  if (channels.length === 0) return new Float32Array(0);
  if (channels.length === 1) return channels[0]!;
  const n = Math.min(...channels.map((c) => c.length));
  const out = new Float32Array(n);
  for (const c of channels) for (let i = 0; i < n; i++) out[i]! += c[i]! / channels.length;
  return out;
}

/**
 * Parses a RIFF/WAVE file: PCM 8/16/24/32-bit integer and 32/64-bit float, any channel count
 * (downmixed to mono), WAVE_FORMAT_EXTENSIBLE included. Tolerates a data chunk whose declared size
 * runs past the end (streaming writers such as `-infile /dev/stdin` headers) by reading what is there.
 */
export function parseWav(buf: Uint8Array): Pcm {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 12 || b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WAVE') {
    throw new AudioFormatError('not a WAV file (no RIFF/WAVE header)', 'audio_unsupported');
  }
  let off = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  while (off + 8 <= b.length) {
    const id = b.toString('latin1', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > b.length) throw new AudioFormatError('WAV fmt chunk is truncated');
      let format = b.readUInt16LE(body);
      if (format === 0xfffe && size >= 26) format = b.readUInt16LE(body + 24); // extensible: sub-format GUID
      fmt = { format, channels: b.readUInt16LE(body + 2), rate: b.readUInt32LE(body + 4), bits: b.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!fmt) throw new AudioFormatError('WAV data chunk before its fmt chunk');
      const end = Math.min(b.length, body + size);
      return { samples: decodeInterleaved(b.subarray(body, end), fmt), sampleRate: fmt.rate };
    }
    off = body + size + (size & 1);
  }
  throw new AudioFormatError(fmt ? 'WAV file has no data chunk' : 'WAV file has no fmt chunk');
}

function decodeInterleaved(data: Buffer, f: { format: number; channels: number; rate: number; bits: number }): Float32Array {
  if (f.channels < 1 || f.channels > 32) throw new AudioFormatError(`WAV channel count ${f.channels} is not valid`);
  if (f.rate < 1000 || f.rate > 384_000) throw new AudioFormatError(`WAV sample rate ${f.rate} is not valid`);
  const bytes = f.bits / 8;
  const frame = bytes * f.channels;
  const n = Math.floor(data.length / frame);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let read: (o: number) => number;
  if (f.format === 1 && f.bits === 16) read = (o) => v.getInt16(o, true) / 32768;
  else if (f.format === 1 && f.bits === 8) read = (o) => (v.getUint8(o) - 128) / 128;
  else if (f.format === 1 && f.bits === 24) read = (o) => ((v.getInt8(o + 2) << 16) | (v.getUint8(o + 1) << 8) | v.getUint8(o)) / 8388608;
  else if (f.format === 1 && f.bits === 32) read = (o) => v.getInt32(o, true) / 2147483648;
  else if (f.format === 3 && f.bits === 32) read = (o) => v.getFloat32(o, true);
  else if (f.format === 3 && f.bits === 64) read = (o) => v.getFloat64(o, true);
  else throw new AudioFormatError(`WAV encoding ${f.format}/${f.bits}-bit is not supported (PCM or float only)`, 'audio_unsupported');
  const out = new Float32Array(n);
  if (f.channels === 1 && f.format === 1 && f.bits === 16) {
    for (let i = 0; i < n; i++) out[i] = v.getInt16(i * 2, true) / 32768; // the common case, without the closure
    return out;
  }
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < f.channels; c++) sum += read(i * frame + c * bytes);
    out[i] = sum / f.channels;
  }
  return out;
}

/** A 16-bit mono WAV file. With `streaming`, the sizes say "unknown" (0xFFFFFFFF) for a pipe. */
export function encodeWav(pcm: Pcm, opts: { streaming?: boolean } = {}): Buffer {
  const data = floatToS16(pcm.samples);
  return Buffer.concat([wavHeader(pcm.sampleRate, opts.streaming ? 0xffffffff - 36 : data.length), data]);
}

export function wavHeader(sampleRate: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(Math.min(0xffffffff, 36 + dataBytes), 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(Math.min(0xffffffff, dataBytes), 40);
  return h;
}

/**
 * Band-limited resampling (windowed sinc, Blackman window). When downsampling, the cut-off moves
 * to the new Nyquist frequency (x 0.95) so nothing aliases. Good enough for speech at any ratio.
 *
 * Polyphase: an output sample falls at one of `phases` fractional positions between two input
 * samples (exactly `to / gcd(from, to)` of them for integer rates, e.g. 3 for 48k -> 16k, 160 for
 * 44.1k -> 16k), so the kernel weights are computed once per position and cached per rate pair;
 * the inner loop is then a plain dot product (60 s of 48 kHz audio to 16 kHz in ~100 ms). Ratios
 * with more than MAX_PHASES positions round the position to the nearest of MAX_PHASES (error
 * below 1/(2 x MAX_PHASES) of a sample).
 */
export function resample(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to || samples.length === 0) return samples;
  const outLen = Math.max(0, Math.round((samples.length * to) / from));
  const out = new Float32Array(outLen);
  resampleInto(samples, from, to, out, 0, outLen);
  return out;
}

/**
 * Fills out[start, end) with output samples start..end-1 of resample(samples, from, to), so long
 * inputs can be done in slices (yielding to the event loop between them).
 */
export function resampleInto(samples: Float32Array, from: number, to: number, out: Float32Array, start: number, end: number): void {
  const k = kernelFor(from, to);
  const { taps, half, weights, phases, step, exact } = k;
  const n = samples.length;
  for (let i = start; i < end; i++) {
    // Position of output i in input samples: i * from / to = c0 + frac
    let c0: number;
    let phase: number;
    if (exact) {
      const num = i * step.from; // integer arithmetic: exact for any length we will see
      c0 = Math.floor(num / step.to);
      phase = num - c0 * step.to;
    } else {
      const center = (i * from) / to;
      c0 = Math.floor(center);
      phase = Math.round((center - c0) * phases);
      if (phase === phases) {
        c0++;
        phase = 0;
      }
    }
    const base = phase * taps;
    const j0 = c0 - half + 1;
    let acc = 0;
    if (j0 >= 0 && j0 + taps <= n) {
      for (let t = 0; t < taps; t++) acc += samples[j0 + t]! * weights[base + t]!;
      out[i] = acc;
    } else {
      // Edges: renormalise over the taps that exist.
      let norm = 0;
      for (let t = 0; t < taps; t++) {
        const j = j0 + t;
        if (j < 0 || j >= n) continue;
        acc += samples[j]! * weights[base + t]!;
        norm += weights[base + t]!;
      }
      out[i] = norm > 0 ? acc / norm : 0;
    }
  }
}

const MAX_PHASES = 4096;

interface Kernel {
  /** Taps per phase (2 x half). */
  taps: number;
  half: number;
  phases: number;
  /** phases x taps weights, each phase normalised to a sum of 1 (unity gain at DC). */
  weights: Float32Array;
  /** Integer rates reduced by their gcd, when the phases are exact. */
  step: { from: number; to: number };
  exact: boolean;
}

const kernels = new Map<string, Kernel>();

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function kernelFor(from: number, to: number): Kernel {
  const key = `${from}:${to}`;
  const cached = kernels.get(key);
  if (cached) return cached;
  const ratio = to / from;
  const cutoff = Math.min(1, ratio) * 0.95; // fraction of the input Nyquist
  const half = Math.min(64, Math.ceil(16 / Math.min(1, ratio))); // taps each side
  const taps = 2 * half;
  const integer = Number.isInteger(from) && Number.isInteger(to);
  const g = integer ? gcd(from, to) : 1;
  const exact = integer && to / g <= MAX_PHASES;
  const phases = exact ? to / g : MAX_PHASES;
  const weights = new Float32Array(phases * taps);
  for (let p = 0; p < phases; p++) {
    const frac = p / phases;
    let sum = 0;
    for (let t = 0; t < taps; t++) {
      const x = frac - (t - half + 1); // center - j
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * cutoff * x) / (Math.PI * cutoff * x);
      const w = Math.abs(x) >= half ? 0 : 0.42 + 0.5 * Math.cos((Math.PI * x) / half) + 0.08 * Math.cos((2 * Math.PI * x) / half);
      weights[p * taps + t] = sinc * w;
      sum += sinc * w;
    }
    for (let t = 0; t < taps; t++) weights[p * taps + t]! /= sum;
  }
  const k: Kernel = { taps, half, phases, weights, step: { from: from / g, to: to / g }, exact };
  if (kernels.size > 32) kernels.clear();
  kernels.set(key, k);
  return k;
}

/** Root mean square loudness of a span. */
export function rms(samples: Float32Array, start = 0, end = samples.length): number {
  let sum = 0;
  const n = Math.max(0, end - start);
  for (let i = start; i < end; i++) sum += samples[i]! * samples[i]!;
  return n > 0 ? Math.sqrt(sum / n) : 0;
}

/**
 * Loudness envelope for lip sync: RMS per `frameMs` frame, scaled so normal speech (RMS ~0.1)
 * reaches ~0.6 and clipped to [0, 1], rounded to 3 decimals (small on the wire).
 */
export function envelope(samples: Float32Array, sampleRate: number, frameMs = 20): number[] {
  const frame = Math.max(1, Math.round((sampleRate * frameMs) / 1000));
  const out: number[] = [];
  for (let i = 0; i < samples.length; i += frame) {
    const v = Math.min(1, rms(samples, i, Math.min(samples.length, i + frame)) * 6);
    out.push(Math.round(v * 1000) / 1000);
  }
  return out;
}

/** Peak absolute sample. */
export function peak(samples: Float32Array): number {
  let p = 0;
  for (let i = 0; i < samples.length; i++) p = Math.max(p, Math.abs(samples[i]!));
  return p;
}

/** Duration in milliseconds. */
export function durationMs(pcm: Pcm): number {
  return (pcm.samples.length / pcm.sampleRate) * 1000;
}
