/**
 * Token estimates without a tokenizer dependency. The budget only has to keep the prompt well inside
 * the model's context, whichever model the user runs, so a cheap, slightly pessimistic estimate is
 * enough:
 *   - CJK (Han, kana, Hangul, CJK and full-width punctuation): 1 token per character. BPE tokenizers
 *     of current models spend 0.6-1.5 tokens on a Chinese character; 1 is the usual middle.
 *   - everything else (Latin, digits, spaces, punctuation): 1 token per 4 characters, rounded up
 *     (the rule of thumb for English with GPT-style tokenizers).
 *   - each chat message costs MESSAGE_OVERHEAD_TOKENS more (role and separators of the chat template).
 */

/** Tokens a chat message costs beside its content (role markers, separators). */
export const MESSAGE_OVERHEAD_TOKENS = 4;

/** True for code points counted as one token each. */
function isCjk(cp: number): boolean {
  return (
    (cp >= 0x3040 && cp <= 0x30ff) || // Hiragana, Katakana
    (cp >= 0x3400 && cp <= 0x4dbf) || // CJK Extension A
    (cp >= 0x4e00 && cp <= 0x9fff) || // CJK Unified Ideographs
    (cp >= 0xac00 && cp <= 0xd7af) || // Hangul syllables
    (cp >= 0x1100 && cp <= 0x11ff) || // Hangul Jamo
    (cp >= 0x3000 && cp <= 0x303f) || // CJK symbols and punctuation
    (cp >= 0xff00 && cp <= 0xffef) || // half-width and full-width forms
    (cp >= 0xf900 && cp <= 0xfaff) || // CJK compatibility ideographs
    (cp >= 0x20000 && cp <= 0x2ffff) // CJK Extensions B-F and supplements
  );
}

/** Estimated tokens of a text (see the file comment for the rule). */
export function estimateTokens(text: string): number {
  let cjk = 0;
  let other = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x1100) {
      other++;
      continue;
    }
    let cp = c;
    // Surrogate pair: one code point (CJK extension B and later live there).
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      cp = text.codePointAt(i)!;
      i++;
    }
    if (isCjk(cp)) cjk++;
    else other++;
  }
  return cjk + Math.ceil(other / 4);
}

/** Estimated tokens of one chat message with this content. */
export function messageTokens(content: string): number {
  return estimateTokens(content) + MESSAGE_OVERHEAD_TOKENS;
}
