/** Text normalisation of typed and chat input (input-handler/text.ts), and its cost per message. */
import { describe, expect, it } from 'vitest';
import { TextInputError, charCount, cleanAndCut, cleanText, normaliseText } from '../../../src/workers/input-handler/text.js';

describe('cleanText', () => {
  it('composes to NFC', () => {
    expect(cleanText('cafe\u0301')).toBe('caf\u00e9');
    expect(cleanText('\u1100\u1161')).toBe('\uac00'); // Hangul jamo -> syllable
  });

  it('collapses every kind of whitespace, line breaks included, and trims', () => {
    expect(cleanText(' a\t\tb\r\n\nc\u00a0\u3000d  ')).toBe('a b c d');
  });

  it('removes control and invisible format characters but keeps the joiners', () => {
    expect(cleanText('a\u0000b\u0007c\u001bd\u007fe\u0085f')).toBe('abcde f'); // U+0085 (NEL) is a line break
    expect(cleanText('\ufeffzero\u200bwidth\u00ad \u202eevil\u202c \u2066iso\u2069')).toBe('zerowidth evil iso');
    const family = '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}';
    expect(cleanText(` ${family} `)).toBe(family);
    expect(cleanText('\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645')).toContain('\u200c'); // Persian ZWNJ
  });

  it('replaces lone surrogates (not encodable as UTF-8) and keeps pairs', () => {
    expect(cleanText('a\ud800b')).toBe('a\ufffdb');
    expect(cleanText('a\udc00')).toBe('a\ufffd');
    expect(cleanText('\u{1f600}')).toBe('\u{1f600}');
  });
});

describe('normaliseText', () => {
  it('counts characters, not UTF-16 units, against the limit', () => {
    expect(charCount('\u{1f600}\u{1f600}')).toBe(2);
    expect(normaliseText('\u{1f600}'.repeat(5), 5)).toBe('\u{1f600}'.repeat(5));
    expect(() => normaliseText('\u{1f600}'.repeat(6), 5)).toThrow('the text has 6 characters; the limit is 5 (settings input.maxTextChars)');
  });

  it('rejects empty input with text_empty, saying what was received', () => {
    for (const raw of [undefined, '', '   ', '\u200b\u0000\n']) {
      try {
        normaliseText(raw, 10);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(TextInputError);
        expect((e as TextInputError).code).toBe('text_empty');
      }
    }
    expect(() => normaliseText(' \n ', 10)).toThrow('the text is empty once blanks and control characters are removed (3 characters received)');
  });

  it('cleanAndCut cuts at a character boundary', () => {
    expect(cleanAndCut('ab\u{1f600}cd', 3)).toBe('ab\u{1f600}');
    expect(cleanAndCut('  short ', 10)).toBe('short');
  });

  it('costs microseconds per message (the hop must add well under 1 ms)', () => {
    const msg = '  Hello there,\tthis is a fairly ordinary chat message with an emoji \u{1f600} and cafe\u0301!  ';
    for (let i = 0; i < 2000; i++) normaliseText(msg, 4000);
    const n = 20_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) normaliseText(msg, 4000);
    const perMsgMs = (performance.now() - t0) / n;
    console.log(`normaliseText: ${(perMsgMs * 1000).toFixed(2)} us per ${msg.length}-char message`);
    expect(perMsgMs).toBeLessThan(0.1);
  });
});
