/**
 * Mouth movement without the audio: for a window whose session plays the reply elsewhere (a view
 * socket, or a studio that gave the audio to an overlay), the gateway sends each chunk's
 * `audio_timing` (loudness envelope, duration) instead of its PCM. The chunks are laid out back to
 * back on this page's clock the way the player schedules audio (a chunk that arrives after the
 * previous one ended starts LEAD_S from now), so the mouth follows the voice that plays in the
 * other window, give or take the two windows' output latencies.
 *
 * No DOM: times are seconds on any monotonic clock the caller passes in (performance.now() / 1000
 * on the page, plain numbers in tests).
 */
import type { ClientEvent } from '../../shared/voice.js';

export type AudioTimingEvent = Extract<ClientEvent, { type: 'audio_timing' }>;

/** Start of the first chunk after a pause, from the moment it arrives (the player's lead). */
export const LEAD_S = 0.03;

/** One chunk's loudness envelope laid out in time. */
export interface EnvelopeSpan {
  turnId: string;
  start: number;
  end: number;
  envelope: readonly number[];
  frameMs: number;
}

/** The envelope of `span` at time `t` (linear between frames), in [0, 1]. */
export function envelopeAt(span: EnvelopeSpan, t: number): number {
  const pos = ((t - span.start) * 1000) / span.frameMs;
  const i = Math.floor(pos);
  const a = span.envelope[i] ?? 0;
  const b = span.envelope[i + 1] ?? a;
  return Math.max(0, Math.min(1, a + (b - a) * (pos - i)));
}

export class MouthTimeline {
  private spans: EnvelopeSpan[] = [];
  private endTime = 0;
  private readonly stopped = new Set<string>();

  /** Adds a chunk's timing that arrived at `now`; returns when it plays (undefined: its turn was stopped). */
  add(timing: AudioTimingEvent, now: number): { start: number; end: number } | undefined {
    if (this.stopped.has(timing.turn_id)) return undefined;
    const start = this.endTime < now + 0.005 ? now + LEAD_S : this.endTime;
    const end = start + timing.duration_ms / 1000;
    this.spans.push({ turnId: timing.turn_id, start, end, envelope: timing.envelope, frameMs: timing.envelope_frame_ms });
    this.endTime = end;
    return { start, end };
  }

  /** Forgets a turn's chunks (all chunks without a turn): the mouth closes at once. */
  stop(turnId?: string): void {
    this.spans = turnId === undefined ? [] : this.spans.filter((s) => s.turnId !== turnId);
    if (turnId !== undefined) {
      this.stopped.add(turnId);
      if (this.stopped.size > 64) this.stopped.delete(this.stopped.values().next().value!);
    }
    this.endTime = this.spans.at(-1)?.end ?? 0;
  }

  /** The mouth-open value at `t`; drops the chunks that are over. */
  valueAt(t: number): number {
    while (this.spans.length > 0 && this.spans[0]!.end <= t) this.spans.shift();
    const s = this.spans[0];
    return s && t >= s.start ? envelopeAt(s, t) : 0;
  }

  /** Chunks still to play (the caller keeps its clock ticking while true). */
  get busy(): boolean {
    return this.spans.length > 0;
  }
}
