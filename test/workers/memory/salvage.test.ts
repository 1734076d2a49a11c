/**
 * Damaged memory databases on real SQLite files (the long-term store's: test/workers/long-term-memory/store/migration.test.ts): garbage written over pages in the middle of a file
 * full of history, then opened through the stores as the services do. Most rows come back, the
 * damaged file is kept untouched beside the new one, and the warning says where it is and how many
 * rows were saved and lost. Also: the files are private (0600) from their first byte.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/workers/memory/store.js';
import { MemoryStore as LongTermStore } from '../../../src/workers/long-term-memory/store/memory-store.js';
import { leafPages, smash } from '../common/damaged-db.js';
import { fillHistory } from './fill-history.js';

const NOW = Date.UTC(2025, 5, 1);

interface Line {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}
function captureLog() {
  const lines: Line[] = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg?: string) => void lines.push({ level, obj, msg: msg ?? '' });
  return { lines, log: { error: at('error'), warn: at('warn'), info: at('info') } as never };
}

const toClose: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of toClose.splice(0)) s.close();
});

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'fav-salvage-'));
}

describe('a damaged short-term memory database', () => {
  it('keeps every row SQLite can read, keeps the old file, and says where it is and what was lost', () => {
    const dir = tempDir();
    const file = MemoryStore.file(dir);
    const turns = 1500;
    fillHistory(dir, turns, NOW);
    const leaves = leafPages(file, 'messages');
    expect(leaves.length).toBeGreaterThan(20);
    // Two pages in the middle of the table, apart from each other.
    const hit = [leaves[Math.floor(leaves.length / 3)]!, leaves[Math.floor((2 * leaves.length) / 3)]!];
    const onHitPages = hit.reduce((n, p) => n + p.ncell, 0);
    smash(file, hit.map((p) => p.pageno));
    const damaged = readFileSync(file);

    const { lines, log } = captureLog();
    const store = MemoryStore.open(dir, log);
    toClose.push(store);

    const s = store.salvage!;
    expect(s).toBeDefined();
    expect(s.saved).toBe(turns - onHitPages);
    expect(s.lost).toBe(onHitPages);
    expect(store.count('s1')).toBe(turns - onHitPages);
    // The rows kept their ids, text and order; the new file passes a full integrity check.
    const first = store.db.prepare<[], { id: number; text: string }>('SELECT id, text FROM messages ORDER BY id LIMIT 1').get()!;
    expect(first).toEqual({ id: 1, text: expect.stringMatching(/^turn 0: /) });
    expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');

    // The damaged file is kept as it was, beside the new one.
    expect(s.keptAs).toMatch(/memory\.db\.corrupt-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/);
    expect(readFileSync(s.keptAs)).toEqual(damaged);
    expect(readdirSync(path.dirname(file)).filter((f) => f.includes('salvaging'))).toEqual([]);

    // One warning with the path of the old file and the counts: what the console and /health show.
    const warn = lines.filter((l) => l.level === 'warn');
    expect(warn).toHaveLength(1);
    expect(warn[0]!.msg).toBe(s.message);
    expect(s.message).toContain(s.keptAs);
    expect(s.message).toMatch(new RegExp(`saved ${turns - onHitPages} rows into a new one \\(${onHitPages} lost\\)`));
    expect(lines.some((l) => l.level === 'error')).toBe(false);

    // The new database takes new turns.
    store.addUser({ session_id: 's1', turn_id: 'after', text: 'still here?', ts: NOW + turns, pos: NOW + turns });
    expect(store.count('s1')).toBe(turns - onHitPages + 1);
  });

  it('loses nothing when only an index is damaged (it is rebuilt)', () => {
    const dir = tempDir();
    const file = MemoryStore.file(dir);
    fillHistory(dir, 600, NOW);
    smash(file, [leafPages(file, 'messages_by_pos')[1]!.pageno]);
    const store = MemoryStore.open(dir, captureLog().log);
    toClose.push(store);
    expect(store.salvage).toMatchObject({ saved: 600, lost: 0 });
    expect(store.salvage!.message).toMatch(/saved 600 rows into a new one \(0 lost\)/);
    expect(store.window('s1', NOW + 599, 1_000_000).messages).toHaveLength(600);
  });

  it('starts fresh and says so when nothing at all can be read', () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'memory'));
    const garbage = Buffer.from('this is not a sqlite database at all '.repeat(300));
    writeFileSync(MemoryStore.file(dir), garbage);
    const { lines, log } = captureLog();
    const store = MemoryStore.open(dir, log);
    toClose.push(store);
    expect(store.salvage).toMatchObject({ saved: 0, unreadable: expect.any(String) });
    expect(readFileSync(store.movedAside!)).toEqual(garbage);
    expect(lines.find((l) => l.level === 'warn')?.msg).toMatch(/nothing in it could be read.*kept as .*memory\.db\.corrupt-/);
    expect(store.count('s1')).toBe(0);
  });
});

describe('memory database files', () => {
  it('are created private (0600), -wal and -shm included, in a private folder', () => {
    const dir = tempDir();
    const store = MemoryStore.open(dir, captureLog().log);
    toClose.push(store);
    store.addUser({ session_id: 's', turn_id: 't', text: 'hello', ts: NOW, pos: NOW });
    const ltm = LongTermStore.open(dir, { log: captureLog().log, defaultPersona: 'Aria' });
    toClose.push(ltm);
    ltm.add({ persona: 'Aria', subject: 'streamer', kind: 'fact', text: 'Grew up by the sea in a small town', importance: 0.5, pinned: false, at: NOW });
    const folder = path.dirname(MemoryStore.file(dir));
    const files = readdirSync(folder);
    expect(files).toEqual(expect.arrayContaining(['memory.db', 'memory.db-wal', 'memory.db-shm', 'long-term.db', 'long-term.db-wal', 'long-term.db-shm']));
    for (const f of files) expect({ f, mode: statSync(path.join(folder, f)).mode & 0o777 }).toEqual({ f, mode: 0o600 });
    expect(statSync(folder).mode & 0o777).toBe(0o700);
  });
});
