/**
 * Finding banned words, phrases and names in text, the same way for chat coming in (live-chat's
 * InboundFilter) and for the avatar's sentences going out (OutputFilter):
 *   - case- and width-insensitive: each character is NFKC-normalised and lower-cased, so full-width
 *     "ＢＡＤ" is "bad"; Latin letters also lose their accents ("bád" is "bad"); Cyrillic and Greek
 *     letters that look like Latin ones are read as those ("bаd" with a Cyrillic а is "bad"), on
 *     both sides, so a Russian entry still matches Russian text;
 *   - spacing-insensitive: only letters, digits and marks are compared. Visible separators between
 *     them (spaces, dots, dashes, emoji) are gaps; invisible ones (zero-width space, soft hyphen) are
 *     dropped as if absent;
 *   - whole words where the script has them: "bad" is not in "badge" nor "abad". Chinese, Japanese,
 *     Korean, Thai... have no spaces between words, so a word in those scripts matches anywhere;
 *   - evasions caught: letters spaced out one by one ("b a d", "b.a.d", "笨 蛋"); a gap anywhere
 *     else inside a match must be where the banned phrase itself has one ("kill yourself"). This
 *     keeps "he'll" from matching "hell" and "我很笨，蛋糕" from matching "笨蛋".
 * A banned entry with no letter or digit at all (an emoji) is matched as a plain substring.
 *
 * Matching walks a trie of the folded entries from every folded position: linear in the text for
 * any number of entries (no regex built from user input).
 */

/** One entry's place in the text: `text.slice(start, end)` is what matched `word`. */
export interface Match {
  start: number;
  end: number;
  /** The entry as it was given (the word list's line). */
  word: string;
}

/**
 * Text folded for matching: the compared characters (code points) and, for each, where it came
 * from in the original string, whether a visible separator comes right before it, and the length
 * of the separator-free run it belongs to.
 */
export interface Folded {
  /** How many characters are compared (the arrays may be longer). */
  length: number;
  cps: Int32Array;
  from: Int32Array;
  to: Int32Array;
  gapBefore: Uint8Array;
  runLen: Int32Array;
}

/** Room for `n` characters (NFKC may expand one into several: grown on demand). */
function alloc(n: number): Folded {
  return { length: 0, cps: new Int32Array(n), from: new Int32Array(n), to: new Int32Array(n), gapBefore: new Uint8Array(n), runLen: new Int32Array(n) };
}

function grow(f: Folded): Folded {
  const g = alloc(f.cps.length * 2 + 8);
  g.length = f.length;
  g.cps.set(f.cps);
  g.from.set(f.from);
  g.to.set(f.to);
  g.gapBefore.set(f.gapBefore);
  return g;
}

const COMPARED = /[\p{L}\p{N}\p{M}]/u;
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;
const LATIN = /\p{Script=Latin}/u;
const MARKS = /\p{M}/gu;
/** Scripts written without spaces between words (Korean attaches its particles to the word). */
const NO_WORD_BREAKS =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}\p{Script=Tibetan}]/u;

/** The folded form of one grapheme: NFKC, Latin accents dropped, lower case. */
function foldGrapheme(g: string): string {
  const s = g.normalize('NFKC').toLowerCase();
  if (LATIN.test(s)) return s.normalize('NFD').replace(MARKS, '').normalize('NFC');
  const look = LOOKALIKES.get(s);
  return look ?? s;
}

/** Lower-case Cyrillic and Greek letters read as the Latin letter they look like (upper or lower case). */
const LOOKALIKES = new Map<string, string>([
  ['а', 'a'], ['в', 'b'], ['е', 'e'], ['ё', 'e'], ['к', 'k'], ['м', 'm'], ['н', 'h'], ['о', 'o'], ['р', 'p'], ['с', 'c'],
  ['т', 't'], ['у', 'y'], ['х', 'x'], ['і', 'i'], ['ї', 'i'], ['ј', 'j'], ['ѕ', 's'], ['ԁ', 'd'], ['һ', 'h'], ['ԛ', 'q'], ['ԝ', 'w'],
  ['α', 'a'], ['β', 'b'], ['ε', 'e'], ['η', 'n'], ['ι', 'i'], ['κ', 'k'], ['ν', 'v'], ['ο', 'o'], ['ρ', 'p'], ['τ', 't'], ['υ', 'u'], ['χ', 'x'],
]);

/**
 * Characters whose folded form is themselves, tested by range (no normalisation needed): CJK
 * ideographs, Hangul syllables, kana. Only when no combining mark follows (checked by the caller).
 */
function foldsToItself(c: number): boolean {
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0x3041 && c <= 0x3096) || (c >= 0x30a1 && c <= 0x30fa);
}

/** Whether the UTF-16 unit `c` may be (the start of) a combining mark. */
function mayBeMark(c: number): boolean {
  return c >= 0x300 && !foldsToItself(c) && MARK.test(String.fromCharCode(c));
}
const MARK = /\p{M}/u;
const GRAPHEME_AT = /\P{M}\p{M}*|\p{M}+/uy;

/** Folds `text` for matching (see the header). */
export function fold(text: string): Folded {
  const n = text.length;
  let f = alloc(n);
  let gap = false;
  for (let i = 0; i < n; ) {
    let c = text.charCodeAt(i);
    // Fast paths (most chat): ASCII, full-width ASCII, CJK, with no combining mark after it.
    if ((c < 0x80 || (c >= 0xff01 && c <= 0xff5e) || foldsToItself(c)) && (i + 1 >= n || !mayBeMark(text.charCodeAt(i + 1)))) {
      if (c >= 0xff01 && c <= 0xff5e) c -= 0xfee0;
      if (c >= 65 && c <= 90) c += 32;
      if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c >= 0x80) {
        // Room for one more: at most n in the fast path, grown only after an expanding grapheme.
        if (f.length === f.cps.length) f = grow(f);
        const k = f.length++;
        f.gapBefore[k] = gap && k > 0 ? 1 : 0;
        f.cps[k] = c;
        f.from[k] = i;
        f.to[k] = i + 1;
        gap = false;
      } else gap = true;
      i++;
      continue;
    }
    GRAPHEME_AT.lastIndex = i;
    const g = GRAPHEME_AT.exec(text)![0];
    for (const ch of foldGrapheme(g)) {
      if (COMPARED.test(ch)) {
        if (f.length === f.cps.length) f = grow(f);
        const k = f.length++;
        f.gapBefore[k] = gap && k > 0 ? 1 : 0;
        f.cps[k] = ch.codePointAt(0)!;
        f.from[k] = i;
        f.to[k] = i + g.length;
        gap = false;
      } else if (!INVISIBLE.test(ch)) gap = true;
    }
    i += g.length;
  }
  // Length of each separator-free run, for the spaced-out-letters rule.
  for (let i = 0; i < f.length; ) {
    let j = i + 1;
    while (j < f.length && !f.gapBefore[j]) j++;
    f.runLen.fill(j - i, i, j);
    i = j;
  }
  return f;
}

/** The folded text as a plain string (for comparing two names). */
export function foldedString(text: string): string {
  const f = fold(text);
  return String.fromCodePoint(...f.cps.subarray(0, f.length));
}

function noWordBreaks(cp: number): boolean {
  return cp > 0x2e7f && (foldsToItself(cp) || NO_WORD_BREAKS.test(String.fromCodePoint(cp)));
}

interface Entry {
  word: string;
  /** Offsets (in folded characters) where the entry itself has a separator. */
  gaps: Set<number>;
  length: number;
}

interface Node {
  next: Map<number, Node>;
  entry?: Entry;
}

export class WordMatcher {
  private readonly root: Node = { next: new Map() };
  private readonly literals: string[] = [];
  private count = 0;

  constructor(words: Iterable<string> = []) {
    for (const w of words) this.add(w);
  }

  /** Number of entries that can match. */
  get size(): number {
    return this.count;
  }

  /** Adds an entry (a word, a phrase or a name); blank ones are ignored. */
  add(word: string): void {
    const w = word.trim();
    if (!w) return;
    const f = fold(w);
    if (f.length === 0) {
      const lit = w.normalize('NFKC').toLowerCase();
      if (!this.literals.some((l) => l === lit)) {
        this.literals.push(lit);
        this.count++;
      }
      return;
    }
    let node = this.root;
    for (const cp of f.cps.subarray(0, f.length)) {
      let next = node.next.get(cp);
      if (!next) node.next.set(cp, (next = { next: new Map() }));
      node = next;
    }
    const gaps = new Set<number>();
    for (let k = 1; k < f.length; k++) if (f.gapBefore[k]) gaps.add(k);
    if (node.entry) for (const g of gaps) node.entry.gaps.add(g);
    else {
      node.entry = { word: w, gaps, length: f.length };
      this.count++;
    }
  }

  /** The first entry found in `text`, or undefined. */
  first(text: string): Match | undefined {
    return this.scan(text, true)[0];
  }

  /** Every entry found in `text`, leftmost-longest and not overlapping, in text order. */
  all(text: string): Match[] {
    return this.scan(text, false);
  }

  private scan(text: string, one: boolean): Match[] {
    if (this.count === 0 || !text) return [];
    const out: Match[] = [];
    for (const lit of this.literals) {
      for (let at = text.indexOf(lit); at >= 0; at = text.indexOf(lit, at + lit.length)) {
        out.push({ start: at, end: at + lit.length, word: lit });
        if (one) return out;
      }
    }
    if (this.root.next.size) {
      const f = fold(text);
      const n = f.length;
      for (let i = 0; i < n; ) {
        let node = this.root.next.get(f.cps[i]!);
        let best: Entry | undefined;
        for (let j = i + 1; node; j++) {
          if (node.entry && this.accepts(f, i, j, node.entry)) best = node.entry;
          if (j >= n) break;
          node = node.next.get(f.cps[j]!);
        }
        if (!best) {
          i++;
          continue;
        }
        const end = i + best.length;
        out.push({ start: f.from[i]!, end: f.to[end - 1]!, word: best.word });
        if (one) return out;
        i = end;
      }
    }
    return out.length > 1 ? mergeMatches(out) : out;
  }

  /** Whether folded [i, j) is a real occurrence of `e`: word boundaries, and only allowed gaps inside. */
  private accepts(f: Folded, i: number, j: number, e: Entry): boolean {
 const { cps, gapBefore, runLen } = f;
    if (i > 0 && !gapBefore[i] && !noWordBreaks(cps[i - 1]!) && !noWordBreaks(cps[i]!)) return false;
    if (j < f.length && !gapBefore[j] && !noWordBreaks(cps[j - 1]!) && !noWordBreaks(cps[j]!)) return false;
    for (let k = i + 1; k < j; k++) {
      if (!gapBefore[k] || e.gaps.has(k - i)) continue;
      if (runLen[k - 1] !== 1 || runLen[k] !== 1) return false;
    }
    return true;
  }
}

/** Sorted by start, the earlier (then the longer) of two overlapping matches kept. */
export function mergeMatches(ms: Match[]): Match[] {
  ms.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Match[] = [];
  for (const m of ms) if (!out.length || m.start >= out.at(-1)!.end) out.push(m);
  return out;
}

/** `text` with every match replaced by `replacement`. */
export function replaceMatches(text: string, matches: readonly Match[], replacement: string): string {
  let out = '';
  let at = 0;
  for (const m of matches) {
    out += text.slice(at, m.start) + replacement;
    at = m.end;
  }
  return out + text.slice(at);
}
