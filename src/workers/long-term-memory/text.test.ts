import { describe, expect, it } from 'vitest';
import { canonical, isTrivial, jaccard, matchQuery, stem, termSet, terms } from './text.js';

describe('long-term memory text', () => {
  it('drops stop words and possessives and stems English suffixes', () => {
    expect(terms('My cat is called Mochi!')).toEqual(['cat', 'call', 'mochi']);
    expect(terms("What is my cat's name?")).toEqual(['cat', 'name']);
    expect(['called', 'calls', 'calling', 'named', 'stopped', 'ponies', 'games', 'loved'].map(stem)).toEqual([
      'call',
      'call',
      'call',
      'name',
      'stop',
      'pony',
      'game',
      'love',
    ]);
  });

  it('splits CJK runs into bigrams and keeps a lone character', () => {
    expect(terms('我的猫叫麻糬')).toEqual(['我的', '的猫', '猫叫', '叫麻', '麻糬']);
    expect(terms('猫 is cute')).toEqual(['猫', 'cute']);
  });

  it('calls greetings, thanks and one-word reactions trivial, and facts not', () => {
    for (const t of ['hello!', 'Hi there', 'thanks a lot', 'lol', 'ok', '你好', '谢谢', 'おはよう', 'hahaha', '   ']) expect(isTrivial(t), t).toBe(true);
    for (const t of ['My cat is called Mochi', 'I love sushi', '我的猫叫麻糬', 'I live in Osaka now']) expect(isTrivial(t), t).toBe(false);
  });

  it('canonical text ignores case, spacing and punctuation', () => {
    expect(canonical('My cat is called   Mochi!!')).toBe(canonical('my cat is called mochi'));
    expect(canonical('My cat is called Mochi')).not.toBe(canonical('My cat is called Tama'));
  });

  it('jaccard of term sets', () => {
    expect(jaccard(termSet('my cat is called Mochi'), termSet('My cat is called Mochi.'))).toBe(1);
    expect(jaccard(termSet('my cat is called Mochi'), termSet('my dog is called Rex'))).toBeCloseTo(1 / 5);
  });

  it('quotes every term so user text is never read as FTS syntax', () => {
    expect(matchQuery('cats NEAR "dogs" OR *')).toBe('"cat" OR "near" OR "dog"');
    expect(matchQuery('hi!')).toBeUndefined();
  });
});
