/**
 * The arbiter's classification and noise rules as pure functions: who is addressed (names, widths,
 * @, Chinese), what is a question (en/zh), the rough USD table, spam heuristics, duplicate keys, the
 * bounded window tables and the thank-you note.
 */
import { describe, expect, it } from 'vitest';
import { fold, isQuestion, nameMatcher, rank, usdValue } from '../../../src/workers/live-chat/arbiter-priority.js';
import { RateLimiter, RecentKeys, duplicateKey, linksOf, spamReason } from '../../../src/workers/live-chat/arbiter-spam.js';
import { thanksNames, thanksNote } from '../../../src/workers/live-chat/arbiter-thanks.js';
import { FakeClock, msg } from './arbiter-helpers.js';

describe('addressed', () => {
  const aria = nameMatcher(['Aria']);
  const xiaoai = nameMatcher(['小爱', 'Xiao Ai']);
  it.each([
    ['hi aria', true],
    ['@Aria look at this', true],
    ['ARIA!!!', true],
    ['ｈｉ ＡＲＩＡ', true],
    ['aria, 你好', true],
    ['I have malaria', false],
    ['arias are songs', false],
    ['hello chat', false],
  ])('Aria in %j: %s', (text, want) => expect(aria(fold(text))).toBe(want));
  it.each([
    ['小爱你好', true],
    ['@小爱 在吗', true],
    ['xiao ai is cute', true],
    ['XIAO  AI', true],
    ['小红你好', false],
  ])('小爱 in %j: %s', (text, want) => expect(xiaoai(fold(text))).toBe(want));
  it('an empty name matches nothing', () => expect(nameMatcher([' '])('anything')).toBe(false));
});

describe('question', () => {
  it.each([
    ['what game is this', true],
    ['how old are you', true],
    ['do you like cats', true],
    ['lol. can you sing', true],
    ['is it raining there', true],
    ['really?', true],
    ['真的吗？', true],
    ['你喜欢什么游戏', true],
    ['为什么', true],
    ['你吃饭了吗', true],
    ['主播是不是新人', true],
    ['do it!', false],
    ['nice stream', false],
    ['somehow it works', false],
    ['哈哈哈', false],
    ['我来了', false],
  ])('%j: %s', (text, want) => expect(isQuestion(fold(text))).toBe(want));
});

describe('rank and value', () => {
  const clock = new FakeClock();
  const none = () => false;
  it('kinds and paid fields decide the tier before the text', () => {
    expect(rank(msg(clock, 'what?', { kind: 'paid', paid: { amount: 2, currency: 'usd' } }), none)).toEqual({ priority: 3, reason: 'paid', usd: 2 });
    expect(rank(msg(clock, 'cheer100 hi', { paid: { amount: 100, currency: 'bits' } }), none)).toEqual({ priority: 3, reason: 'paid', usd: 1 });
    expect(rank(msg(clock, 'what?', { kind: 'member' }), none).reason).toBe('thanks');
    expect(rank(msg(clock, 'what?'), none).reason).toBe('question');
    expect(rank(msg(clock, 'ok'), none).reason).toBe('rest');
  });
  it('rough USD: 100 bits = 1 USD, CNY and JPY scaled, RMB an alias, unknown 0', () => {
    expect(usdValue({ amount: 100, currency: 'bits' })).toBeCloseTo(1);
    expect(usdValue({ amount: 100, currency: 'CNY' })).toBeCloseTo(14);
    expect(usdValue({ amount: 100, currency: 'RMB' })).toBeCloseTo(14);
    expect(usdValue({ amount: 1000, currency: 'jpy' })).toBeCloseTo(6.7);
    expect(usdValue({ amount: 5, currency: '??' })).toBe(0);
  });
});

describe('spam and duplicates', () => {
  it.each([
    ['哈哈哈哈哈哈', undefined],
    ['66666666', undefined],
    ['6'.repeat(30), 'repeated characters'],
    ['ha'.repeat(15), 'repeated characters'],
    ['Kappa '.repeat(14), 'repeated characters'],
    ['copy this pasta '.repeat(5) + 'ok', 'repeated words'],
    ['THIS STREAMER IS THE BEST EVER', 'caps wall'],
    ['OMG', undefined],
    ['go to a.com and b.net and c.org', 'link wall'],
    ['the quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat', undefined],
  ])('%j -> %s', (text, want) => expect(spamReason(text)).toBe(want));

  it('duplicate keys fold case, width, punctuation and long runs', () => {
    expect(duplicateKey('Hello, Aria!!')).toBe(duplicateKey('ｈｅｌｌｏ aria'));
    expect(duplicateKey('lolllllll')).toBe(duplicateKey('lollll'));
    expect(duplicateKey('lol')).not.toBe(duplicateKey('lolll'));
    expect(duplicateKey('👍👍')).toBe('👍👍');
  });

  it('links are normalised', () => {
    expect(linksOf('see HTTPS://www.Example.com/a/ and t.tv')).toEqual(['example.com/a', 't.tv']);
  });

  it('window tables forget after their window and never exceed their size', () => {
    const keys = new RecentKeys(1000, 3);
    expect(keys.touch('a', 0)).toBe(false);
    expect(keys.touch('a', 500)).toBe(true);
    expect(keys.touch('a', 1600)).toBe(false); // refreshed at 500... and 1600 - 500 > 1000
    for (const k of ['b', 'c', 'd', 'e']) keys.touch(k, 1700);
    expect(keys.size).toBe(3);
    keys.sweep(5000);
    expect(keys.size).toBe(0);

    const rate = new RateLimiter(2, 1000, 3);
    expect([rate.allow('x', 0), rate.allow('x', 10), rate.allow('x', 20)]).toEqual([true, true, false]);
    expect(rate.allow('x', 1001)).toBe(true);
    for (const k of ['p', 'q', 'r', 's']) rate.allow(k, 1002);
    expect(rate.size).toBe(3);
  });
});

describe('thanks note', () => {
  const clock = new FakeClock();
  const from = (name: string, id = name) => msg(clock, '', { kind: 'member', author: { id, name } });
  it('names distinct authors: one, two, many', () => {
    expect(thanksNames([from('A')])).toBe('A');
    expect(thanksNames([from('A'), from('B')])).toBe('A and B');
    expect(thanksNames([from('A'), from('A'), from('B'), from('C')])).toBe('A, B and 1 other');
    expect(thanksNames([from('A'), from('B'), from('C'), from('D'), from('E')])).toBe('A, B and 3 others');
  });
  it('sums gift counts and paid amounts', () => {
    const gifts = [
      msg(clock, '', { kind: 'gift', author: { name: 'A' }, gift: { name: 'Rose', count: 2 }, paid: { amount: 1.5, currency: 'cny' } }),
      msg(clock, '', { kind: 'gift', author: { name: 'B' }, gift: { name: 'Rose', count: 1 }, paid: { amount: 1, currency: 'CNY' } }),
    ];
    expect(thanksNote(gifts)).toBe('A and B (3 × Rose, 2.50 CNY)');
  });
});
