/**
 * The memory store's edits and bookkeeping on real files: update (text, subject, pin), forget a
 * subject, list and subjects, export -> import (merge skips duplicates, replace empties first),
 * vector spaces (missing vectors, unembeddable texts, a switch of engine), and a clear error when
 * sqlite-vec cannot be loaded.
 */
import { describe, expect, it } from 'vitest';
import { ExtensionLoadError } from '../../../../src/workers/common/sqlite.js';
import { sqliteVecExtension } from '../../../../src/workers/common/sqlite-vec.js';
import { MemoryExport } from '../../../../src/shared/long-term.js';
import { MemoryStore } from '../../../../src/workers/long-term-memory/store/memory-store.js';
import { DAY, NOW, SPACE, memory, openStore, quiet, tempDir, vec } from './helpers.js';

const OTHER = 'other:model:16';
const vec16 = (x: number) => {
  const v = new Float32Array(16);
  v[x] = 1;
  return v;
};

describe('editing memories', () => {
  it('updates text (dropping its old vectors), subject and pin, and keeps the keyword index in step', () => {
    const store = openStore();
    store.activeSpace = SPACE;
    const id = store.add(memory('likes green tea', { subject: 'viewer:twitch:1', subject_name: 'Ann' }), { space: SPACE, vec: vec(1) });
    expect(store.get(id, NOW)).toMatchObject({ has_vector: true, subject_name: 'Ann' });

    const moved = store.update(id, { subject: 'viewer:twitch:2' }, undefined, NOW + 1)!;
    expect(moved).toMatchObject({ subject: 'viewer:twitch:2', has_vector: true, updated_at: NOW + 1 });
    expect(moved.subject_name).toBeUndefined();
    const byVector = (subject: string) =>
      store.search({ persona: 'Mika', subjects: [subject], text: '', vector: { space: SPACE, vec: vec(1) }, k: 3, now: NOW }).items.map((i) => i.id);
    expect(byVector('viewer:twitch:2')).toEqual([id]);
    expect(byVector('viewer:twitch:1')).toEqual([]);

    const edited = store.update(id, { text: 'prefers black coffee', pinned: true }, undefined, NOW + 2)!;
    expect(edited).toMatchObject({ text: 'prefers black coffee', pinned: true, has_vector: false });
    expect(store.search({ persona: 'Mika', text: 'green tea', k: 3, now: NOW }).items).toEqual([]);
    expect(store.search({ persona: 'Mika', text: 'coffee', k: 3, now: NOW }).items.map((i) => i.id)).toEqual([id]);
    expect(store.missingVectors(SPACE, 10)).toEqual([{ id, text: 'prefers black coffee' }]);

    expect(store.update(999, { pinned: true })).toBeUndefined();
    expect(() => store.update(id, { text: ' ' })).toThrow(/needs some text/);
  });

  it('deletes one memory, or everything about a subject', () => {
    const store = openStore();
    const a = store.add(memory('has a dog called Rex', { subject: 'viewer:youtube:abc' }), { space: SPACE, vec: vec(1) });
    store.add(memory('is learning Japanese', { subject: 'viewer:youtube:abc' }), { space: SPACE, vec: vec(0, 1) });
    store.add(memory('has a dog too', { subject: 'viewer:youtube:abc', persona: 'Rin' }));
    const keep = store.add(memory('streams on Fridays'), { space: SPACE, vec: vec(0, 0, 1) });
    expect(store.subjects('Mika')).toEqual([
      { subject: 'viewer:youtube:abc', count: 2 },
      { subject: 'streamer', count: 1 },
    ]);
    expect(store.delete(a)).toBe(true);
    expect(store.delete(a)).toBe(false);
    expect(store.forgetSubject('Mika', 'viewer:youtube:abc')).toBe(1);
    expect(store.list({ persona: 'Mika' }).memories.map((m) => m.id)).toEqual([keep]);
    expect(store.size('Rin')).toBe(1);
    expect(store.vectorCount(SPACE)).toBe(1);
    // Nothing of them is found by vector either.
    expect(store.search({ persona: 'Mika', text: 'dog', vector: { space: SPACE, vec: vec(1) }, k: 5, now: NOW }).items).toEqual([]);
  });

  it('lists newest first, by page, with the total', () => {
    const store = openStore();
    for (let i = 0; i < 5; i++) store.add(memory(`memory about topic number ${i}`, { at: NOW + i }));
    const page = store.list({ persona: 'Mika', offset: 1, limit: 2 }, NOW);
    expect(page.total).toBe(5);
    expect(page.memories.map((m) => m.text)).toEqual(['memory about topic number 3', 'memory about topic number 2']);
  });
});

describe('export and import', () => {
  it('round-trips every field; merge skips near-duplicates; replace empties the personas first', () => {
    const a = openStore();
    a.add(memory('has a cat called Mochi', { subject: 'viewer:twitch:9', subject_name: 'Kai', importance: 0.9, pinned: true, source_session: 's', source_turn: 't' }));
    const b2 = a.add(memory('promised to sing a song next stream', { subject: 'avatar', kind: 'promise', at: NOW - DAY }));
    a.touch([b2], NOW);
    const data = MemoryExport.parse(JSON.parse(JSON.stringify(a.exportAll('Mika'))));
    expect(data.memories).toHaveLength(2);

    const b = openStore();
    b.add(memory('Has a cat called Mochi!', { subject: 'viewer:twitch:9' }));
    b.add(memory('something else entirely about trains'));
    expect(b.importAll(data, 'merge')).toHaveLength(1);
    expect(b.size('Mika')).toBe(3);
    expect(b.importAll(data, 'merge')).toHaveLength(0);

    const added = b.importAll(data, 'replace');
    expect(added).toHaveLength(2);
    expect(b.size('Mika')).toBe(2);
    expect(b.exportAll('Mika').memories).toEqual(data.memories);
    expect(data.memories[1]).toMatchObject({ kind: 'promise', access_count: 1, last_accessed_at: NOW, created_at: NOW - DAY });
  });
});

describe('vector spaces', () => {
  it('tracks missing vectors, unembeddable texts, and drops the old space after a switch', () => {
    const store = openStore();
    const ids = [store.add(memory('likes hiking')), store.add(memory('我喜欢喝绿茶')), store.add(memory('plays chess'))];
    expect(store.missingVectors(SPACE, 10).map((m) => m.id)).toEqual(ids);
    store.setVectors(SPACE, [
      { id: ids[0]!, vec: vec(1) },
      { id: ids[2]!, vec: vec(0, 1) },
    ]);
    store.markUnembeddable(SPACE, [ids[1]!]);
    expect(store.missingVectors(SPACE, 10)).toEqual([]);
    expect(store.vectorCount(SPACE)).toBe(3);

    // A new engine: everything is missing in its space; the old space still serves meanwhile.
    expect(store.missingVectors(OTHER, 10).map((m) => m.id)).toEqual(ids);
    store.setVectors(OTHER, ids.map((id, i) => ({ id, vec: vec16(i) })));
    expect(() => store.setVectors(OTHER, [{ id: ids[0]!, vec: vec(1) }])).toThrow(/holds 16-d vectors/);
    expect(store.search({ persona: 'Mika', text: '', vector: { space: SPACE, vec: vec(1) }, k: 1, now: NOW }).items[0]?.id).toBe(ids[0]);
    expect(store.search({ persona: 'Mika', text: '', vector: { space: OTHER, vec: vec16(2) }, k: 1, now: NOW }).items[0]?.id).toBe(ids[2]);

    store.dropOtherSpaces(OTHER);
    expect(store.vectorSpaces()).toEqual([OTHER]);
    expect(store.vectorCount(SPACE)).toBe(0);
    expect(store.search({ persona: 'Mika', text: '', vector: { space: SPACE, vec: vec(1) }, k: 1, now: NOW })).toEqual({ items: [], mode: 'keyword' });
    const tables = store.db.prepare<[], string>("SELECT name FROM sqlite_master WHERE name LIKE 'vec\\_%' ESCAPE '\\' AND type = 'table'").pluck().all();
    // The old space's vec0 table went with its shadow tables.
    expect(tables).toContain('vec_2');
    expect(tables.filter((t) => !t.startsWith('vec_2'))).toEqual([]);
  });

  it('ignores vectors of memories deleted while they were embedded', () => {
    const store = openStore();
    const id = store.add(memory('likes hiking'));
    store.delete(id);
    store.setVectors(SPACE, [{ id, vec: vec(1) }]);
    expect(store.vectorCount(SPACE)).toBe(0);
  });
});

describe('sqlite-vec that cannot be loaded', () => {
  it('fails the open with the fix', () => {
    const failing = sqliteVecExtension(() => {
      throw new Error('cannot open shared object file: No such file or directory');
    });
    expect(() => MemoryStore.open(tempDir(), { log: quiet, defaultPersona: 'Mika', vecExtension: failing })).toThrow(ExtensionLoadError);
    expect(() => MemoryStore.open(tempDir(), { log: quiet, defaultPersona: 'Mika', vecExtension: failing })).toThrow(
      /long-term\.db: the SQLite extension sqlite-vec could not be loaded \(cannot open shared object file.*npm install.*sqlite-vec-/,
    );
  });
});
