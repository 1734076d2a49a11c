/** Small helpers shared by the tts tests. */
import type { AudioPiece } from '../../../src/workers/tts/engine.js';

export async function collect(it: AsyncIterable<AudioPiece>): Promise<AudioPiece[]> {
  const out: AudioPiece[] = [];
  for await (const p of it) out.push(p);
  return out;
}

/** Pieces with the time each arrived (performance.now()). */
export async function collectTimed(it: AsyncIterable<AudioPiece>): Promise<Array<AudioPiece & { at: number }>> {
  const out: Array<AudioPiece & { at: number }> = [];
  for await (const p of it) out.push({ ...p, at: performance.now() });
  return out;
}

export function concat(pieces: AudioPiece[]): Float32Array {
  const n = pieces.reduce((k, p) => k + p.samples.length, 0);
  const out = new Float32Array(n);
  let off = 0;
  for (const p of pieces) {
    out.set(p.samples, off);
    off += p.samples.length;
  }
  return out;
}

export const signal = (): AbortSignal => new AbortController().signal;
