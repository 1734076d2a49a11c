/**
 * long-term.db files from before issue 11 (schema v2, written with the v1/v2 SQL as the keyword
 * store wrote them) open and keep every memory with its fields mapped; a file of a newer schema is
 * refused untouched; a damaged file is moved aside and its memories salvaged, searchable again.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../../src/workers/common/sqlite.js';
import { MemoryStore } from '../../../../src/workers/long-term-memory/store/memory-store.js';
import { migrations } from '../../../../src/workers/long-term-memory/store/schema.js';
import { canonical, terms } from '../../../../src/workers/long-term-memory/text.js';
import { recallScope } from '../../../../src/shared/long-term.js';
import { sqliteVecExtension } from '../../../../src/workers/common/sqlite-vec.js';
import { encodeVector } from '../../../../src/workers/long-term-memory/store/vectors.js';
import { leafPages, smash } from '../../common/damaged-db.js';
import { NOW, SPACE, captureLog, memory, openStore, quiet, tempDir, vec } from './helpers.js';

interface V2Row {
  session_id: string;
  turn_id: string | null;
  kind: string;
  text: string;
  ts: number;
  last_seen: number;
  hits: number;
}

/** A v2 file as the keyword store wrote it: memories, their FTS rows, one remote-model vector. */
function writeV2(dir: string, rows: V2Row[]): void {
  const { db } = openDatabase(MemoryStore.file(dir), { migrations: migrations('unused').filter((m) => m.version <= 2), log: quiet });
  const insert = db.prepare('INSERT INTO memories (session_id, turn_id, kind, text, canon, terms, ts, last_seen, hits) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const fts = db.prepare('INSERT INTO memories_fts (rowid, terms) VALUES (?, ?)');
  for (const r of rows) {
    const t = terms(r.text).join(' ');
    const id = Number(insert.run(r.session_id, r.turn_id, r.kind, r.text, canonical(r.text), t, r.ts, r.last_seen, r.hits).lastInsertRowid);
    fts.run(id, t);
  }
  db.prepare('INSERT INTO memory_vectors (id, model, dim, vec) VALUES (1, ?, 2, ?)').run('nomic-embed-text', Buffer.from(new Float32Array([1, 0]).buffer));
  db.close();
}

describe('a v2 long-term.db', () => {
  it('keeps every memory, with persona, subject, kind, counts and times mapped', () => {
    const dir = tempDir();
    const v2: V2Row[] = [
      { session_id: 's1', turn_id: 't1', kind: 'user', text: 'my cat is called Mochi', ts: NOW - 5000, last_seen: NOW - 1000, hits: 3 },
      { session_id: 's1', turn_id: 't1', kind: 'assistant', text: 'I promise to sing your favourite song next time', ts: NOW - 4000, last_seen: NOW - 4000, hits: 1 },
      { session_id: 's2', turn_id: null, kind: 'fact', text: 'the stream moved to Saturdays', ts: NOW - 3000, last_seen: NOW - 2000, hits: 2 },
      { session_id: 's2', turn_id: null, kind: 'summary', text: 'we talked about cats and tea', ts: NOW - 2000, last_seen: NOW - 2000, hits: 1 },
    ];
    writeV2(dir, v2);
    const store = openStore(dir, { defaultPersona: 'Mika' });
    expect(store.size()).toBe(4);
    const all = store.list({}, NOW).memories.sort((a, b) => a.id - b.id);
    expect(all.map(({ id, persona, subject, kind, text, importance, pinned, access_count, created_at, updated_at, last_accessed_at, source_session, source_turn }) => ({
      id, persona, subject, kind, text, importance, pinned, access_count, created_at, updated_at, last_accessed_at, source_session, source_turn,
    }))).toEqual([
      { id: 1, persona: 'Mika', subject: 'streamer', kind: 'utterance', text: v2[0]!.text, importance: 0.5, pinned: false, access_count: 3, created_at: NOW - 5000, updated_at: NOW - 1000, last_accessed_at: NOW - 1000, source_session: 's1', source_turn: 't1' },
      { id: 2, persona: 'Mika', subject: 'avatar', kind: 'utterance', text: v2[1]!.text, importance: 0.5, pinned: false, access_count: 1, created_at: NOW - 4000, updated_at: NOW - 4000, last_accessed_at: NOW - 4000, source_session: 's1', source_turn: 't1' },
      { id: 3, persona: 'Mika', subject: 'world', kind: 'fact', text: v2[2]!.text, importance: 0.5, pinned: false, access_count: 2, created_at: NOW - 3000, updated_at: NOW - 2000, last_accessed_at: NOW - 2000, source_session: 's2', source_turn: undefined },
      { id: 4, persona: 'Mika', subject: 'world', kind: 'summary', text: v2[3]!.text, importance: 0.5, pinned: false, access_count: 1, created_at: NOW - 2000, updated_at: NOW - 2000, last_accessed_at: NOW - 2000, source_session: 's2', source_turn: undefined },
    ]);
    // The keyword index carried over; the old vectors were dropped, to be re-embedded.
    expect(store.search({ persona: 'Mika', text: 'Mochi', k: 3, now: NOW }).items.map((i) => i.id)).toEqual([1]);
    expect(store.missingVectors(SPACE, 10).map((m) => m.id)).toEqual([1, 2, 3, 4]);
    const tables = store.db.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    expect(tables).not.toContain('memory_vectors');
    // New memories go on from there.
    expect(store.add(memory('likes jasmine tea'))).toBe(5);
  });
});

describe('a v3 long-term.db (vec0 tables with the subject as text)', () => {
  it('keeps its vectors: the vec0 tables are rebuilt with the subject by number', () => {
    const dir = tempDir();
    const { db } = openDatabase(MemoryStore.file(dir), {
      migrations: migrations('Mika').filter((m) => m.version <= 3),
      log: quiet,
      extensions: [sqliteVecExtension()],
    });
    const now = Date.now();
    const add = db.prepare(
      `INSERT INTO memories (persona, subject, kind, text, canon, terms, created_at, updated_at) VALUES ('Mika', ?, 'fact', ?, ?, ?, ${now}, ${now})`,
    );
    const rows = [
      { subject: 'viewer:twitch:123456', text: 'has a cat called Mochi', v: vec(1) },
      { subject: 'streamer', text: 'plays the piano', v: vec(0, 1) },
    ];
    db.exec(`INSERT INTO vector_spaces (space, dim, created_at) VALUES ('${SPACE}', 8, ${now})`);
    db.exec("CREATE VIRTUAL TABLE vec_1 USING vec0 (id INTEGER PRIMARY KEY, embedding bit[8], persona TEXT PARTITION KEY, subject TEXT)");
    for (const r of rows) {
      const id = Number(add.run(r.subject, r.text, canonical(r.text), terms(r.text).join(' ')).lastInsertRowid);
      db.prepare('INSERT INTO memories_fts (rowid, terms) VALUES (?, ?)').run(id, terms(r.text).join(' '));
      db.prepare('INSERT INTO vectors (space_id, memory_id, vec) VALUES (1, ?, ?)').run(id, encodeVector(r.v));
      db.prepare('INSERT INTO vec_1 (id, embedding, persona, subject) VALUES (?, vec_quantize_binary(?), ?, ?)').run(BigInt(id), r.v, 'Mika', r.subject);
    }
    db.close();

    const store = openStore(dir, { smallSubject: 0 });
    expect(store.vectorCount(SPACE)).toBe(2);
    const near = (subjects: string[], v: Float32Array) =>
      store.search({ persona: 'Mika', subjects, text: '', vector: { space: SPACE, vec: v }, k: 2, now: NOW }).items.map((i) => i.text);
    expect(near(recallScope('viewer:twitch:123456'), vec(1))).toEqual(['has a cat called Mochi']);
    expect(near(recallScope('viewer:twitch:999'), vec(1))).toEqual([]);
    expect(near(['streamer'], vec(0, 1))).toEqual(['plays the piano']);
  });
});

describe('a long-term.db of a newer schema', () => {
  it('is refused and left untouched', () => {
    const dir = tempDir();
    openStore(dir).close();
    const file = MemoryStore.file(dir);
    const { db } = openDatabase(file, { migrations: [...migrations('Mika'), { version: 9, up: () => undefined }], log: quiet });
    db.close();
    const before = readFileSync(file);
    expect(() => MemoryStore.open(dir, { log: quiet, defaultPersona: 'Mika' })).toThrow(/schema version 9, newer than this version of the app knows \(4\)/);
    expect(readFileSync(file)).toEqual(before);
  });
});

describe('a damaged long-term.db', () => {
  it('is moved aside; its memories are salvaged and searchable, their vectors re-embedded later', () => {
    const dir = tempDir();
    const first = openStore(dir);
    const n = 600;
    for (let i = 0; i < n; i++) {
      first.add(memory(`memory number ${i}: my favourite colour is shade${i} and I keep a pet called beast${i}`), { space: SPACE, vec: vec(1, i / n) });
    }
    first.close();
    const file = MemoryStore.file(dir);
    const leaves = leafPages(file, 'memories');
    const hit = leaves[Math.floor(leaves.length / 2)]!;
    smash(file, [hit.pageno]);

    const { lines, log } = captureLog();
    const store = openStore(dir, { log });
    expect(store.salvage).toMatchObject({ saved: expect.any(Number) });
    expect(store.size()).toBe(n - hit.ncell);
    expect(store.salvage!.tables.find((t) => t.table === 'memories')).toMatchObject({ saved: n - hit.ncell, lost: hit.ncell });
    expect(lines.find((l) => l.level === 'warn')?.msg).toContain(store.salvage!.keptAs);
    expect(readdirSync(path.dirname(file)).some((f) => f.startsWith('long-term.db.corrupt-'))).toBe(true);
    const kept = store.list({}, NOW).memories.at(-1)!;
    const pet = /beast\d+/.exec(kept.text)![0];
    expect(store.search({ persona: 'Mika', text: `do you remember ${pet}?`, k: 1, now: NOW }).items[0]?.id).toBe(kept.id);
    expect(store.vectorCount(SPACE)).toBe(0);
    expect(store.missingVectors(SPACE, 1000)).toHaveLength(n - hit.ncell);
  });
});
