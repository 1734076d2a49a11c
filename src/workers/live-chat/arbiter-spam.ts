/**
 * The arbiter's defences against noise: spam heuristics for one message (copy-pasta walls, repeated
 * characters, all-caps walls, link walls), the key under which two messages count as the same text,
 * and two bounded time-window tables (recent keys, per-author rate counts). Every table here is
 * bounded by both time and entry count, so a flood of unique authors or texts cannot grow memory.
 */
import { fold } from './arbiter-priority.js';

/** Same normalised text from anyone within this window: the later ones are dropped as duplicates, ms. */
export const DUPLICATE_WINDOW_MS = 30_000;
/** The same link posted again within this window (by anyone) is link spam, ms. */
export const LINK_WINDOW_MS = 120_000;
/** Most entries a window table keeps; past it the stalest go (a flood can only shorten the memory). */
export const TABLE_MAX = 20_000;

const LINK_RE = /\b(?:https?:\/\/|www\.)[^\s<>"']+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|gg|tv|ly|me|xyz|top|cn|ru|co|info|link|live|shop)(?:\/[^\s<>"']*)?/giu;

/** The links in a text, normalised (no scheme, no www., no trailing slash, lower case). */
export function linksOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(LINK_RE)) {
    const l = m[0]
      .toLowerCase()
      .replace(/^https?:\/\//, '')
      .replace(/^www\./, '')
      .replace(/[/.,!?)]+$/, '');
    if (l) out.push(l);
  }
  return out;
}

/**
 * Why this text is spam, or undefined. Chosen so ordinary chat passes: "哈哈哈哈" and "666" pass,
 * a 30-character run of "哈" or "6" does not.
 *   repeated characters  a unit of 1-8 characters repeated over 24+ characters in a row
 *   repeated words       12+ words of which under 35 % are different (copy-pasta walls)
 *   caps wall            20+ letters, over 80 % of the cased letters upper case
 *   link wall            3 or more links in one message
 */
export function spamReason(text: string): string | undefined {
  if (text.length >= 24 && /(.{1,8}?)\1{2,}/su.test(text)) {
    const run = /(.{1,8}?)\1{2,}/gsu;
    for (const m of text.matchAll(run)) if ([...m[0]].length >= 24) return 'repeated characters';
  }
  const words = text.split(/\s+/u).filter(Boolean);
  if (words.length >= 12) {
    const distinct = new Set(words.map((w) => w.toLowerCase())).size;
    if (distinct / words.length < 0.35) return 'repeated words';
  }
  let upper = 0;
  let lower = 0;
  for (const ch of text) {
    if (ch >= 'A' && ch <= 'Z') upper++;
    else if (ch >= 'a' && ch <= 'z') lower++;
    else if (ch > '\u007f' && ch.toLowerCase() !== ch.toUpperCase()) {
      if (ch === ch.toUpperCase()) upper++;
      else lower++;
    }
  }
  if (upper + lower >= 20 && upper / (upper + lower) > 0.8) return 'caps wall';
  if (linksOf(text).length >= 3) return 'link wall';
  return undefined;
}

/**
 * The key under which two texts are "the same": folded (case, width), letters and digits only, runs
 * of one character capped at three ("lolllll" = "lolll"). Emoji-only texts keep their symbols.
 */
export function duplicateKey(text: string): string {
  const f = fold(text);
  const core = f.replace(/[^\p{L}\p{N}]+/gu, '');
  return (core || f.replace(/\s+/gu, '')).replace(/(.)\1{3,}/gsu, '$1$1$1');
}

/**
 * Keys last seen within `windowMs`, oldest first (a Map keeps insertion order; a touch re-inserts).
 * `sweep` drops the stale front; past `max` entries the stalest go early.
 */
export class RecentKeys {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly windowMs: number,
    private readonly max = TABLE_MAX,
  ) {}

  /** Whether `key` was seen within the window; records it as seen now either way. */
  touch(key: string, now: number): boolean {
    this.sweep(now);
    const last = this.seen.get(key);
    const hit = last !== undefined && now - last < this.windowMs;
    this.seen.delete(key);
    this.seen.set(key, now);
    if (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value!);
    return hit;
  }

  has(key: string, now: number): boolean {
    const last = this.seen.get(key);
    return last !== undefined && now - last < this.windowMs;
  }

  sweep(now: number): void {
    for (const [k, t] of this.seen) {
      if (now - t < this.windowMs) break;
      this.seen.delete(k);
    }
  }

  get size(): number {
    return this.seen.size;
  }

  /** Rough bytes held (UTF-16 keys plus Map entry overhead). */
  bytes(): number {
    let n = 0;
    for (const k of this.seen.keys()) n += k.length * 2 + 48;
    return n;
  }
}

/** At most `max` accepted messages per author per `windowMs` (a sliding window of accept times). */
export class RateLimiter {
  private readonly times = new Map<string, number[]>();
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly maxAuthors = TABLE_MAX,
  ) {}

  /** Whether `author` may send one more now; when so, the message is counted. */
  allow(author: string, now: number): boolean {
    this.sweep(now);
    const list = (this.times.get(author) ?? []).filter((t) => now - t < this.windowMs);
    if (list.length >= this.max) return false;
    list.push(now);
    // Re-inserted last: the Map stays ordered by last activity, so the sweep stops at the first live one.
    this.times.delete(author);
    this.times.set(author, list);
    if (this.times.size > this.maxAuthors) this.times.delete(this.times.keys().next().value!);
    return true;
  }

  private sweep(now: number): void {
    for (const [k, list] of this.times) {
      if (now - list[list.length - 1]! < this.windowMs) break;
      this.times.delete(k);
    }
  }

  get size(): number {
    return this.times.size;
  }

  bytes(): number {
    let n = 0;
    for (const [k, list] of this.times) n += k.length * 2 + 64 + list.length * 8;
    return n;
  }
}
