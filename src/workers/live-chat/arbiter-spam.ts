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
  if (text.length >= 20 && capsShare(text) > 0.8) return 'caps wall';
  if (linksOf(text).length >= 3) return 'link wall';
  return undefined;
}

/** Share of upper case among 20+ cased letters (0 when fewer). Han, kana, Hangul have no case: skipped cheaply. */
function capsShare(text: string): number {
  let upper = 0;
  let lower = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) upper++;
    else if (c >= 97 && c <= 122) lower++;
    else if ((c >= 0xc0 && c <= 0x52f) || (c >= 0xff21 && c <= 0xff5a)) {
      // Latin-1 / Latin Extended / Greek / Cyrillic, full-width Latin: ask Unicode.
      const ch = text[i]!;
      const lo = ch.toLowerCase();
      if (lo !== ch.toUpperCase()) {
        if (ch === lo) lower++;
        else upper++;
      }
    }
  }
  return upper + lower >= 20 ? upper / (upper + lower) : 0;
}

/**
 * The key under which two texts are "the same": folded (case, width), letters and digits only, runs
 * of one character capped at three ("lolllll" = "lolll"). Emoji-only texts keep their symbols.
 */
export function duplicateKey(text: string, folded?: string): string {
  const f = folded ?? fold(text);
  const core = f.replace(/[^\p{L}\p{N}]+/gu, '');
  return (core || f.replace(/\s+/gu, '')).replace(/(.)\1{3,}/gsu, '$1$1$1');
}

/**
 * A first-in first-out log of (key, time) with a moving head: the stale front is dropped in O(1)
 * per entry. (Deleting from the front of a Map and iterating it from the start again is O(holes)
 * per call in V8 until the table is rehashed, which made the window tables the arbiter's top cost.)
 */
class TimeLog {
  private keys: string[] = [];
  private times: number[] = [];
  private head = 0;

  push(key: string, t: number): void {
    this.keys.push(key);
    this.times.push(t);
  }

  /** The oldest entry, if any. */
  peek(): { key: string; t: number } | undefined {
    return this.head < this.keys.length ? { key: this.keys[this.head]!, t: this.times[this.head]! } : undefined;
  }

  shift(): void {
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.keys.length) {
      this.keys = this.keys.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }

  get length(): number {
    return this.keys.length - this.head;
  }
}

/**
 * Keys last seen within `windowMs`. `touch` records a sighting; past `max` keys the stalest go early
 * (a flood can only shorten the memory, never grow it).
 */
export class RecentKeys {
  private readonly seen = new Map<string, number>();
  private readonly log = new TimeLog();
  constructor(
    private readonly windowMs: number,
    private readonly max = TABLE_MAX,
  ) {}

  /** Whether `key` was seen within the window; records it as seen now either way. */
  touch(key: string, now: number): boolean {
    this.sweep(now);
    const last = this.seen.get(key);
    const hit = last !== undefined && now - last < this.windowMs;
    this.seen.set(key, now);
    this.log.push(key, now);
    while (this.seen.size > this.max) this.dropOldest();
    return hit;
  }

  has(key: string, now: number): boolean {
    const last = this.seen.get(key);
    return last !== undefined && now - last < this.windowMs;
  }

  sweep(now: number): void {
    for (let e = this.log.peek(); e && now - e.t >= this.windowMs; e = this.log.peek()) this.dropOldest();
  }

  /** Drops the oldest log entry, and its key unless that key was seen again later. */
  private dropOldest(): void {
    const e = this.log.peek();
    if (!e) return;
    this.log.shift();
    if (this.seen.get(e.key) === e.t) this.seen.delete(e.key);
  }

  get size(): number {
    return this.seen.size;
  }

  /** Rough bytes held (UTF-16 keys in the map and the log, plus entry overhead). */
  bytes(): number {
    let n = this.log.length * 24;
    for (const k of this.seen.keys()) n += k.length * 2 + 48;
    return n;
  }
}

/** At most `max` accepted messages per author per `windowMs` (a sliding window of accept times). */
export class RateLimiter {
  /** Accept times per author, oldest first. */
  private readonly times = new Map<string, number[]>();
  private readonly log = new TimeLog();
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly maxAuthors = TABLE_MAX,
  ) {}

  /** Whether `author` may send one more now; when so, the message is counted. */
  allow(author: string, now: number): boolean {
    for (let e = this.log.peek(); e && now - e.t >= this.windowMs; e = this.log.peek()) this.dropOldest();
    let list = this.times.get(author);
    if (list && list.length >= this.max) return false;
    if (!list) this.times.set(author, (list = []));
    list.push(now);
    this.log.push(author, now);
    while (this.times.size > this.maxAuthors) this.dropOldest();
    return true;
  }

  private dropOldest(): void {
    const e = this.log.peek();
    if (!e) return;
    this.log.shift();
    const list = this.times.get(e.key);
    if (!list) return;
    list.shift();
    if (list.length === 0) this.times.delete(e.key);
  }

  get size(): number {
    return this.times.size;
  }

  bytes(): number {
    let n = this.log.length * 24;
    for (const [k, list] of this.times) n += k.length * 2 + 64 + list.length * 8;
    return n;
  }
}
