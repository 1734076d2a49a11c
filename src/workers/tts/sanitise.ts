/**
 * Text clean-up before synthesis: what an LLM leaves in a reply that an engine would read aloud
 * ("asterisk", "hash", emoji names) or choke on (control characters). Keeps the words, their
 * punctuation and CJK text as they are.
 */
import { EMOTIONS } from '../../shared/voice.js';

const EMOTION_TAG = new RegExp(`\\[(?:${EMOTIONS.join('|')})\\]`, 'gi');
// Pictographs and what glues them together: ZWJ, variation selectors, skin tones, keycaps, tags, flags.
const EMOJI = /[\p{Extended_Pictographic}\u{1F3FB}-\u{1F3FF}\u{1F1E6}-\u{1F1FF}\u{E0020}-\u{E007F}]|\u200D|\uFE0E|\uFE0F|\u20E3/gu;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

export function sanitiseForSpeech(input: string): string {
  let t = input.replace(CONTROL, ' ');
  t = t.replace(EMOTION_TAG, ' ');
  // Markdown: code fences and inline code (keep the code text), images, links (keep the label).
  t = t.replace(/```[a-z0-9_-]*\n?/gi, ' ').replace(/`+/g, '');
  t = t.replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/\[([^\]]+)\]\((?:[^)]*)\)/g, '$1');
  // Bare URLs are unspeakable noise in a reply.
  t = t.replace(/\bhttps?:\/\/\S+/gi, ' ');
  // Line-leading markers: headings, quotes, bullets, numbered lists, horizontal rules, table pipes.
  t = t.replace(/^[ \t]*(?:#{1,6}|>+|[-*+•]|\d+[.)])[ \t]+/gm, '');
  t = t.replace(/^[ \t]*(?:[-*_][ \t]*){3,}$/gm, ' ');
  t = t.replace(/\|/g, ' ');
  // Emphasis markers (**bold**, __bold__, *it*, _it_, ~~strike~~) and stray asterisks / hashes / tildes.
  t = t.replace(/(\*{1,3}|_{2,3}|~~)(\S(?:.*?\S)?)\1/g, '$2');
  t = t.replace(/(^|\s)_(\S(?:.*?\S)?)_(?=\s|$|[.,!?;:])/g, '$1$2');
  t = t.replace(/[*#~^\\]+/g, ' ');
  t = t.replace(EMOJI, ' ');
  // Kaomoji-ish runs of symbols and repeated punctuation collapse.
  t = t.replace(/([!?.])\1{2,}/g, '$1$1$1');
  return t.replace(/[ \t\r\n\u3000]+/g, ' ').trim();
}

/** true when the text has something to pronounce (a letter or a digit in any script). */
export function isSpeakable(text: string): boolean {
  return /[\p{L}\p{N}]/u.test(text);
}
