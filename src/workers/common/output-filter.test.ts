import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../shared/config.js';
import { OutputFilter, outputFilterFor } from './output-filter.js';
import { fold, foldedString } from './text-match.js';

const replace = (words: string[], names: string[] = []) => new OutputFilter({ words, names, action: 'replace', replacement: '***' });
const skip = (words: string[], names: string[] = []) => new OutputFilter({ words, names, action: 'skip', replacement: '***' });

describe('OutputFilter', () => {
  it('leaves a sentence without banned words unchanged, byte for byte', () => {
    const f = replace(['bad', '笨蛋']);
    for (const s of ['Hello there, friend!', 'A badge for you.', '我很笨，蛋糕好吃。', 'He\'ll be fine.', ''])
      expect(f.apply(s)).toEqual({ text: s, changed: false });
  });

  it('replace: each banned word, however written, becomes the replacement and the rest stays', () => {
    const f = replace(['bad', 'kill yourself', '笨蛋']);
    expect(f.apply('That is bad, really BAD.')).toEqual({ text: 'That is ***, really ***.', changed: true });
    expect(f.apply('So b a d!')).toEqual({ text: 'So ***!', changed: true });
    expect(f.apply('Ｂａｄ idea.')).toEqual({ text: '*** idea.', changed: true });
    expect(f.apply('Never say kill   yourself.')).toEqual({ text: 'Never say ***.', changed: true });
    expect(f.apply('你这个笨蛋！')).toEqual({ text: '你这个***！', changed: true });
  });

  it('skip: a sentence with a banned word is dropped, with a reason that does not repeat it', () => {
    const f = skip(['bad']);
    expect(f.apply('That is bad.')).toEqual({ skip: true, reason: 'banned word' });
    expect(f.apply('That is good.')).toEqual({ text: 'That is good.', changed: false });
  });

  it('banned names are replaced or skipped like words, and addName adds one live', () => {
    const f = replace([], ['Troll King']);
    expect(f.apply('Thank you, troll king!')).toEqual({ text: 'Thank you, ***!', changed: true });
    expect(f.apply('Thank you, Alice!')).toEqual({ text: 'Thank you, Alice!', changed: false });
    f.addName('Alice');
    expect(f.apply('Thank you, Alice and TROLL KING!')).toEqual({ text: 'Thank you, *** and ***!', changed: true });
    const s = skip([]);
    expect(s.active).toBe(false);
    s.addName('xX_Spammer_Xx');
    expect(s.active).toBe(true);
    expect(s.apply('Hi xX Spammer Xx.')).toEqual({ skip: true, reason: 'banned name' });
  });

  it('a sentence with nothing left to say after an empty replacement is skipped', () => {
    const f = new OutputFilter({ words: ['bad'], names: [], action: 'replace', replacement: '' });
    expect(f.apply('Bad!')).toEqual({ skip: true, reason: 'nothing left after replacing' });
    expect(f.apply('Not bad.')).toEqual({ text: 'Not .', changed: true });
  });

  it('overlapping word and name matches are replaced once', () => {
    const f = replace(['bad'], ['bad boy']);
    expect(f.apply('Hey bad boy.')).toEqual({ text: 'Hey ***.', changed: true });
  });

  it('an empty filter is inactive and returns the sentence as is', () => {
    const f = replace([]);
    expect(f.active).toBe(false);
    expect(f.apply('anything bad')).toEqual({ text: 'anything bad', changed: false });
  });

  it('outputFilterFor takes the words, the name entries of bannedUsers (not accounts), the action and replacement', () => {
    const mod = ConfigSchema.parse({ dataDir: '/tmp', liveChat: { moderation: { bannedWords: ['bad'], bannedUsers: ['twitch:123', 'Evil Eve'], outputAction: 'replace', replacement: '[beep]' } } }).liveChat.moderation;
    const f = outputFilterFor(mod, ['Mallory']);
    expect(f.apply('Bad Evil Eve and Mallory, twitch 123.')).toEqual({ text: '[beep] [beep] and [beep], twitch 123.', changed: true });
  });
});

describe('fold', () => {
  it('maps each compared character back to where it came from in the original', () => {
    const f = fold('Ａb.c\u200bd');
    expect(f.length).toBe(4);
    expect(String.fromCodePoint(...f.cps.subarray(0, 4))).toBe('abcd');
    expect([...f.from.subarray(0, 4)]).toEqual([0, 1, 3, 5]);
    expect([...f.gapBefore.subarray(0, 4)]).toEqual([0, 0, 1, 0]);
    expect([...f.runLen.subarray(0, 4)]).toEqual([2, 2, 2, 2]);
    expect(foldedString('Crème BRÛLÉE')).toBe('cremebrulee');
    expect(foldedString('cafe\u0301')).toBe('cafe');
    // NFKC may give several characters for one: the arrays grow.
    expect(foldedString('㍿')).toBe('株式会社');
    expect(foldedString('x㍿㍿')).toBe('x株式会社株式会社');
  });
});
