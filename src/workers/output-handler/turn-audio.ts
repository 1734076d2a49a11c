/**
 * Puts one turn's TTS chunks in play order: sentence `index`, then `chunk` within the sentence,
 * with a gap-free `seq` over the turn. Several TTS instances may finish sentences out of order,
 * so chunks ahead of the next expected one wait here until the gap before them is filled.
 *   - a sentence whose error arrived is skipped (and its later chunks dropped)
 *   - a chunk already played (a sentence re-synthesised after a TTS restart) is dropped
 *   - a chunk without audio (a sentence with nothing to say) only moves the order on
 *   - the turn's audio is complete once every sentence before the `end` marker's index is out
 * Pure bookkeeping: the caller emits what `drain` yields.
 */
import type { TtsAudio } from '../../shared/voice.js';

export class TurnAudio {
  /** seq of the next emitted chunk = chunks emitted so far. */
  seq = 0;
  /** Next sentence to play, and the next chunk within it. */
  nextIndex = 0;
  nextChunk = 0;
  /** Sentence count from the `end` marker, once it arrived. */
  endIndex: number | undefined;
  endSent = false;
  private readonly pending = new Map<number, Map<number, TtsAudio>>();
  private readonly failed = new Set<number>();

  /** Buffers an audio chunk. False when it was dropped (played already, or its sentence failed). */
  add(c: TtsAudio): boolean {
    if (this.failed.has(c.index) || c.index < this.nextIndex || (c.index === this.nextIndex && c.chunk < this.nextChunk)) return false;
    let m = this.pending.get(c.index);
    if (!m) this.pending.set(c.index, (m = new Map()));
    m.set(c.chunk, c);
    return true;
  }

  /** The sentence failed: skip it (chunks of it already emitted stay emitted). */
  fail(index: number): void {
    if (index < this.nextIndex) return;
    this.failed.add(index);
    this.pending.delete(index);
  }

  end(sentences: number): void {
    this.endIndex = sentences;
  }

  /**
   * Emits every chunk that is next in order. `emit(chunk, seq)` is called only for chunks with
   * audio; returns the number of chunks emitted.
   */
  drain(emit: (c: TtsAudio, seq: number) => void): number {
    let n = 0;
    for (;;) {
      if (this.failed.has(this.nextIndex)) {
        this.failed.delete(this.nextIndex);
        this.advanceSentence();
        continue;
      }
      const m = this.pending.get(this.nextIndex);
      const c = m?.get(this.nextChunk);
      if (!c) return n;
      m!.delete(this.nextChunk);
      if (c.pcm_b64 && c.sample_rate) {
        emit(c, this.seq++);
        n++;
      }
      if (c.final) this.advanceSentence();
      else this.nextChunk++;
    }
  }

  /** Every sentence is out and the end marker arrived, and audio_end was not sent yet. */
  get complete(): boolean {
    return !this.endSent && this.endIndex !== undefined && this.nextIndex >= this.endIndex;
  }

  /** Audio is waiting behind a missing chunk (or the end marker behind missing sentences). */
  get stalled(): boolean {
    if (this.endIndex !== undefined && this.nextIndex < this.endIndex) return true;
    for (const i of this.pending.keys()) if (i > this.nextIndex || this.pending.get(i)!.size > 0) return true;
    return false;
  }

  /**
   * Gives up on what is missing: jumps to the earliest buffered chunk (or to the end). Used when a
   * gap did not fill in time (a sentence lost with a dead TTS instance). Returns what was skipped.
   */
  skipGap(): { fromIndex: number; toIndex: number } {
    const fromIndex = this.nextIndex;
    let best: { index: number; chunk: number } | undefined;
    for (const [i, m] of this.pending) {
      for (const k of m.keys()) if (!best || i < best.index || (i === best.index && k < best.chunk)) best = { index: i, chunk: k };
    }
    if (best) {
      this.nextIndex = best.index;
      this.nextChunk = best.chunk;
    } else if (this.endIndex !== undefined) {
      this.nextIndex = this.endIndex;
      this.nextChunk = 0;
    }
    for (const i of this.failed) if (i < this.nextIndex) this.failed.delete(i);
    return { fromIndex, toIndex: this.nextIndex };
  }

  /** Drops everything buffered (the turn was cancelled). */
  clear(): void {
    this.pending.clear();
    this.failed.clear();
  }

  private advanceSentence(): void {
    this.pending.delete(this.nextIndex);
    this.nextIndex++;
    this.nextChunk = 0;
  }
}
