/**
 * Text handling for long-term memory, with no model: the terms a memory is indexed and searched by,
 * when a text is too trivial to keep, and how alike two texts are (for dedupe).
 *
 * Terms: NFKC, lower case. Latin-script (and other space-separated) words of 2+ characters that are
 * not stop words (English function words, greetings and fillers) — possessive 's is dropped so
 * "cat's" finds "cat" — with a light English suffix stemmer (plural -s/-es/-ies, -ed, -ing; the
 * core of Porter's step 1) so "called"/"calls"/"calling" all give "call". The same terms feed the
 * FTS5 index (unicode61 tokenizer over the space-joined terms), the queries and the dedupe, so they
 * always agree. Runs of CJK characters (no spaces between words) become overlapping bigrams ("我的猫叫"
 * -> 我的 的猫 猫叫), the usual way to search Chinese/Japanese without a segmenter; a lone CJK
 * character stays a unigram.
 */

const STOP_WORDS = new Set(
  (
    // English function words
    'a an the and or but if then else of to in on at by for with from into onto about as is am are was were be been being ' +
    'do does did doing done have has had having i me my mine myself you your yours yourself he him his she her hers it its ' +
    'we us our ours they them their theirs this that these those there here what which who whom whose when where why how ' +
    'not no nor so too very can could will would shall should may might must just also only than such both each few more most ' +
    'other some any all own same again once up down out off over under further s t d ll m o re ve y ' +
    "don didn doesn isn aren wasn weren won wouldn couldn shouldn let lets it's i'm you're " +
    // Greetings, thanks, fillers and chat noise (a text made only of these is trivial)
    'hi hello hey yo hiya howdy greetings bye goodbye cya thanks thank thx ty please pls ok okay okey k yes yeah yep yup nope ' +
    'sure cool nice wow lol lmao rofl haha hahaha hehe hmm hm uh um oh ah er well good morning evening afternoon night gn gm ' +
    'welcome back great awesome really right oops xd'
  ).split(/\s+/),
);

/** CJK chat noise: greetings and fillers that make no memory on their own. */
const CJK_TRIVIAL = /^(你好|您好|哈+|嗯+|好的?|谢谢|谢谢你|再见|拜拜|早上好|晚上好|晚安|早安|こんにちは|こんばんは|おはよう|ありがとう|はい|うん|草|안녕하세요|감사합니다|네)$/u;

const CJK_CHAR = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
/** Tokens: runs of CJK characters, or runs of other letters/digits (with inner apostrophes). */
const TOKEN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+|[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu;

const VOWEL = /[aeiouy]/;

/** Short stem ending consonant-vowel-consonant (not w, x, y): "nam" from "named" gets its e back. */
function shortCvc(w: string): boolean {
  if (w.length > 3 || w.length < 2) return false;
  const [a, b, c] = [w[w.length - 3] ?? 'b', w[w.length - 2]!, w[w.length - 1]!];
  return !VOWEL.test(a) && VOWEL.test(b) && !/[aeiouwxy]/.test(c);
}

/** Light English stemmer (Porter step 1a/1b): plurals, -ed, -ing. Non-ASCII words are left alone. */
export function stem(w: string): string {
  if (w.length <= 3 || !/^[a-z]+$/.test(w)) return w;
  if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('ies')) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith('s') && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1);
  for (const suffix of ['ing', 'ed']) {
    if (!w.endsWith(suffix)) continue;
    const base = w.slice(0, -suffix.length);
    if (base.length < 2 || !VOWEL.test(base)) break;
    if (/(at|bl|iz)$/.test(base) || shortCvc(base)) return `${base}e`;
    if (/([^aeiouylsz])\1$/.test(base)) return base.slice(0, -1);
    return base;
  }
  return w;
}

export function normalise(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/** Index/search terms of a text, in order, with repeats (see the file comment). */
export function terms(text: string): string[] {
  const out: string[] = [];
  for (const tok of normalise(text).match(TOKEN) ?? []) {
    if (CJK_CHAR.test(tok[0]!)) {
      const cps = [...tok];
      if (cps.length === 1) out.push(tok);
      else for (let i = 0; i + 1 < cps.length; i++) out.push(cps[i]! + cps[i + 1]!);
      continue;
    }
    const word = tok.replace(/['’]s$/u, '').replace(/['’]/gu, '');
    if (word.length < 2 || STOP_WORDS.has(word)) continue;
    out.push(stem(word));
  }
  return out;
}

/** Distinct terms. */
export function termSet(text: string): Set<string> {
  return new Set(terms(text));
}

/** Letters and digits only, lower case: equal for texts that differ only in spacing, case or punctuation. */
export function canonical(text: string): string {
  return (normalise(text).match(/[\p{L}\p{N}]+/gu) ?? []).join(' ');
}

/**
 * Too trivial to remember: greetings, thanks, fillers, one-word reactions — fewer than two content
 * terms (a CJK text needs at least two bigrams, i.e. three characters, and no greeting formula).
 */
export function isTrivial(text: string): boolean {
  const c = canonical(text);
  if (c.length < 4) return true;
  if (CJK_TRIVIAL.test(c.replace(/\s+/g, ''))) return true;
  return new Set(terms(text)).size < 2;
}

/** Jaccard similarity of two term sets (1 = same terms). */
export function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  for (const t of a) if (b.has(t)) inter++;
  return inter / (a.size + b.size - inter);
}

/**
 * An FTS5 MATCH expression that finds texts sharing any term with `text` (OR of quoted terms, so
 * no user input is read as FTS syntax). Undefined when the text has no terms.
 */
export function matchQuery(text: string, maxTerms = 32): string | undefined {
  const uniq = [...termSet(text)].slice(0, maxTerms);
  if (uniq.length === 0) return undefined;
  return uniq.map((t) => `"${t.replace(/"/g, '""')}"`).join(' OR ');
}
