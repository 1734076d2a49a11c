/**
 * Test speech: sentences spoken by Debian's `flite` (its 16 kHz voices: slt, kal16, rms, awb; the
 * default `kal` is 8 kHz), read as 16 kHz Float32 PCM, and the word error rate of a transcript.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWav, resample } from '../../../src/workers/audio/pcm.js';

export const RATE = 16_000;

/** Sentences written for these tests (not the ones in FIELD-NOTES). */
export const SENTENCES = [
  'turn on the lights in the kitchen',
  'what time does the stream start tomorrow',
  'please read the next message from the chat',
  'i think the new song sounds really good',
  'can you tell me a story about a dragon',
  'we should play another game after this one',
  'my brother bought a new car last week',
  'thank you for the kind words everyone',
  'how many people are watching right now',
  'the weather is cold and rainy today',
  'do you like cats or dogs better',
  'let us take a short break and come back soon',
] as const;

export const VOICES = ['slt', 'kal16', 'rms', 'awb'] as const;

const cache = new Map<string, Float32Array>();

/** `text` spoken by flite's `voice`, 16 kHz mono (flite's own leading/trailing silence kept). */
export function say(text: string, voice: string = 'slt'): Float32Array {
  const key = `${voice}\u0000${text}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const dir = mkdtempSync(join(tmpdir(), 'fav-asr-say-'));
  try {
    const file = join(dir, 'say.wav');
    execFileSync('flite', ['-voice', voice, '-t', text, '-o', file], { stdio: 'ignore' });
    const pcm = parseWav(readFileSync(file));
    const out = resample(pcm.samples, pcm.sampleRate, RATE);
    cache.set(key, out);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function silence(ms: number): Float32Array {
  return new Float32Array(Math.round((ms / 1000) * RATE));
}

/** Low-level white noise (deterministic), amplitude in [-amp, amp]. */
export function noise(ms: number, amp = 0.01, seed = 1): Float32Array {
  const out = new Float32Array(Math.round((ms / 1000) * RATE));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (((x >>> 0) / 0xffffffff) * 2 - 1) * amp;
  }
  return out;
}

export function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Index of the first and one past the last sample louder than `threshold` (the speech's span). */
export function speechSpan(pcm: Float32Array, threshold = 0.02): { start: number; end: number } {
  let start = 0;
  while (start < pcm.length && Math.abs(pcm[start]!) < threshold) start++;
  let end = pcm.length;
  while (end > start && Math.abs(pcm[end - 1]!) < threshold) end--;
  return { start, end };
}

const words = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z' ]/g, ' ')
    .split(/\s+/)
    .filter(Boolean);

/** Word-level edit distance between reference and hypothesis, and the reference's length. */
export function wordErrors(ref: string, hyp: string): { errors: number; words: number } {
  const r = words(ref);
  const h = words(hyp);
  let prev = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const cur = [i];
    for (let j = 1; j <= h.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (r[i - 1] === h[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return { errors: prev[h.length]!, words: r.length };
}

/** At least half of the reference's words came out right (enough to tell whose transcript it is). */
export function mostlyHeard(ref: string, hyp: string): boolean {
  const e = wordErrors(ref, hyp);
  return e.errors * 2 <= e.words;
}
