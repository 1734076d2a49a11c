/**
 * Plays the reply audio gap-free and tracks the mouth-open value for lip sync.
 *
 * Each PCM chunk becomes an AudioBuffer (at the chunk's own rate; Web Audio resamples) played by
 * one AudioBufferSourceNode started exactly at the running end time of the previous chunk, so
 * chunks join sample-accurately whatever the network jitter, as long as each arrives before the
 * previous one ends (otherwise it starts LEAD_S from now and the underrun is counted).
 *
 * A turn's playback is done when its audio_end has arrived and its last source has ended: then
 * `onPlaybackDone(turn_id)` fires once. `stop` stops the turn's sources at once (the next render
 * quantum, ~3 ms), clears them from the schedule and forgets the turn: no playback_done for it,
 * and late chunks of it are dropped.
 *
 * The mouth value is the chunk's loudness envelope (`envelope_frame_ms` frames, [0, 1]) at the
 * position the audio device is playing now (getOutputTimestamp, so output latency is accounted
 * for), refreshed every ~16 ms while anything is scheduled, 0 otherwise.
 */
import { envelopeAt, LEAD_S, type EnvelopeSpan } from './mouth-timeline.js';
import type { AudioEvent } from './session.js';

/** Turn ids remembered as stopped or finished (late chunks of them are dropped). */
const MAX_REMEMBERED = 64;
/** Schedule entries kept for the debug view. */
const MAX_LOG = 64;
/** How often the mouth value is refreshed while audio plays (about one display frame). */
const MOUTH_UPDATE_MS = 16;

interface Scheduled extends EnvelopeSpan {
  source: AudioBufferSourceNode;
  /** The source finished rendering; the entry stays until the device has played it (lip sync). */
  ended: boolean;
}

interface TurnPlayback {
  pending: number;
  ended: boolean;
}

export interface PlayerCallbacks {
  onPlaybackDone(turnId: string): void;
  /**
   * Mouth-open value in [0, 1] when it changes (every ~16 ms while audio plays, then 0), with the
   * context time of the audio it was read at.
   */
  onMouth(value: number, at: number): void;
  /** The browser keeps audio suspended until the user interacts with the page. */
  onBlocked(blocked: boolean): void;
  /**
   * The device started playing a turn's first audio `agoMs` ago (noticed within one mouth update,
   * ~16 ms): the manager's "heard" mark.
   */
  onHeard?(turnId: string, agoMs: number): void;
}

export interface PlayerStats {
  chunks: number;
  scheduledSeconds: number;
  underruns: number;
  dropped: number;
  stops: number;
  /** The last entries of the schedule (context seconds). */
  log: { turnId: string; start: number; end: number }[];
}

class BoundedSet {
  private readonly items: string[] = [];
  private readonly set = new Set<string>();
  add(id: string): void {
    if (this.set.has(id)) return;
    this.set.add(id);
    this.items.push(id);
    if (this.items.length > MAX_REMEMBERED) this.set.delete(this.items.shift()!);
  }
  has(id: string): boolean {
    return this.set.has(id);
  }
}

export class Player {
  private ctx: AudioContext | undefined;
  private master: GainNode | undefined;
  private analyser: AnalyserNode | undefined;
  /** Chunks not yet heard to their end, in play order. */
  private scheduled: Scheduled[] = [];
  /** Sources not yet ended. */
  private playing = 0;
  private endTime = 0;
  private readonly turns = new Map<string, TurnPlayback>();
  private readonly forgotten = new BoundedSet();
  /** Turns whose first audio has been reported heard. */
  private readonly heard = new BoundedSet();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private mouth = 0;
  readonly stats: PlayerStats = { chunks: 0, scheduledSeconds: 0, underruns: 0, dropped: 0, stops: 0, log: [] };

  constructor(private readonly cb: PlayerCallbacks) {}

  get context(): AudioContext | undefined {
    return this.ctx;
  }

  get mouthValue(): number {
    return this.mouth;
  }

  get activeSources(): number {
    return this.playing;
  }

  /** Call from a user gesture (click, key) so a suspended context may start. */
  resume(): void {
    const ctx = this.ctx;
    if (ctx && ctx.state === 'suspended') {
      ctx.resume().then(
        () => this.cb.onBlocked(false),
        () => {},
      );
    }
  }

  /** Schedules a chunk; returns when it will play (context seconds), or undefined when dropped. */
  enqueue(meta: AudioEvent, pcm: ArrayBuffer): { start: number; end: number } | undefined {
    if (this.forgotten.has(meta.turn_id)) {
      this.stats.dropped++;
      return undefined;
    }
    const samples = pcm.byteLength >> 1;
    if (samples === 0) return undefined;
    const ctx = this.ensureContext();
    const buffer = ctx.createBuffer(1, samples, meta.sample_rate);
    const out = buffer.getChannelData(0);
    const view = new DataView(pcm, 0, samples * 2);
    for (let i = 0; i < samples; i++) out[i] = view.getInt16(i * 2, true) / 32768;

    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.master!);
    const now = ctx.currentTime;
    let start = this.endTime;
    if (start < now + 0.005) {
      if (this.playing > 0) this.stats.underruns++;
      start = now + LEAD_S;
    }
    const end = start + buffer.duration;
    const entry: Scheduled = { turnId: meta.turn_id, start, end, envelope: meta.envelope, frameMs: meta.envelope_frame_ms, source, ended: false };
    source.onended = () => this.ended(entry);
    source.start(start);
    this.scheduled.push(entry);
    this.playing++;
    this.endTime = end;

    const turn = this.turns.get(meta.turn_id) ?? { pending: 0, ended: false };
    turn.pending++;
    this.turns.set(meta.turn_id, turn);

    this.stats.chunks++;
    this.stats.scheduledSeconds += buffer.duration;
    this.stats.log.push({ turnId: meta.turn_id, start, end });
    if (this.stats.log.length > MAX_LOG) this.stats.log.shift();
    if (!this.timer) this.timer = setTimeout(this.tick, 0);
    return { start, end };
  }

  /** The turn's audio_end: every chunk it will get has arrived. */
  audioEnd(turnId: string): void {
    if (this.forgotten.has(turnId)) return;
    const turn = this.turns.get(turnId) ?? { pending: 0, ended: false };
    turn.ended = true;
    this.turns.set(turnId, turn);
    this.check(turnId, turn);
  }

  /**
   * The turn is over (turn_end). Normally its audio_end came first; if it never does (a stage
   * failed), the chunks that did come still finish and report playback_done, and nothing is kept.
   */
  turnEnd(turnId: string): void {
    if (this.turns.has(turnId)) this.audioEnd(turnId);
  }

  /** Stops a turn's audio now (all audio when no turn is given) and forgets it (or them). */
  stop(turnId?: string): void {
    const keep: Scheduled[] = [];
    for (const s of this.scheduled) {
      if (turnId !== undefined && s.turnId !== turnId) {
        keep.push(s);
        continue;
      }
      s.source.onended = null;
      if (!s.ended) this.playing--;
      try {
        s.source.stop();
      } catch {
        // Not started yet in some engines' view: disconnecting silences it all the same.
      }
      s.source.disconnect();
    }
    this.scheduled = keep;
    this.endTime = keep.length > 0 ? keep[keep.length - 1]!.end : 0;
    if (turnId !== undefined) {
      this.forgotten.add(turnId);
      this.turns.delete(turnId);
    } else {
      for (const id of this.turns.keys()) this.forgotten.add(id);
      this.turns.clear();
    }
    this.stats.stops++;
    if (keep.length === 0) this.setMouth(0);
  }

  /** RMS of what the player outputs right now (debug and tests; adds an analyser on first use). */
  outputLevel(): number {
    const ctx = this.ctx;
    if (!ctx || !this.master) return 0;
    if (!this.analyser) {
      this.analyser = ctx.createAnalyser();
      this.analyser.fftSize = 2048;
      this.master.connect(this.analyser);
    }
    const data = new Float32Array(this.analyser.fftSize);
    this.analyser.getFloatTimeDomainData(data);
    let sum = 0;
    for (const v of data) sum += v * v;
    return Math.sqrt(sum / data.length);
  }

  dispose(): void {
    this.stop();
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.ctx?.close().catch(() => {});
    this.ctx = undefined;
  }

  private ensureContext(): AudioContext {
    if (this.ctx) {
      if (this.ctx.state === 'suspended') this.resume();
      return this.ctx;
    }
    const ctx = new AudioContext({ latencyHint: 'interactive' });
    this.master = ctx.createGain();
    this.master.connect(ctx.destination);
    this.ctx = ctx;
    if (ctx.state !== 'running') {
      this.cb.onBlocked(true);
      ctx.resume().then(
        () => this.cb.onBlocked(ctx.state !== 'running'),
        () => {},
      );
    }
    ctx.onstatechange = () => this.cb.onBlocked(ctx.state === 'suspended');
    return ctx;
  }

  private ended(entry: Scheduled): void {
    entry.ended = true;
    this.playing--;
    entry.source.disconnect();
    const turn = this.turns.get(entry.turnId);
    if (turn) {
      turn.pending--;
      this.check(entry.turnId, turn);
    }
  }

  private check(turnId: string, turn: TurnPlayback): void {
    if (!turn.ended || turn.pending > 0) return;
    this.turns.delete(turnId);
    this.forgotten.add(turnId);
    this.cb.onPlaybackDone(turnId);
  }

  /** Context time of the sample the device is playing now. */
  playingTime(ctx: AudioContext): number {
    const ts = ctx.getOutputTimestamp?.();
    if (ts && ts.contextTime !== undefined && ts.performanceTime !== undefined && ts.contextTime > 0) {
      return ts.contextTime + (performance.now() - ts.performanceTime) / 1000;
    }
    return ctx.currentTime - (ctx.outputLatency || 0);
  }

  /**
   * The mouth-open value for the sample being heard now, computed on demand (an avatar's render
   * loop can call this every frame for the freshest value; `onMouth` is the reactive feed).
   */
  mouthNow(): number {
    const ctx = this.ctx;
    return ctx ? this.mouthAt(this.playingTime(ctx)) : 0;
  }

  /** The envelope value at context time `t` (0 where nothing is scheduled). */
  private mouthAt(t: number): number {
    for (const s of this.scheduled) {
      if (t < s.start) break;
      if (t >= s.end) continue;
      return envelopeAt(s, t);
    }
    return 0;
  }

  /**
   * Runs on a timer, not requestAnimationFrame: rAF stops in hidden or unpainted windows (and a
   * headless compositor may deliver none), but the mouth must track the audio regardless.
   */
  private readonly tick = (): void => {
    this.timer = undefined;
    if (!this.ctx) return;
    const t = this.playingTime(this.ctx);
    // Forget chunks the device has finished playing (rendering ends ~output latency earlier).
    while (this.scheduled.length > 0 && this.scheduled[0]!.ended && this.scheduled[0]!.end <= t) this.scheduled.shift();
    this.reportHeard(t);
    if (this.scheduled.length === 0) {
      this.setMouth(0, t);
      return;
    }
    this.setMouth(this.mouthAt(t), t);
    this.timer = setTimeout(this.tick, MOUTH_UPDATE_MS);
  };

  /** The first chunk of each turn the device has reached: heard. */
  private reportHeard(t: number): void {
    for (const s of this.scheduled) {
      if (s.start > t) break;
      if (this.heard.has(s.turnId)) continue;
      this.heard.add(s.turnId);
      this.cb.onHeard?.(s.turnId, Math.max(0, (t - s.start) * 1000));
    }
  }

  private setMouth(value: number, at = this.ctx?.currentTime ?? 0): void {
    if (value === this.mouth) return;
    this.mouth = value;
    this.cb.onMouth(value, at);
  }
}
