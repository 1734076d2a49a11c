import { describe, expect, it } from 'vitest';
import { MESSAGE_OVERHEAD_TOKENS, estimateTokens, messageTokens } from './tokens.js';

describe('estimateTokens', () => {
  it('counts Latin text at about 4 characters a token, rounded up', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('a')).toBe(1);
    expect(estimateTokens('abcd')).toBe(1);
    expect(estimateTokens('abcde')).toBe(2);
    expect(estimateTokens('The quick brown fox jumps over the lazy dog.')).toBe(11); // 44 chars
  });

  it('counts each CJK character (Han, kana, Hangul, CJK punctuation) as one token', () => {
    expect(estimateTokens('我的猫叫麻糬')).toBe(6);
    expect(estimateTokens('こんにちは')).toBe(5);
    expect(estimateTokens('안녕하세요')).toBe(5);
    expect(estimateTokens('你好。')).toBe(3);
    // Extension B (a surrogate pair) is one character, one token.
    expect(estimateTokens('𠀀')).toBe(1);
  });

  it('adds the two rules for mixed text', () => {
    // 4 Han + "Mochi is " (9 Latin chars -> 3)
    expect(estimateTokens('Mochi is 我的猫咪')).toBe(4 + 3);
  });

  it('grows monotonically with the text (the window relies on it)', () => {
    let prev = 0;
    const s = 'Hello 世界, this is a test of 混合 text.';
    for (let i = 1; i <= s.length; i++) {
      const t = estimateTokens(s.slice(0, i));
      expect(t).toBeGreaterThanOrEqual(prev);
      prev = t;
    }
  });

  it('adds the per-message overhead for chat messages', () => {
    expect(messageTokens('abcd')).toBe(1 + MESSAGE_OVERHEAD_TOKENS);
  });
});
