import { describe, expect, it } from 'vitest';
import { SentenceSplitter, type Sentence, type SplitterOptions } from './sentences.js';

function whole(text: string, opts?: SplitterOptions): Sentence[] {
  const s = new SentenceSplitter(opts);
  return [...s.push(text), ...s.flush()];
}
function charwise(text: string, opts?: SplitterOptions): Sentence[] {
  const s = new SentenceSplitter(opts);
  const out: Sentence[] = [];
  for (const c of text) out.push(...s.push(c));
  return [...out, ...s.flush()];
}
/** Deterministic pseudo-random chunking (tokens of 1-7 code units). */
function chunked(text: string, seed: number, opts?: SplitterOptions): Sentence[] {
  const s = new SentenceSplitter(opts);
  const out: Sentence[] = [];
  let x = seed;
  for (let i = 0; i < text.length; ) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (x % 7);
    out.push(...s.push(text.slice(i, i + n)));
    i += n;
  }
  return [...out, ...s.flush()];
}
const texts = (ss: Sentence[]) => ss.map((s) => s.text);

/** Splits all at once, one character at a time and in random chunks; all three must agree. */
function split(text: string, opts?: SplitterOptions): string[] {
  const a = whole(text, opts);
  expect(charwise(text, opts)).toEqual(a);
  for (const seed of [1, 2, 3]) expect(chunked(text, seed, opts)).toEqual(a);
  return texts(a);
}

describe('SentenceSplitter: Latin', () => {
  it('splits on . ! ? followed by space or end', () => {
    expect(split('Hello there. How are you? I am fine!')).toEqual(['Hello there.', 'How are you?', 'I am fine!']);
  });

  it('never splits inside numbers, versions, file names, URLs or e-mail addresses', () => {
    expect(split('Pi is 3.14 and the price is $1,000.50 today. Next one.')).toEqual(['Pi is 3.14 and the price is $1,000.50 today.', 'Next one.']);
    expect(split('Update to v1.2.3 now. Edit index.ts first. Mail me at ann@example.com please. See https://example.com/a?b=1&c=2! Done.')).toEqual([
      'Update to v1.2.3 now.',
      'Edit index.ts first.',
      'Mail me at ann@example.com please.',
      'See https://example.com/a?b=1&c=2!',
      'Done.',
    ]);
  });

  it('keeps abbreviations and initials inside the sentence', () => {
    expect(split('Mr. Smith met Dr. Jones at St. Mary. They talked.')).toEqual(['Mr. Smith met Dr. Jones at St. Mary.', 'They talked.']);
    expect(split('Bring fruit, e.g. apples, i.e. the red ones. Fine.')).toEqual(['Bring fruit, e.g. apples, i.e. the red ones.', 'Fine.']);
    expect(split('J. R. R. Tolkien wrote it. Yes.')).toEqual(['J. R. R. Tolkien wrote it.', 'Yes.']);
  });

  it('ends on ambiguous abbreviations only before a capital letter', () => {
    expect(split('We need eggs, milk, etc. for the cake. Then bake.')).toEqual(['We need eggs, milk, etc. for the cake.', 'Then bake.']);
    expect(split('We need eggs, milk, etc. Then bake it.')).toEqual(['We need eggs, milk, etc.', 'Then bake it.']);
    expect(split('It starts at 9 a.m. sharp. It ends at 5 p.m. Then we go.')).toEqual(['It starts at 9 a.m. sharp.', 'It ends at 5 p.m.', 'Then we go.']);
    expect(split('I moved to the U.S. in May. It was fun.')).toEqual(['I moved to the U.S. in May.', 'It was fun.']);
  });

  it('treats ellipses mid-sentence as pauses and before a capital as an end', () => {
    expect(split('Well... I think so... maybe not. Okay… fine. Wait... What?')).toEqual(['Well...', 'I think so... maybe not.', 'Okay… fine.', 'Wait...', 'What?']);
  });

  it('keeps closing quotes and brackets with the sentence', () => {
    expect(split('He said "Stop! Now!" Then he ran. She nodded.')).toEqual(['He said "Stop! Now!"', 'Then he ran.', 'She nodded.']);
    expect(split('"Wow!" she said. Nice.')).toEqual(['"Wow!" she said.', 'Nice.']);
    expect(split('It was late (around ten.) We slept.')).toEqual(['It was late (around ten.)', 'We slept.']);
  });

  it('drops repeated marks and stray closers from the next sentence', () => {
    expect(split('Really?! No way!! Okay.')).toEqual(['Really?', 'No way!', 'Okay.']);
  });

  it('merges very short fragments with the next sentence', () => {
    expect(split('Hi! How are you? Oh. I see.')).toEqual(['Hi! How are you?', 'Oh. I see.']);
    expect(split('1. Buy milk.\n2. Call mom.')).toEqual(['1. Buy milk.', '2. Call mom.']);
  });

  it('splits on newlines', () => {
    expect(split('First line\nSecond line\n\nThird line')).toEqual(['First line', 'Second line', 'Third line']);
  });

  it('cuts a long sentence without punctuation at a comma, else a space', () => {
    const long = 'this sentence goes on and on without any end in sight, and it keeps going with more and more words that never stop coming at all';
    const out = split(long, { maxUnits: 60 });
    expect(out.length).toBeGreaterThan(1);
    expect(out[0]).toBe('this sentence goes on and on without any end in sight,');
    expect(out.join(' ')).toBe(long);
    const noComma = 'word '.repeat(40).trim();
    const parts = split(noComma, { maxUnits: 40 });
    expect(parts.every((p) => p.split(' ').every((w) => w === 'word'))).toBe(true);
    expect(parts.join(' ')).toBe(noComma);
  });

  it('does not cut inside 1,000 when cutting a long sentence', () => {
    const text = 'we counted exactly 1,000 little sheep jumping over the fence tonight and';
    for (const part of split(text, { maxUnits: 26 })) expect(part).not.toMatch(/^000|1,$/);
  });

  it('returns nothing for empty or punctuation-only input', () => {
    expect(split('')).toEqual([]);
    expect(split('   ')).toEqual([]);
    expect(split('...!?')).toEqual([]);
  });

  it('reports end offsets in the pushed text', () => {
    const text = 'Hello there. How are you?';
    const out = whole(text);
    expect(out.map((s) => text.slice(0, s.end))).toEqual(['Hello there.', 'Hello there. How are you?']);
  });
});

describe('SentenceSplitter: CJK and mixed', () => {
  it('splits on 。！？； at once', () => {
    expect(split('你好，我是小助手。今天天气很好！你想聊什么？我们可以聊游戏；也可以聊音乐。')).toEqual([
      '你好，我是小助手。',
      '今天天气很好！',
      '你想聊什么？',
      '我们可以聊游戏；',
      '也可以聊音乐。',
    ]);
  });

  it('keeps CJK quotes together and ends after the closing quote', () => {
    expect(split('他说：「你好。我是小明。」然后走了。好的。')).toEqual(['他说：「你好。我是小明。」', '然后走了。', '好的。']);
  });

  it('merges a one-character interjection and treats …… before CJK as an end', () => {
    expect(split('嗯。我想想……好吧，就这样。')).toEqual(['嗯。我想想……', '好吧，就这样。']);
  });

  it('handles Japanese and mixed Latin/CJK text', () => {
    expect(split('こんにちは！元気ですか？I am fine.我也很好。')).toEqual(['こんにちは！', '元気ですか？', 'I am fine.', '我也很好。']);
  });

  it('cuts long CJK text without punctuation', () => {
    const text = '这是一个非常非常长的句子没有任何标点符号一直说下去一直说下去一直说下去一直说下去一直说下去';
    const out = split(text, { maxUnits: 40 });
    expect(out.length).toBeGreaterThan(1);
    expect(out.join('')).toBe(text);
  });
});

describe('SentenceSplitter: streaming', () => {
  it('emits a sentence ending in ! ? or a CJK mark as soon as the mark arrives', () => {
    const s = new SentenceSplitter();
    expect(s.push('Hello there')).toEqual([]);
    expect(texts(s.push('!'))).toEqual(['Hello there!']);
    expect(texts(s.push(' 你好世界'))).toEqual([]);
    expect(texts(s.push('。'))).toEqual(['你好世界。']);
  });

  it('waits for the next character after a period, then emits', () => {
    const s = new SentenceSplitter();
    expect(s.push('It costs 3.')).toEqual([]);
    expect(s.push('5 dollars.')).toEqual([]);
    expect(texts(s.push(' Next'))).toEqual(['It costs 3.5 dollars.']);
    expect(texts(s.flush())).toEqual(['Next']);
  });
});

describe('SentenceSplitter: consistency on generated text', () => {
  const pieces = ['Hello', ' there', '.', ' ', '!', '?', '...', '…', '3.14', ' Mr.', ' e.g.', ' etc.', '"', '“', '”', '「', '」', '你好', '。', '！', '，', ',', '\n', 'U.S.', ' a', ' World', '(', ')', 'https://x.io/a?b', 'v1.2', '1,000', '；', '……'];
  it('one character at a time, in chunks and at once agree on 300 generated replies', () => {
    let x = 42;
    const rnd = (n: number) => {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      return x % n;
    };
    for (let t = 0; t < 300; t++) {
      let text = '';
      const len = 5 + rnd(60);
      for (let k = 0; k < len; k++) text += pieces[rnd(pieces.length)];
      const out = split(text, { maxUnits: 10 + rnd(80) });
      for (const s of out) expect(s.length).toBeGreaterThan(0);
    }
  });
});
