/** Normalising typed and chat text before it becomes a user input. */
import { ErrorCodes, type ErrorCode } from '../../shared/voice.js';

export class TextInputError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode,
  ) {
    super(message);
    this.name = 'TextInputError';
  }
}

/**
 * Control and format characters to remove: C0/C1 controls (newlines and tabs become spaces first),
 * and invisible format characters (zero-width space, BOM, bidi overrides and isolates, soft hyphen)
 * except the joiners ZWJ/ZWNJ, which emoji sequences and several scripts need.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}]/gu;
const KEEP = new Set(['\u200c', '\u200d']);
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Unicode NFC, whitespace (any kind, line breaks included) collapsed to single spaces, control
 * and invisible format characters removed, trimmed. Lone surrogates become U+FFFD (they cannot
 * be encoded as UTF-8 further down the pipeline).
 */
export function cleanText(raw: string): string {
  return raw
    .replace(LONE_SURROGATE, '\ufffd')
    .normalize('NFC')
    .replace(/[\s\u0085]+/gu, ' ') // NEL is a line break too (JS \s omits it)
    .replace(INVISIBLE, (c) => (KEEP.has(c) ? c : ''))
    .replace(/ {2,}/g, ' ')
    .trim();
}

/** Length in characters as a person counts them (code points, not UTF-16 units). */
export function charCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** cleanText plus the limits: text_empty, text_too_long (with the counts). */
export function normaliseText(raw: string | undefined, maxChars: number): string {
  const text = cleanText(raw ?? '');
  if (text.length === 0) {
    throw new TextInputError(
      raw && raw.length > 0 ? `the text is empty once blanks and control characters are removed (${raw.length} characters received)` : 'the text is empty',
      ErrorCodes.textEmpty,
    );
  }
  const n = charCount(text);
  if (n > maxChars) {
    throw new TextInputError(`the text has ${n} characters; the limit is ${maxChars} (settings input.maxTextChars)`, ErrorCodes.textTooLong);
  }
  return text;
}

/** A transcript or an author name: cleaned and cut to `maxChars` (not the user's fault when long). */
export function cleanAndCut(raw: string, maxChars: number): string {
  const text = cleanText(raw);
  if (text.length <= maxChars) return text;
  return Array.from(text).slice(0, maxChars).join('').trimEnd();
}
