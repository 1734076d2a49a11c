/**
 * Hybrid search on a real store with hand-made vectors: a memory found only by its vector, only by
 * its keywords, or by both (ranked first); nothing for an unrelated query; scope by persona and
 * subject; importance decay over time, pinning and touch.
 */
import { describe, expect, it } from 'vitest';
import { recallScope } from '../../../../src/shared/long-term.js';
import { DAY, NOW, SPACE, memory, openStore, vec } from './helpers.js';

function seeded() {
  const store = openStore();
  const cat = store.add(memory('has a cat called Mochi'), { space: SPACE, vec: vec(1, 0, 0) });
  const tea = store.add(memory('likes green tea in the morning'), { space: SPACE, vec: vec(0, 1, 0) });
  const piano = store.add(memory('plays the piano on weekends'), { space: SPACE, vec: vec(0, 0, 1) });
  return { store, cat, tea, piano };
}

describe('hybrid search', () => {
  it('finds a memory by its vector alone (no word in common)', () => {
    const { store, cat } = seeded();
    const r = store.search({ persona: 'Mika', text: 'what is my kitten named', vector: { space: SPACE, vec: vec(0.95, 0.1, 0.05) }, k: 3, now: NOW });
    expect(r.mode).toBe('vector');
    expect(r.items.map((i) => i.id)).toEqual([cat]);
    expect(r.items[0]!.score).toBeGreaterThan(0);
    expect(r.items[0]!.score).toBeLessThanOrEqual(1);
  });

  it('finds a memory by its keywords alone (its vector far from the query)', () => {
    const { store, piano } = seeded();
    const r = store.search({ persona: 'Mika', text: 'the piano', vector: { space: SPACE, vec: vec(0, 0, 0, 1) }, k: 3, now: NOW });
    expect(r.mode).toBe('vector');
    expect(r.items.map((i) => i.id)).toEqual([piano]);
  });

  it('ranks a memory found by both first, above one found by either alone', () => {
    const { store, cat, tea } = seeded();
    // "tea" by keyword only; the cat by its vector and its keywords.
    const r = store.search({ persona: 'Mika', text: 'Mochi the cat, and tea', vector: { space: SPACE, vec: vec(1, 0, 0) }, k: 3, now: NOW });
    expect(r.items.map((i) => i.id)).toEqual([cat, tea]);
    const vectorOnly = store.search({ persona: 'Mika', text: 'Mochi the cat', vector: { space: SPACE, vec: vec(1, 0, 0) }, k: 3, now: NOW, mode: 'vector' });
    const keywordOnly = store.search({ persona: 'Mika', text: 'Mochi the cat', k: 3, now: NOW });
    expect(keywordOnly.mode).toBe('keyword');
    const hybrid = store.search({ persona: 'Mika', text: 'Mochi the cat', vector: { space: SPACE, vec: vec(1, 0, 0) }, k: 3, now: NOW });
    expect(hybrid.items[0]!.id).toBe(cat);
    expect(hybrid.items[0]!.score).toBeGreaterThan(vectorOnly.items[0]!.score * 0.999);
    expect(hybrid.items[0]!.score).toBeGreaterThan(keywordOnly.items[0]!.score * 0.999);
  });

  it('returns nothing for an unrelated query, whatever the nearest vectors', () => {
    const { store } = seeded();
    const r = store.search({ persona: 'Mika', text: 'quantum chromodynamics lecture', vector: { space: SPACE, vec: vec(0, 0, 0, 0, 1) }, k: 3, now: NOW });
    expect(r.items).toEqual([]);
  });

  it('is keyword only with a vector of a space that holds no vectors', () => {
    const { store, cat } = seeded();
    const r = store.search({ persona: 'Mika', text: 'Mochi', vector: { space: 'other:model:8', vec: vec(1) }, k: 3, now: NOW });
    expect(r).toMatchObject({ mode: 'keyword', items: [{ id: cat }] });
  });

  it('finds Chinese memories by shared bigrams, under a lower floor than English terms', () => {
    const store = openStore();
    const pot = store.add(memory('我最喜欢吃四川火锅'));
    store.add(memory('我上周去杭州旅游了'));
    // 2 of the query's 9 bigrams (火锅, 喜欢) are in the memory: under the English floor (0.25), over the CJK one.
    const r = store.search({ persona: 'Mika', text: '你喜欢哪一家的火锅店？', k: 3, now: NOW });
    expect(r.items.map((i) => i.id)).toEqual([pot]);
    const strict = openStore(undefined, { minCoverageCjk: 0.25 });
    strict.add(memory('我最喜欢吃四川火锅'));
    expect(strict.search({ persona: 'Mika', text: '你喜欢哪一家的火锅店？', k: 3, now: NOW }).items).toEqual([]);
  });

  it('leaves the query terms that too many memories hold out of the keyword query, unless all are', () => {
    const store = openStore(undefined, { commonTermDocs: 2 });
    const mochi = store.add(memory('my cat Mochi sleeps all day'));
    store.add(memory('the cat next door is loud and has a cat flap'));
    store.add(memory('a cat video went viral'));
    // "cat" is in 3 memories (> 2): the query runs on "mochi" (and "sleep") alone.
    expect(store.search({ persona: 'Mika', text: 'cat Mochi', k: 5, now: NOW }).items.map((i) => i.id)).toEqual([mochi]);
    // Every term is common: the rarest one is kept.
    expect(store.search({ persona: 'Mika', text: 'cat', k: 5, now: NOW }).items).toHaveLength(3);
  });

  it('finds nothing when no subject is allowed', () => {
    const { store } = seeded();
    expect(store.search({ persona: 'Mika', subjects: [], text: 'Mochi', vector: { space: SPACE, vec: vec(1) }, k: 3, now: NOW }).items).toEqual([]);
  });

  it('refuses a memory with no text', () => {
    const store = openStore();
    expect(() => store.add(memory('   '))).toThrow(/needs some text/);
    expect(() => store.add(memory('ok', { subject: 'someone' }))).toThrow(/unknown subject/);
    expect(store.size()).toBe(0);
  });
});

describe('scope', () => {
  // smallSubject 0: every subject through the KNN and its subject filter; the default: a viewer's few memories compared exactly.
  it.each([{ smallSubject: 0 }, {}])("never returns a viewer's memory for another viewer's scope, by vector or by keyword (%o)", (opts) => {
    const store = openStore(undefined, opts);
    const mine = store.add(memory('has a dog called Biscuit', { subject: 'viewer:twitch:111', subject_name: 'Ann' }), { space: SPACE, vec: vec(1, 0) });
    const theirs = store.add(memory('has a dog called Pepper', { subject: 'viewer:twitch:222', subject_name: 'Bo' }), { space: SPACE, vec: vec(1, 0.05) });
    const shared = store.add(memory('the streamer has a dog too', { subject: 'streamer' }), { space: SPACE, vec: vec(1, 0.1) });
    const q = { persona: 'Mika', text: 'my dog', vector: { space: SPACE, vec: vec(1, 0.02) }, k: 10, now: NOW };
    const forAnn = store.search({ ...q, subjects: recallScope('viewer:twitch:111') }).items.map((i) => i.id);
    expect(forAnn.sort()).toEqual([mine, shared].sort());
    const forBo = store.search({ ...q, subjects: recallScope('viewer:twitch:222') }).items.map((i) => i.id);
    expect(forBo.sort()).toEqual([theirs, shared].sort());
    const keywordForBo = store.search({ ...q, vector: undefined, subjects: recallScope('viewer:twitch:222') }).items.map((i) => i.id);
    expect(keywordForBo).not.toContain(mine);
    expect(keywordForBo).toContain(theirs);
  });

  it("keeps each persona's memories to itself", () => {
    const store = openStore();
    store.add(memory('loves strawberry cake', { persona: 'Rin' }), { space: SPACE, vec: vec(1) });
    const mika = store.add(memory('loves strawberry cake'), { space: SPACE, vec: vec(1) });
    const r = store.search({ persona: 'Mika', text: 'strawberry cake', vector: { space: SPACE, vec: vec(1) }, k: 5, now: NOW });
    expect(r.items.map((i) => i.id)).toEqual([mika]);
    expect(store.size('Rin')).toBe(1);
  });
});

describe('decay', () => {
  it('lets an old memory sink below a fresh one unless it is pinned; using it refreshes it', () => {
    const store = openStore(undefined, { decayHalfLifeDays: 30 });
    const old = store.add(memory('rides a red bicycle to work', { at: NOW - 200 * DAY }));
    const fresh = store.add(memory('rides a blue bicycle at weekends', { at: NOW - DAY }));
    const ids = () => store.search({ persona: 'Mika', text: 'bicycle', k: 5, now: NOW }).items.map((i) => i.id);
    expect(ids()).toEqual([fresh, old]);
    expect(store.get(old, NOW)!.effective_importance).toBeLessThan(0.01);

    // Used for a reply now: its importance no longer decayed since then.
    store.touch([old], NOW);
    expect(store.get(old, NOW)).toMatchObject({ access_count: 1, last_accessed_at: NOW, effective_importance: 0.5 });

    // Pinned: a year later it has not decayed, the unpinned fresh one has.
    store.update(old, { pinned: true }, undefined, NOW - 200 * DAY);
    const later = NOW + 365 * DAY;
    expect(store.get(old, later)!.effective_importance).toBe(0.5);
    expect(store.get(fresh, later)!.effective_importance).toBeLessThan(0.01);
    const score = (id: number, now: number) => store.search({ persona: 'Mika', text: 'bicycle', k: 5, now }).items.find((i) => i.id === id)!.score;
    expect(score(old, later)).toBe(score(old, NOW));
    expect(store.search({ persona: 'Mika', text: 'bicycle', k: 5, now: later }).items.map((i) => i.id)).toEqual([old, fresh]);
  });
});
