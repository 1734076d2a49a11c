/**
 * Cuts a sentence's audio, as the engine delivers it, into chunks for the bus: the first one short
 * (so playback can start early), then ~200 ms each, every size a whole number of envelope frames so
 * each chunk's envelope lines up with the audio. The last `tailMs` are always held back until more
 * audio or the end arrives, so the sentence's last chunk (marked `final`) is never empty.
 * Visemes keep their sentence-relative `t_ms`; each chunk carries those that start inside it
 * (the final chunk carries whatever is left).
 */
import { ENVELOPE_FRAME_MS, type Viseme } from '../../shared/voice.js';
import { resample } from '../audio/pcm.js';
import type { AudioPiece } from './engine.js';

export interface PcmChunk {
  /** Chunk number within the sentence, from 0. */
  chunk: number;
  samples: Float32Array;
  sampleRate: number;
  /** Offset of the chunk's first sample from the sentence start, ms. */
  startMs: number;
  durationMs: number;
  visemes: Viseme[];
  final: boolean;
}

export interface ChunkerOptions {
  firstMs?: number;
  chunkMs?: number;
  tailMs?: number;
}

export class Chunker {
  private rate = 0;
  private buf = new Float32Array(0);
  private len = 0;
  private emitted = 0;
  private count = 0;
  private readonly visemes: Viseme[] = [];
  private readonly firstMs: number;
  private readonly chunkMs: number;
  private readonly tailMs: number;

  constructor(opts: ChunkerOptions = {}) {
    this.firstMs = opts.firstMs ?? 100;
    this.chunkMs = opts.chunkMs ?? 200;
    this.tailMs = opts.tailMs ?? 2 * ENVELOPE_FRAME_MS;
  }

  /** Samples of the sentence delivered so far. */
  get totalSamples(): number {
    return this.emitted + this.len;
  }

  get sampleRate(): number {
    return this.rate;
  }

  /** Adds a piece; returns the chunks that are ready (never the final one). */
  push(piece: AudioPiece): PcmChunk[] {
    let samples = piece.samples;
    if (this.rate === 0) this.rate = piece.sampleRate;
    else if (piece.sampleRate !== this.rate) samples = resample(samples, piece.sampleRate, this.rate);
    if (piece.visemes) this.visemes.push(...piece.visemes);
    this.append(samples);
    const out: PcmChunk[] = [];
    const tail = this.samplesFor(this.tailMs);
    for (;;) {
      const size = this.samplesFor(this.count === 0 ? this.firstMs : this.chunkMs);
      if (this.len < size + tail) break;
      out.push(this.take(size, false));
    }
    return out;
  }

  /** The sentence's last chunk (everything held back), or undefined when no audio came at all. */
  finish(): PcmChunk | undefined {
    if (this.len === 0) return undefined;
    return this.take(this.len, true);
  }

  private samplesFor(ms: number): number {
    const frame = Math.max(1, Math.round((this.rate * ENVELOPE_FRAME_MS) / 1000));
    return Math.max(1, Math.round(ms / ENVELOPE_FRAME_MS)) * frame;
  }

  private append(samples: Float32Array): void {
    if (samples.length === 0) return;
    if (this.len + samples.length > this.buf.length) {
      const next = new Float32Array(Math.max(this.len + samples.length, this.buf.length * 2, 4096));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    this.buf.set(samples, this.len);
    this.len += samples.length;
  }

  private take(n: number, final: boolean): PcmChunk {
    const samples = this.buf.slice(0, n);
    this.buf.copyWithin(0, n, this.len);
    this.len -= n;
    const startMs = (this.emitted / this.rate) * 1000;
    this.emitted += n;
    const endMs = (this.emitted / this.rate) * 1000;
    let k = 0;
    if (final) k = this.visemes.length;
    else while (k < this.visemes.length && this.visemes[k]!.t_ms < endMs) k++;
    const visemes = this.visemes.splice(0, k);
    return { chunk: this.count++, samples, sampleRate: this.rate, startMs, durationMs: endMs - startMs, visemes, final };
  }
}
