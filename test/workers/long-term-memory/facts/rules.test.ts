/**
 * The rule-based extraction and decision (facts/rules.ts), English and Simplified Chinese, table
 * driven: what each pattern keeps, in which fixed form, and how a later statement of the same slot
 * updates the stored one.
 */
import { describe, expect, it } from 'vitest';
import { decideByRules, extractPromises, extractUserFacts, slotOf } from '../../../../src/workers/long-term-memory/facts/rules.js';

describe('rules: facts from the user text', () => {
  it.each([
    // English
    ['My name is Alex and I live in Berlin.', ['Their name is Alex', 'Lives in Berlin']],
    ['call me Mary Jane', ['Their name is Mary Jane']],
    ["I'm from Canada, nice to meet you", ['Is from Canada']],
    ['I love green tea. I hate cilantro!', ['Likes green tea', 'Dislikes cilantro']],
    ['I prefer cats', ['Prefers cats']],
    ['my favourite colour is green', ['Favourite colour is green']],
    ['My favorite game is Tetris', ['Favourite game is Tetris']],
    ['I have a cat called Mochi', ['Has a cat called Mochi']],
    ['my dog is named Rex', ['Has a dog called Rex']],
    ['My birthday is on 3 May.', ['Birthday is 3 May']],
    ['remember that I have an exam tomorrow', ['I have an exam tomorrow']],
    // Nothing to keep
    ['do you remember my cat?', []],
    ["I'd like to know what you think", []],
    ['hello there', []],
    // Simplified Chinese
    ['我叫小明，我住在上海', ['名字叫小明', '住在上海']],
    ['我是上海人', ['是上海人']],
    ['我是一个学生', []],
    ['我喜欢猫。我不喜欢香菜', ['喜欢猫', '不喜欢香菜']],
    ['我最喜欢的颜色是绿色', ['最喜欢的颜色是绿色']],
    ['我的猫叫Mochi', ['猫叫Mochi']],
    ['我有一只狗叫旺财', ['狗叫旺财']],
    ['我的生日是5月3日', ['生日是5月3日']],
    ['记住，我明天考试', ['我明天考试']],
    ['你好', []],
  ])('%s', (text, expected) => {
    expect(extractUserFacts(text).map((c) => c.text)).toEqual(expected);
  });

  it('marks each with a subject, a kind and an importance; "remember" keeps the words as said', () => {
    expect(extractUserFacts('I have a cat called Mochi. I like jazz. My birthday is 3 May. Remember that I moved house.')).toEqual([
      { text: 'Has a cat called Mochi', subject: 'speaker', kind: 'fact', importance: 0.7 },
      { text: 'Likes jazz', subject: 'speaker', kind: 'preference', importance: 0.5 },
      { text: 'Birthday is 3 May', subject: 'speaker', kind: 'event', importance: 0.8 },
      { text: 'I moved house', subject: 'speaker', kind: 'fact', importance: 0.7, said: true },
    ]);
  });
});

describe("rules: the avatar's promises in its reply", () => {
  it.each([
    ["Sure! I'll sing that song next stream. What do you like?", ["Promised: I'll sing that song next stream."]],
    ['I promise to learn your name.', ['Promised: I promise to learn your name.']],
    ['Will you come back next time?', []],
    ['That sounds lovely.', []],
    ["Hmm, I'll think about it.", []],
    ["I'll try my best to remember it next time!", ["Promised: I'll try my best to remember it next time!"]],
    ['好的，下次我给你唱歌。', ['承诺：好的，下次我给你唱歌。']],
    ['我会记住你的猫。你呢？', ['承诺：我会记住你的猫。']],
  ])('%s', (reply, expected) => {
    const got = extractPromises(reply);
    expect(got.map((c) => c.text)).toEqual(expected);
    for (const c of got) expect(c).toMatchObject({ subject: 'avatar', kind: 'promise' });
  });
});

describe('rules: decisions', () => {
  it('reads back the slot of a stored text, in either language', () => {
    expect(slotOf('Has a cat called Mochi')).toEqual({ key: 'named:cat', value: 'Mochi' });
    expect(slotOf('猫叫Mochi')).toEqual({ key: 'named:猫', value: 'Mochi' });
    expect(slotOf('Their name is Alex')).toEqual({ key: 'name', value: 'Alex' });
    expect(slotOf('名字叫小明')).toEqual({ key: 'name', value: '小明' });
    expect(slotOf('Dislikes cats')).toEqual({ key: 'pref:cats', value: 'dislike' });
    expect(slotOf('Went to Paris last summer')).toBeUndefined();
  });

  it.each([
    ['a new value of a stored slot updates it', 'Has a cat called Nori', [{ id: 3, text: 'Has a cat called Mochi' }], [{ op: 'UPDATE', id: 3, text: 'Has a cat called Nori' }]],
    ['the same in Chinese', '猫叫Nori', [{ id: 4, text: '猫叫Mochi' }], [{ op: 'UPDATE', id: 4, text: '猫叫Nori' }]],
    ['a name in another language is the same slot', '名字叫小明', [{ id: 5, text: 'Their name is Alex' }], [{ op: 'UPDATE', id: 5, text: '名字叫小明' }]],
    ['a like turned dislike updates it', 'Dislikes cats', [{ id: 6, text: 'Likes cats' }], [{ op: 'UPDATE', id: 6, text: 'Dislikes cats' }]],
    ['a near-duplicate is NONE', 'Has a cat called mochi!', [{ id: 3, text: 'Has a cat called Mochi' }], [{ op: 'NONE', id: 3 }]],
    ['another slot is an ADD', 'Has a dog called Rex', [{ id: 3, text: 'Has a cat called Mochi' }], [{ op: 'ADD', text: 'Has a dog called Rex' }]],
    ['nothing near is an ADD', 'I have an exam tomorrow', [], [{ op: 'ADD', text: 'I have an exam tomorrow' }]],
  ])('%s', (_what, text, nearest, expected) => {
    expect(decideByRules({ text }, nearest)).toEqual(expected);
  });
});
