/**
 * How much a chat message matters to the arbiter: its priority tier, why (the pick reason it would
 * get), and for paid messages a rough common value so Super Chats in yen, bits and Bilibili SCs in
 * yuan can be ordered against each other. Pure functions; no state.
 */
import type { ChatPickReason, LiveChatMessage } from '../../shared/live-chat.js';

/** Priority tiers, highest first. Offer results and the studio feed carry these numbers. */
export const Priority = { paid: 3, thanks: 2, addressed: 1, rest: 0 } as const;
export type PriorityTier = (typeof Priority)[keyof typeof Priority];

/** Why a message sits where it does: the pick reason it gets when the rule order picks it. */
export type RuleReason = Exclude<ChatPickReason, 'llm' | 'manual'>;

export interface Ranked {
  priority: PriorityTier;
  reason: RuleReason;
  /** Paid messages: the amount in rough US dollars (0 when the currency is unknown). */
  usd: number;
}

/**
 * Rough US-dollar value of one unit of a currency, to ORDER paid messages (not to account for them):
 * a Super Chat of 1,000 JPY should rank above one of 5 CNY and below one of 20 USD. Rounded 2025
 * rates; being off by 10 % changes nothing that matters here. Twitch bits: 100 bits = 1 USD (what a
 * viewer pays, roughly). Bilibili SC prices are in yuan (CNY). Keys are upper-case; 'BITS' and 'RMB'
 * are aliases the connectors may send. A currency not in the table ranks as 0 (still paid, still
 * before every unpaid message, but after the paid messages whose value is known).
 */
export const USD_PER_UNIT: Readonly<Record<string, number>> = {
  USD: 1,
  BITS: 0.01,
  EUR: 1.08,
  GBP: 1.27,
  CHF: 1.13,
  CAD: 0.73,
  AUD: 0.66,
  NZD: 0.6,
  JPY: 0.0067,
  CNY: 0.14,
  RMB: 0.14,
  HKD: 0.128,
  TWD: 0.031,
  KRW: 0.00073,
  SGD: 0.74,
  MYR: 0.22,
  THB: 0.028,
  PHP: 0.018,
  IDR: 0.000063,
  VND: 0.00004,
  INR: 0.012,
  BRL: 0.18,
  MXN: 0.055,
  ARS: 0.001,
  CLP: 0.001,
  COP: 0.00025,
  PEN: 0.27,
  RUB: 0.011,
  PLN: 0.25,
  SEK: 0.095,
  NOK: 0.093,
  DKK: 0.145,
  CZK: 0.043,
  HUF: 0.0027,
  TRY: 0.03,
  ILS: 0.27,
  SAR: 0.27,
  AED: 0.27,
  ZAR: 0.055,
};

export function usdValue(paid: LiveChatMessage['paid']): number {
  if (!paid) return 0;
  const rate = USD_PER_UNIT[paid.currency.trim().toUpperCase()];
  return rate === undefined ? 0 : paid.amount * rate;
}

// Text that NFKC leaves as it is: ASCII, CJK unified ideographs, kana, Hangul syllables. Most chat
// is only these, and skipping the normalisation (ICU, cold in cache between messages) halves the cost.
const NFKC_STABLE = /^[\t\n\r\u0020-\u007e\u4e00-\u9fff\u3041-\u3096\u30a1-\u30fa\uac00-\ud7a3]*$/;

/** NFKC (full-width letters and digits become ASCII, so ＡＲＩＡ matches Aria), lower case, spaces collapsed. */
export function fold(text: string): string {
  return (NFKC_STABLE.test(text) ? text : text.normalize('NFKC')).toLowerCase().replace(/\s+/gu, ' ').trim();
}

const HAN = /\p{Script=Han}|\p{Script=Hiragana}|\p{Script=Katakana}|\p{Script=Hangul}/u;
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A matcher for "addresses the avatar": the persona's name (and aliases) anywhere in the message,
 * with or without '@', case- and width-insensitively. Latin names must stand as a word ("Aria" is not
 * in "malaria"); names written in Han/kana/Hangul match as a substring (no spaces between words there).
 */
export function nameMatcher(names: readonly string[]): (folded: string) => boolean {
  const parts = names
    .map(fold)
    .filter((n) => n.length > 0)
    .map((n) => (HAN.test(n) ? escapeRe(n) : `(?<![\\p{L}\\p{N}])${escapeRe(n)}(?![\\p{L}\\p{N}])`));
  if (parts.length === 0) return () => false;
  const re = new RegExp(parts.join('|'), 'u');
  return (folded) => re.test(folded);
}

// English: a question word, or an auxiliary followed by a pronoun ("do you", "is it"), opening the
// message or a clause. An auxiliary alone is not enough: "do it!" is not a question.
const EN_QUESTION =
  /(?:^|[.!,;:]\s*)(?:(?:what|why|how|who|whom|whose|where|when|which)\b|(?:can|could|do|does|did|is|are|was|were|will|would|should|shall|have|has|may|might)\s+(?:you|u|ya|i|we|they|he|she|anyone|someone)\b|(?:is|are|was|were|does|did|will|would|can|could|should|has|have)\s+(?:it|this|that|there)\b)/u;
// Chinese: question words anywhere, or a sentence-final particle (吗/呢/嘛/么).
const ZH_QUESTION = /什么|什麼|为什么|為什麼|怎么|怎麼|怎样|怎樣|哪里|哪裡|哪儿|哪个|哪個|谁|誰|多少|几点|幾點|几岁|幾歲|是不是|能不能|会不会|會不會|有没有|有沒有|可不可以|要不要|是否|[吗嗎呢嘛么麼](?:\s*[~～。!！…]*\s*)$/u;

/** A question: a question mark (ASCII or full width), or English / Chinese question words. */
export function isQuestion(folded: string): boolean {
  if (folded.includes('?') || folded.includes('？')) return true;
  return EN_QUESTION.test(folded) || ZH_QUESTION.test(folded);
}

/** The tier of a message. `addressed` tests the folded text for the persona's name. */
export function rank(m: LiveChatMessage, addressed: (folded: string) => boolean, folded?: string): Ranked {
  if (m.kind === 'paid' || (m.kind === 'message' && m.paid && m.paid.amount > 0)) {
    return { priority: Priority.paid, reason: 'paid', usd: usdValue(m.paid) };
  }
  if (m.kind === 'gift' || m.kind === 'member' || m.kind === 'sub') return { priority: Priority.thanks, reason: 'thanks', usd: 0 };
  folded ??= fold(m.text);
  if (addressed(folded)) return { priority: Priority.addressed, reason: 'addressed', usd: 0 };
  if (isQuestion(folded)) return { priority: Priority.addressed, reason: 'question', usd: 0 };
  return { priority: Priority.rest, reason: 'rest', usd: 0 };
}
