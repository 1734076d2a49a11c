/**
 * Memories by rules, with no model: the fallback while the LLM is unreachable or answers garbage,
 * and all there is with `memory.extraction: rules`.
 *
 * Extraction: fixed English and Simplified Chinese patterns over the user's sentences (name, where
 * from, where they live, likes and dislikes, favourites, a pet or relative called X, birthday,
 * "remember that ...") and the avatar's promises in its own finished reply ("I'll ...", "next time",
 * 我会 / 下次). Each candidate is written in a fixed form per slot ("Has a cat called Mochi",
 * "猫叫Mochi"), so a later candidate for the same slot can find the stored one again (slotOf).
 *
 * Decision: a near-duplicate of a nearest memory is NONE (kept, refreshed); a stored memory of the
 * same slot with another value is UPDATEd ("my cat is called Nori" after "... Mochi"); else ADD.
 *
 * A viewer's words about anyone but themselves are kept only as that viewer's claim, never as a
 * fact about the streamer (pipeline.ts asViewerClaim).
 */
import { MEMORY_TEXT_MAX, type MemoryKind } from '../../../shared/long-term.js';
import { canonical, isTrivial, jaccard, termSet } from '../text.js';

/** Whom a candidate is about, before the speaker is known ('speaker' = whoever spoke this turn). */
export type CandidateSubject = 'speaker' | 'streamer' | 'avatar' | 'world';

export interface Candidate {
  text: string;
  subject: CandidateSubject;
  kind: MemoryKind;
  importance: number;
  /** The speaker's own statement kept as said ("remember that ..."), not a fact in a fixed form. */
  said?: boolean;
}

/** A stored memory as a decision sees it. */
export interface Nearby {
  id: number;
  text: string;
}

export type Decision =
  | { op: 'ADD'; text: string }
  | { op: 'UPDATE'; id: number; text: string }
  | { op: 'DELETE'; id: number }
  | { op: 'NONE'; id?: number };

/** Texts this alike (term Jaccard) are the same memory. */
export const DUPLICATE_SIMILARITY = 0.8;

type Lang = 'en' | 'zh';
interface Slot {
  key: string;
  value: string;
}

const HAN = /\p{Script=Han}/u;
const langOf = (s: string): Lang => (HAN.test(s) ? 'zh' : 'en');

/** A captured value up to the next clause: "Berlin and I like tea" -> "Berlin". */
function clip(v: string | undefined, max = 60): string {
  const s = (v ?? '')
    .split(/\s+(?:and|but|because|so|though|although)(?:\s+|$)|[,;:，、；：]/i)[0]!
    .replace(/^on\s+/i, '')
    .replace(/[\s"'“”‘’「」]+$/u, '')
    .replace(/^[\s"'“”‘’「」]+/u, '')
    .trim();
  return s.length > max ? '' : s;
}

const clipZh = (v: string | undefined, max = 20): string => {
  const s = (v ?? '').split(/[，,、；;：:]/)[0]!.replace(/[了啦呀啊哦呢吧哈~～]+$/u, '').trim();
  return s.length > max ? '' : s;
};

/** How each slot is written, and read back from a stored text. */
const RENDER = {
  name: { en: (v: string) => `Their name is ${v}`, zh: (v: string) => `名字叫${v}` },
  origin: { en: (v: string) => `Is from ${v}`, zh: (v: string) => `是${v}人` },
  home: { en: (v: string) => `Lives in ${v}`, zh: (v: string) => `住在${v}` },
  birthday: { en: (v: string) => `Birthday is ${v}`, zh: (v: string) => `生日是${v}` },
} as const;

const READ_BACK: Array<[RegExp, (m: RegExpExecArray) => Slot]> = [
  [/^Their name is (.+)$/i, (m) => ({ key: 'name', value: m[1]! })],
  [/^名字叫(.+)$/u, (m) => ({ key: 'name', value: m[1]! })],
  [/^Is from (.+)$/i, (m) => ({ key: 'origin', value: m[1]! })],
  [/^是(.+)人$/u, (m) => ({ key: 'origin', value: m[1]! })],
  [/^Lives in (.+)$/i, (m) => ({ key: 'home', value: m[1]! })],
  [/^住在(.+)$/u, (m) => ({ key: 'home', value: m[1]! })],
  [/^Birthday is (.+)$/i, (m) => ({ key: 'birthday', value: m[1]! })],
  [/^生日是(.+)$/u, (m) => ({ key: 'birthday', value: m[1]! })],
  [/^Has an? (\S+) called (.+)$/i, (m) => ({ key: `named:${m[1]!.toLowerCase()}`, value: m[2]! })],
  [/^(\p{Script=Han}{1,4})叫(.+)$/u, (m) => ({ key: `named:${m[1]!}`, value: m[2]! })],
  [/^Favourite (.+?) is (.+)$/i, (m) => ({ key: `fav:${m[1]!.toLowerCase()}`, value: m[2]! })],
  [/^最喜欢的(.+?)是(.+)$/u, (m) => ({ key: `fav:${m[1]!}`, value: m[2]! })],
  [/^(Likes|Dislikes|Prefers) (.+)$/i, (m) => ({ key: `pref:${canonical(m[2]!)}`, value: m[1]!.toLowerCase() === 'dislikes' ? 'dislike' : 'like' })],
  [/^(不喜欢|喜欢)(.+)$/u, (m) => ({ key: `pref:${canonical(m[2]!)}`, value: m[1] === '不喜欢' ? 'dislike' : 'like' })],
];

/** The slot a stored text fills (written by these rules), if any. */
export function slotOf(text: string): Slot | undefined {
  const t = text.trim();
  for (const [re, f] of READ_BACK) {
    const m = re.exec(t);
    if (m) return f(m);
  }
  return undefined;
}

type Rule = (s: string) => Candidate | undefined;
const fact = (text: string, kind: MemoryKind, importance: number): Candidate | undefined =>
  text ? { text: text.slice(0, MEMORY_TEXT_MAX), subject: 'speaker', kind, importance } : undefined;

/** A name: one word, or two when the second is capitalised ("Mary Jane", not "Alex and"). */
function nameOf(v: string | undefined): string {
  const words = clip(v, 60).split(/\s+/).filter(Boolean);
  if (!words[0]) return '';
  return words[1] && /^\p{Lu}/u.test(words[1]) ? `${words[0]} ${words[1]}` : words[0];
}

const EN_RULES: Rule[] = [
  (s) => {
    const m = /\b(?:my name is|my name's|call me)\s+(\p{L}[^.!?]*)/iu.exec(s);
    const v = nameOf(m?.[1]);
    return m && v ? fact(RENDER.name.en(v), 'fact', 0.8) : undefined;
  },
  (s) => {
    const m = /\bI(?:'m|’m| am) from\s+([^.!?]+)/i.exec(s);
    const v = clip(m?.[1]);
    return v ? fact(RENDER.origin.en(v), 'fact', 0.6) : undefined;
  },
  (s) => {
    const m = /\bI (?:now )?live in\s+([^.!?]+)/i.exec(s);
    const v = clip(m?.[1]);
    return v ? fact(RENDER.home.en(v), 'fact', 0.6) : undefined;
  },
  (s) => {
    const m = /\bmy (?:favou?rite)\s+([\p{L}][\p{L} ]{0,30}?)\s+is\s+([^.!?]+)/iu.exec(s);
    const v = clip(m?.[2]);
    return m && v ? fact(`Favourite ${m[1]!.toLowerCase()} is ${v}`, 'preference', 0.6) : undefined;
  },
  (s) => {
    const m = /\b(?:I have an? (\p{L}+) (?:called|named)|my (\p{L}+)(?:'s| is) (?:called|named))\s+([\p{L}\p{N}'’-]+)/iu.exec(s);
    const noun = (m?.[1] ?? m?.[2] ?? '').toLowerCase();
    const v = clip(m?.[3], 40);
    return noun && v && noun !== 'name' ? fact(`Has ${/^[aeiou]/.test(noun) ? 'an' : 'a'} ${noun} called ${v}`, 'fact', 0.7) : undefined;
  },
  (s) => {
    const m = /\bmy birthday is\s+([^.!?]+)/i.exec(s);
    const v = clip(m?.[1], 40);
    return v ? fact(RENDER.birthday.en(v), 'event', 0.8) : undefined;
  },
  (s) => {
    if (/\bmy favou?rite\b/i.test(s)) return undefined;
    const m = /\bI (?:really |also |just |do )?(like|love|enjoy|adore|hate|dislike|prefer|can't stand)\s+([^.!?]+)/i.exec(s);
    const v = clip(m?.[2]);
    if (!m || !v || /^(?:to say|it when you|you|that)\b/i.test(v)) return undefined;
    const verb = m[1]!.toLowerCase();
    const word = /hate|dislike|can't/.test(verb) ? 'Dislikes' : verb === 'prefer' ? 'Prefers' : 'Likes';
    return fact(`${word} ${v}`, 'preference', 0.5);
  },
  (s) => {
    const m = /^(?:please\s+|and\s+)?(?:always\s+)?(?:remember|don't forget|do not forget)(?: that)?[\s,:]+(.{3,})$/i.exec(s.trim());
    const v = m?.[1]?.trim().replace(/[.!]+$/, '');
    return v && !isTrivial(v) ? { ...fact(v.charAt(0).toUpperCase() + v.slice(1), 'fact', 0.7)!, said: true } : undefined;
  },
];

const ZH_RULES: Rule[] = [
  (s) => {
    const m = /(?:我叫|我的名字(?:叫|是)|叫我)([\p{Script=Han}A-Za-z0-9]{1,8})/u.exec(s);
    const v = clipZh(m?.[1], 8);
    return v ? fact(RENDER.name.zh(v), 'fact', 0.8) : undefined;
  },
  (s) => {
    const m = /我是([\p{Script=Han}]{1,6}?)人/u.exec(s);
    const v = m?.[1];
    return v && !/^[一个好坏大小男女老年轻真的]/u.test(v) ? fact(RENDER.origin.zh(v), 'fact', 0.6) : undefined;
  },
  (s) => {
    const m = /我(?:现在)?住在([^，。！？,]{1,20})/u.exec(s);
    const v = clipZh(m?.[1]);
    return v ? fact(RENDER.home.zh(v), 'fact', 0.6) : undefined;
  },
  (s) => {
    const m = /我最喜欢的(.{1,8}?)是([^，。！？,]{1,20})/u.exec(s);
    const v = clipZh(m?.[2]);
    return m && v ? fact(`最喜欢的${m[1]!}是${v}`, 'preference', 0.6) : undefined;
  },
  (s) => {
    const m = /(?:我的|我家的?)(\p{Script=Han}{1,4}?)叫([\p{Script=Han}A-Za-z0-9]{1,12})|我有一?[只条个头匹](\p{Script=Han}{1,3}?)[，,]?叫([\p{Script=Han}A-Za-z0-9]{1,12})/u.exec(s);
    const noun = m?.[1] ?? m?.[3];
    const v = clipZh(m?.[2] ?? m?.[4], 12);
    return noun && v && noun !== '名字' ? fact(`${noun}叫${v}`, 'fact', 0.7) : undefined;
  },
  (s) => {
    const m = /我的生日是([^，。！？,]{1,20})/u.exec(s);
    const v = clipZh(m?.[1]);
    return v ? fact(RENDER.birthday.zh(v), 'event', 0.8) : undefined;
  },
  (s) => {
    if (/最喜欢/u.test(s)) return undefined;
    const m = /我(?:很|也|真的|非常|超|特别)?(不喜欢|讨厌|喜欢|爱)([^，。！？,]{1,20})/u.exec(s);
    const v = clipZh(m?.[2]);
    if (!m || !v || /^[你您]/u.test(v)) return undefined;
    return fact(`${m[1] === '不喜欢' || m[1] === '讨厌' ? '不喜欢' : '喜欢'}${v}`, 'preference', 0.5);
  },
  (s) => {
    const m = /^(?:请|你要|要)?(?:记住|记得|别忘了)[，,：:\s]*(.{2,})$/u.exec(s.trim());
    const v = m?.[1]?.replace(/[。！!]+$/u, '').trim();
    return v && !isTrivial(v) ? { ...fact(v, 'fact', 0.7)!, said: true } : undefined;
  },
];

const PROMISE_EN = /\b(?:I'll|I’ll|I will|I promise|next time|next stream)\b/i;
const PROMISE_ZH = /我会|下次|我保证|答应你/u;
/** "I'll think about it", "I'll be honest": a turn of phrase, not a promise (unless it says one). */
const HEDGE_EN = /\bI(?:'ll|’ll| will) (?:think|try|see|be honest|be right back|have to|let you know|admit)\b/i;
const FIRM_EN = /\b(?:I promise|next time|next stream)\b/i;

/** Sentences (and, for Chinese, the clause boundaries the patterns must not cross are kept). */
function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?。！？；;])\s*|\n+/u)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Candidates from the user's text of a turn (by the speaker). */
export function extractUserFacts(text: string): Candidate[] {
  const out: Candidate[] = [];
  for (const s of sentences(text)) {
    for (const rule of langOf(s) === 'zh' ? ZH_RULES : EN_RULES) {
      const c = rule(s);
      if (c && !out.some((o) => canonical(o.text) === canonical(c.text))) out.push(c);
    }
  }
  return out;
}

/** The avatar's promises in its reply: each promising sentence, as said. */
export function extractPromises(reply: string): Candidate[] {
  const out: Candidate[] = [];
  for (const s of sentences(reply)) {
    if (/[?？]$/u.test(s) || isTrivial(s) || s.length > 200) continue;
    const zh = langOf(s) === 'zh';
    if (!(zh ? PROMISE_ZH : PROMISE_EN).test(s)) continue;
    if (!zh && HEDGE_EN.test(s) && !FIRM_EN.test(s)) continue;
    out.push({ text: zh ? `承诺：${s}` : `Promised: ${s}`, subject: 'avatar', kind: 'promise', importance: 0.7 });
  }
  return out;
}

/** Whether two texts say the same (equal letters and digits, or nearly the same terms). */
export function sameMemory(a: string, b: string): boolean {
  const ca = canonical(a);
  if (ca !== '' && ca === canonical(b)) return true;
  return jaccard(termSet(a), termSet(b)) >= DUPLICATE_SIMILARITY;
}

/** The rules' decision for one candidate against its nearest stored memories. */
export function decideByRules(candidate: Pick<Candidate, 'text'>, nearest: readonly Nearby[]): Decision[] {
  const dup = nearest.find((n) => sameMemory(n.text, candidate.text));
  if (dup) return [{ op: 'NONE', id: dup.id }];
  const slot = slotOf(candidate.text);
  if (slot) {
    const same = nearest.find((n) => slotOf(n.text)?.key === slot.key);
    if (same) return canonical(slotOf(same.text)!.value) === canonical(slot.value) ? [{ op: 'NONE', id: same.id }] : [{ op: 'UPDATE', id: same.id, text: candidate.text }];
  }
  return [{ op: 'ADD', text: candidate.text }];
}
