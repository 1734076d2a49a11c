import { describe, expect, it } from 'vitest';
import { pickLocale } from './locale.js';

describe('pickLocale', () => {
  it("keeps the user's choice when it is a language we have", () => {
    expect(pickLocale('zh-CN', ['en-US'])).toBe('zh-CN');
    expect(pickLocale('en', ['zh-CN'])).toBe('en');
  });

  it('otherwise takes the first system language we have, any Chinese as Simplified Chinese', () => {
    expect(pickLocale(null, ['fr-FR', 'zh-Hans-CN', 'en'])).toBe('zh-CN');
    expect(pickLocale('klingon', ['zh_TW'])).toBe('zh-CN');
    expect(pickLocale(undefined, ['de', 'en-GB', 'zh'])).toBe('en');
  });

  it('falls back to English', () => {
    expect(pickLocale(null, ['fr', 'ja'])).toBe('en');
    expect(pickLocale(null, [])).toBe('en');
  });
});
