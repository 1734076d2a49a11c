/**
 * The background re-embed on a real store with a fake engine and hand-driven timers: batches with
 * progress, recalls served between batches, texts the engine cannot embed marked, back-off after an
 * engine failure, new memories picked up by kick(), the old space dropped once the new one is whole.
 */
import { describe, expect, it } from 'vitest';
import { Reembedder, type ReembedTimers } from '../../../../src/workers/long-term-memory/store/reembed.js';
import type { MemoryStore } from '../../../../src/workers/long-term-memory/store/memory-store.js';
import { FAKE_SPACE, FakeEmbedder, wordVector } from '../fake-embedder.js';
import { NOW, SPACE, memory, openStore, vec } from './helpers.js';

const FAKE = FAKE_SPACE;

/** Timers fired by the test. */
function handTimers() {
  const pending: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
  const timers: ReembedTimers = {
    setTimeout: (fn, ms) => {
      const t = { fn, ms, cleared: false };
      pending.push(t);
      return t;
    },
    clearTimeout: (h) => void ((h as { cleared: boolean }).cleared = true),
  };
  const fire = () => {
    const t = pending.shift()!;
    if (!t.cleared) t.fn();
    return t.ms;
  };
  return { timers, pending, fire };
}

function fill(store: MemoryStore, n: number): number[] {
  return Array.from({ length: n }, (_, i) => store.add(memory(`memory ${i} about topic${i} and thing${i % 7}`, { at: NOW + i })));
}

describe('re-embedding', () => {
  it('embeds in batches with progress, serving recalls between batches, then drops the old space', async () => {
    const store = openStore();
    const ids = fill(store, 40);
    store.setVectors(SPACE, ids.map((id) => ({ id, vec: vec(1) })));
    const engine = new FakeEmbedder();
    const seen: Array<{ progress: unknown; found: number }> = [];
    const r = new Reembedder(store, engine, {
      batchSize: 16,
      yieldToLoop: async () => {
        // Between batches: a recall in the new space finds what is embedded so far.
        const q = wordVector('memory 3 about topic3 and thing3')!;
        const found = store.search({ persona: 'Mika', text: '', vector: { space: FAKE, vec: q }, k: 40, now: NOW }).items.length;
        seen.push({ progress: r.progress(), found });
      },
    });
    expect(r.progress()).toBeUndefined();
    r.kick();
    await r.settled();
    expect(engine.calls.map((c) => c.texts.length)).toEqual([16, 16, 8]);
    expect(engine.calls.every((c) => c.purpose === 'document')).toBe(true);
    expect(seen.map((s) => s.progress)).toEqual([
      { done: 16, total: 40 },
      { done: 32, total: 40 },
      { done: 40, total: 40 },
    ]);
    expect(seen[0]!.found).toBeGreaterThan(0);
    expect(r.progress()).toBeUndefined();
    expect(store.vectorCount(FAKE)).toBe(40);
    expect(store.vectorSpaces()).toEqual([FAKE]);
  });

  it('marks texts the engine cannot embed, and does not ask for them again', async () => {
    const store = openStore();
    const [en, zh] = [store.add(memory('likes jasmine tea')), store.add(memory('我喜欢喝茉莉花茶'))];
    const engine = new FakeEmbedder();
    const r = new Reembedder(store, engine);
    r.kick();
    await r.settled();
    store.activeSpace = FAKE;
    expect(store.get(en)?.has_vector).toBe(true);
    expect(store.get(zh)?.has_vector).toBe(false);
    expect(store.missingVectors(FAKE, 10)).toEqual([]);
    r.kick();
    await r.settled();
    expect(engine.calls.map((c) => c.texts)).toEqual([['likes jasmine tea', '我喜欢喝茉莉花茶']]);
  });

  it('waits and retries with a growing back-off while the engine cannot run', async () => {
    const store = openStore();
    fill(store, 3);
    const engine = new FakeEmbedder();
    engine.failReady = 3;
    const { timers, pending, fire } = handTimers();
    const r = new Reembedder(store, engine, { timers, backoffMs: 1000 });
    r.kick();
    await r.settled();
    expect(r.lastError).toMatch(/model missing: download it in Settings/);
    expect(pending.map((p) => p.ms)).toEqual([1000]);
    // A kick while a retry is waiting changes nothing: the retry comes.
    r.kick();
    await r.settled();
    expect(pending).toHaveLength(1);
    fire();
    await r.settled();
    expect(pending.map((p) => p.ms)).toEqual([2000]);
    fire();
    await r.settled();
    expect(pending.map((p) => p.ms)).toEqual([4000]);
    expect(store.vectorCount(FAKE)).toBe(0);
    fire();
    await r.settled();
    expect(pending).toEqual([]);
    expect(store.vectorCount(FAKE)).toBe(3);
    expect(r.lastError).toBeUndefined();
  });

  it('picks up memories added without a vector, by kick(), also while it runs', async () => {
    const store = openStore();
    fill(store, 20);
    const engine = new FakeEmbedder();
    const r = new Reembedder(store, engine, { batchSize: 16 });
    let late = 0;
    engine.during = () => {
      late = store.add(memory('added while the first batch was embedding'));
      r.kick();
    };
    r.kick();
    await r.settled();
    expect(store.vectorCount(FAKE)).toBe(21);
    expect(engine.calls.flatMap((c) => c.texts)).toContain('added while the first batch was embedding');

    const after = store.add(memory('added later, while idle'));
    expect(store.missingVectors(FAKE, 10).map((m) => m.id)).toEqual([after]);
    r.kick();
    await r.settled();
    expect(store.missingVectors(FAKE, 10)).toEqual([]);
    expect(late).toBeGreaterThan(0);
  });

  it('does not store the vector of a text edited while it was embedding', async () => {
    const store = openStore();
    const id = store.add(memory('likes green tea'));
    const engine = new FakeEmbedder();
    engine.during = () => void store.update(id, { text: 'likes black coffee' });
    const r = new Reembedder(store, engine);
    r.kick();
    await r.settled();
    expect(engine.calls.map((c) => c.texts)).toEqual([['likes green tea'], ['likes black coffee']]);
    const found = store.search({ persona: 'Mika', text: '', vector: { space: FAKE, vec: wordVector('likes black coffee')! }, k: 1, now: NOW });
    expect(found.items.map((i) => i.id)).toEqual([id]);
  });

  it('stops: no batch after the one under way, no retry', async () => {
    const store = openStore();
    fill(store, 40);
    const engine = new FakeEmbedder();
    const r = new Reembedder(store, engine, { batchSize: 16 });
    engine.during = () => void r.stop();
    r.kick();
    await r.stop();
    expect(engine.calls).toHaveLength(1);
    expect(store.vectorCount(FAKE)).toBe(0);
    r.kick();
    await r.settled();
    expect(engine.calls).toHaveLength(1);
  });
});
