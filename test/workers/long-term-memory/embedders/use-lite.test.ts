/**
 * USE-lite with the real model from its npm package: vectors, paraphrase, English only, the cache,
 * no network, and the worker thread (keeps the event loop free, survives bad input and a crash).
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { USE_LITE_DIM, USE_LITE_ID, UseLiteEmbedder, englishPart } from '../../../../src/workers/long-term-memory/embedders/use-lite.js';
import { embedderRanker, keywordRanker, topKHitRate } from '../../../../scripts/lib/paraphrase-set.js';

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const norm = (a: Float32Array) => Math.sqrt(dot(a, a));
const q = { purpose: 'query' } as const;

describe('englishPart: what USE-lite is given', () => {
  it('keeps English, drops texts with no or too few Latin-script words, strips CJK runs from mixed text', () => {
    expect(englishPart('My cat is called Miso.')).toBe('My cat is called Miso.');
    expect(englishPart('我的猫叫小橘，今年三岁了。')).toBeUndefined();
    expect(englishPart('猫の名前はミソです')).toBeUndefined();
    expect(englishPart('Кошку зовут Мисо')).toBeUndefined();
    expect(englishPart('🙂 123 !!!')).toBeUndefined();
    expect(englishPart('')).toBeUndefined();
    // Mostly English with a Chinese word: embedded without it.
    expect(englishPart('I love 火锅 and Minecraft')).toBe('I love and Minecraft');
    // Mostly Chinese with a brand name: no vector (it would be the brand name's vector alone).
    expect(englishPart('我今天买了一个新的iPhone手机')).toBeUndefined();
  });
});

describe('USE-lite embedder (worker thread)', () => {
  const e = new UseLiteEmbedder();
  beforeAll(() => e.ready(), 60_000);
  afterAll(() => e.close());

  it('has its id and dim once ready, and unit-length vectors of 512', async () => {
    expect(e.id).toBe(USE_LITE_ID);
    expect(e.dim).toBe(USE_LITE_DIM);
    expect(e.state()).toEqual({ engine_state: 'ready' });
    const [v] = await e.embed(['The stream starts at eight in the evening.'], q);
    expect(v).toHaveLength(512);
    expect(norm(v!)).toBeCloseTo(1, 4);
  });

  it('puts a paraphrase closer than an unrelated sentence', async () => {
    const [fact, para, other] = await e.embed(['My cat is called Miso and she is three years old.', "What's the name of your kitty?", 'Viewer max lives in Berlin and works as a nurse.'], q);
    expect(dot(fact!, para!)).toBeGreaterThan(dot(fact!, other!) + 0.2);
  });

  it('gives Chinese and Japanese texts no vector, and keeps the order of the rest', async () => {
    const out = await e.embed(['我的猫叫小橘', 'I have a cat.', '明天会下雨吗', 'ネコが好きです'], q);
    expect(out.map((v) => v?.length)).toEqual([undefined, 512, undefined, undefined]);
  });

  it('answers a text seen recently from its cache, without the model', async () => {
    const text = `cache probe ${Math.random()}`;
    const before = e.computed;
    const [a] = await e.embed([text], q);
    const [b, c] = await e.embed([text, text], { purpose: 'document' });
    expect(e.computed).toBe(before + 1);
    expect(b).toBe(a);
    expect(c).toBe(a);
  });

  it('keeps the event loop free while the thread embeds', async () => {
    const texts = Array.from({ length: 30 }, (_, i) => `sentence number ${i} about a long and winding road ${Math.random()}`);
    const order: string[] = [];
    const embedding = e.embed(texts, q).then(() => order.push('embedded'));
    await new Promise<void>((r) => setTimeout(r, 0));
    order.push('timer');
    await embedding;
    expect(order).toEqual(['timer', 'embedded']);
  });

  it('survives bad input: non-strings, blanks, lone surrogates and huge texts', async () => {
    const starts = e.threadStarts;
    const bad = [null, 42, '', '   ', '\ud800 broken \udfff surrogate', 'word '.repeat(50_000), {}] as unknown as string[];
    const out = await e.embed(bad, q);
    expect(out.map((v) => v?.length)).toEqual([undefined, undefined, undefined, undefined, 512, 512, undefined]);
    const [v] = await e.embed(['after the bad input'], q);
    expect(v).toHaveLength(512);
    expect(e.threadStarts).toBe(starts);
  });

  it('replaces a crashed thread at the next call, with the same vectors', async () => {
    const text = `crash probe ${Math.random()}`;
    const fresh = new UseLiteEmbedder({ cacheSize: 0 });
    try {
      const [before] = await fresh.embed([text], q);
      await fresh.killThread();
      const [after] = await fresh.embed([text], q);
      expect(fresh.threadStarts).toBe(2);
      expect(dot(before!, after!)).toBeCloseTo(1, 5);
    } finally {
      await fresh.close();
    }
  }, 60_000);

  it('ranks the paraphrase set (English) better than keyword matching: top-3 hit rate', async () => {
    const use = await topKHitRate('en', 3, embedderRanker(e));
    const keyword = await topKHitRate('en', 3, keywordRanker());
    console.log(`paraphrase top-3 (en): use-lite ${use.hits}/${use.total}, keyword ${keyword.hits}/${keyword.total}`);
    expect(use.total).toBeGreaterThanOrEqual(40);
    expect(use.rate).toBeGreaterThan(keyword.rate);
  }, 120_000);

  it('finds nothing in the Chinese part of the set (no vectors), which keyword recall covers', async () => {
    const computed = e.computed;
    const zh = await topKHitRate('zh', 3, embedderRanker(e));
    expect(zh.hits).toBe(0);
    expect(e.computed).toBe(computed); // the model never saw a Chinese text
    expect((await topKHitRate('zh', 3, keywordRanker())).hits).toBeGreaterThan(0);
  });
});

describe('USE-lite in-process', () => {
  it('loads and embeds from the package with no network connection', async () => {
    const connect = vi.spyOn(net.Socket.prototype, 'connect');
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const e = new UseLiteEmbedder({ thread: false });
    try {
      const [v] = await e.embed(['offline works'], q);
      expect(v).toHaveLength(512);
      expect(connect).not.toHaveBeenCalled();
      expect(fetchSpy).not.toHaveBeenCalled();
    } finally {
      connect.mockRestore();
      fetchSpy.mockRestore();
      await e.close();
    }
  }, 60_000);
});
