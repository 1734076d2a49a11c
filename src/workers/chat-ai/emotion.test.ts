import { describe, expect, it } from 'vitest';
import type { Emotion } from '../../shared/voice.js';
import { EmotionFilter, emotionOf } from './emotion.js';

function run(deltas: string[]): { text: string; tags: Array<[Emotion, number, string]> } {
  const tags: Array<[Emotion, number, string]> = [];
  const f = new EmotionFilter((e, off, tag) => tags.push([e, off, tag]));
  let text = '';
  for (const d of deltas) text += f.push(d);
  text += f.flush();
  return { text, tags };
}
const chars = (s: string) => [...s];

describe('emotionOf', () => {
  it('maps names, synonyms, Chinese words and stage directions; ignores the rest', () => {
    expect(emotionOf('joy')).toBe('joy');
    expect(emotionOf('Happy')).toBe('joy');
    expect(emotionOf(' emotion: sad ')).toBe('sad');
    expect(emotionOf('开心')).toBe('joy');
    expect(emotionOf('laughs')).toBe('joy');
    expect(emotionOf('blushes')).toBe('shy');
    expect(emotionOf('thinking')).toBe('thinking');
    expect(emotionOf('citation needed')).toBeUndefined();
    expect(emotionOf('1')).toBeUndefined();
  });
});

describe('EmotionFilter', () => {
  it('removes a tag at the start with the space after it and reports its offset', () => {
    const r = run(['[joy] Hello there!']);
    expect(r.text).toBe('Hello there!');
    expect(r.tags).toEqual([['joy', 0, '[joy]']]);
  });

  it('removes tags split across deltas, one character at a time', () => {
    const text = 'Hi there! [sad] Oh no. [Surprised]Really?';
    const a = run([text]);
    const b = run(chars(text));
    const c = run(['Hi there! [s', 'ad', '] Oh no. [Surp', 'rised]Re', 'ally?']);
    expect(a.text).toBe('Hi there! Oh no. Really?');
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(a.tags.map(([e, off]) => [e, a.text.slice(0, off)])).toEqual([
      ['sad', 'Hi there! '],
      ['surprised', 'Hi there! Oh no. '],
    ]);
  });

  it('keeps unknown bracketed text, including partial brackets that never close', () => {
    expect(run(chars('See [citation needed] and (see above) or [1].')).text).toBe('See [citation needed] and (see above) or [1].');
    expect(run(['A list [a, b] here']).text).toBe('A list [a, b] here');
    expect(run(['Open [bracket at the end']).text).toBe('Open [bracket at the end');
    expect(run(['[[joy]] x']).text).toBe('[] x');
  });

  it('accepts full-width brackets and parenthesised stage directions', () => {
    const r = run(chars('【开心】你好呀！（害羞）谢谢你。(laughs) Okay.'));
    expect(r.text).toBe('你好呀！谢谢你。 Okay.');
    expect(r.tags.map((t) => t[0])).toEqual(['joy', 'shy', 'joy']);
  });

  it('does not glue words together or leave double spaces', () => {
    expect(run(['I am fine.[sad]But not really.']).text).toBe('I am fine. But not really.');
    expect(run(['Hi [joy] there']).text).toBe('Hi there');
    expect(run(['Hi[joy], there']).text).toBe('Hi, there');
  });

  it('holds back only while a bracket may still be a tag', () => {
    const f = new EmotionFilter(() => undefined);
    expect(f.push('Hello [jo')).toBe('Hello ');
    expect(f.push('y')).toBe('');
    expect(f.push('] world')).toBe('world');
    expect(f.push(' [a very long bracket that cannot be a tag')).toBe(' [a very long bracket that cannot be a tag');
  });
});
