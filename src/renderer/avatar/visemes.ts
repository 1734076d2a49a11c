/**
 * TTS visemes (mouth shapes with times, where the engine gives them: flite does) laid out on the
 * player's clock, without the DOM. A chunk's visemes carry times from the start of their sentence,
 * so each sentence is anchored where its first chunk is scheduled to play; the shape at the
 * playing position then gives the mouth its form (spread for I/E, rounded for U/O) and narrows or
 * closes it for the consonants that shut the lips (M, F). The loudness envelope still decides how
 * far the mouth opens.
 */
import type { Viseme } from '../../shared/voice.js';
import type { MouthShape } from './mouth.js';

/** Per viseme: mouth form in [-1, 1] (negative round, positive spread) and a factor on the opening. */
export const VISEME_SHAPES: Readonly<Record<string, { form: number; open: number }>> = {
  sil: { form: 0, open: 0 },
  A: { form: 0, open: 1 },
  I: { form: 0.7, open: 0.55 },
  U: { form: -0.7, open: 0.6 },
  E: { form: 0.4, open: 0.8 },
  O: { form: -0.5, open: 0.9 },
  M: { form: 0, open: 0.1 },
  F: { form: 0.2, open: 0.3 },
  T: { form: 0.2, open: 0.6 },
};

interface Sentence {
  turnId: string;
  key: string;
  start: number;
  end: number;
  /** Absolute start times (same clock as `start`), ascending, with their shape. */
  marks: { at: number; v: string }[];
}

/** Sentences remembered (older ones are dropped as playback passes them). */
const MAX_SENTENCES = 64;

export class VisemeTrack {
  private sentences: Sentence[] = [];

  /**
   * A chunk scheduled to play from `start` to `end` (seconds on the caller's clock). `index` is its
   * sentence within the turn, `chunk` its position in the sentence (0 anchors the sentence).
   */
  add(turnId: string, index: number, chunk: number, start: number, end: number, visemes: readonly Viseme[]): void {
    const key = `${turnId}:${index}`;
    let s = this.sentences.find((x) => x.key === key);
    if (!s || chunk === 0) {
      if (s) this.sentences = this.sentences.filter((x) => x !== s);
      s = { turnId, key, start, end, marks: [] };
      this.sentences.push(s);
      if (this.sentences.length > MAX_SENTENCES) this.sentences.shift();
    }
    s.end = Math.max(s.end, end);
    for (const v of visemes) s.marks.push({ at: s.start + v.t_ms / 1000, v: v.v });
    s.marks.sort((a, b) => a.at - b.at);
  }

  /** The viseme playing at `t`, or undefined (no sentence with visemes there). */
  visemeAt(t: number): string | undefined {
    for (const s of this.sentences) {
      if (t < s.start || t >= s.end || s.marks.length === 0) continue;
      let found: string | undefined;
      for (const m of s.marks) {
        if (m.at > t) break;
        found = m.v;
      }
      return found;
    }
    return undefined;
  }

  /** Forgets a turn's sentences (all without a turn): a stop. */
  stop(turnId?: string): void {
    this.sentences = turnId === undefined ? [] : this.sentences.filter((s) => s.turnId !== turnId);
  }

  /** Drops sentences that ended before `t`. */
  prune(t: number): void {
    this.sentences = this.sentences.filter((s) => s.end > t);
  }
}

/**
 * The mouth for a loudness-derived opening and the viseme at the same moment (if any): the
 * viseme shapes it; without one the opening alone drives the mouth and the form is left alone.
 */
export function shapeMouth(open: number, viseme: string | undefined): MouthShape {
  const shape = viseme === undefined ? undefined : VISEME_SHAPES[viseme];
  if (!shape) return { open };
  return { open: open * shape.open, form: shape.form };
}
