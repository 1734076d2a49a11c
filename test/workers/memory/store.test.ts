/**
 * The short-term store on real SQLite files: persistence across processes (a damaged file:
 * salvage.test.ts), the token-budget window, reply ordering and statuses, and hot-path timings with a long history.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore, renderContent } from '../../../src/workers/memory/store.js';
import { estimateTokens, messageTokens } from '../../../src/workers/memory/tokens.js';
import type { MemoryContext } from '../../../src/shared/voice.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(HERE, 'fixtures', 'store-cli.ts');

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'fav-mem-'));
}

interface LogLine {
  level: 'error' | 'warn' | 'info';
  obj: unknown;
  msg: string;
}
function captureLog() {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (obj: unknown, msg?: string) => void lines.push({ level, obj, msg: msg ?? '' });
  return { lines, log: { error: at('error'), warn: at('warn'), info: at('info') } as never };
}

const open: MemoryStore[] = [];
function openStore(dir: string) {
  const { lines, log } = captureLog();
  const s = MemoryStore.open(dir, log);
  open.push(s);
  return { store: s, lines };
}
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

function cli(action: 'write' | 'read', dir: string, session: string): { pid: number; count?: number; messages?: string[][] } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', CLI, action, dir, session], { encoding: 'utf8', timeout: 20_000 });
  return JSON.parse(out) as never;
}

describe('memory store', () => {
  it('keeps history across processes (written in one, read in another)', () => {
    const dir = tempDir();
    const w = cli('write', dir, 's1');
    const r = cli('read', dir, 's1');
    expect(r.pid).not.toBe(w.pid);
    expect(r.pid).not.toBe(process.pid);
    expect(r.count).toBe(6);
    expect(r.messages).toEqual([
      ['user', 'question 0'],
      ['assistant', 'answer 0'],
      ['user', 'question 1'],
      ['assistant', 'answer 1'],
      ['user', 'question 2'],
      ['assistant', 'answer 2…'],
    ]);
    // And this process sees the same rows, with the schema version recorded.
    const { store } = openStore(dir);
    expect(store.count('s1')).toBe(6);
    const v = store.db.prepare<[], { v: number }>('SELECT MAX(version) AS v FROM schema_version').get();
    expect(v?.v).toBe(2);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
  }, 40_000);

  it('refuses (without touching it) a file written by a newer schema', () => {
    const dir = tempDir();
    const { store } = openStore(dir);
    store.db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (99, 0)').run();
    store.close();
    expect(() => openStore(dir)).toThrow(/schema version 99, newer than this version of the app knows \(2\)/);
    expect(readdirSync(path.join(dir, 'memory')).some((f) => f.includes('corrupt'))).toBe(false);
  });

  it('window: newest messages within the budget, always ending with the current message', () => {
    const { store } = openStore(tempDir());
    for (let i = 0; i < 600; i++) {
      store.addUser({ session_id: 's', turn_id: `t${i}`, text: `user message number ${i} with some words`, ts: i, pos: i });
      store.addAssistant({ session_id: 's', turn_id: `t${i}`, text: `assistant reply number ${i}, a little longer than the question`, status: 'complete', ts: i + 0.5 });
    }
    // Another session never leaks in.
    store.addUser({ session_id: 'other', turn_id: 'x', text: 'secret of another session', ts: 5000, pos: 5000 });
    const cur = store.addUser({ session_id: 's', turn_id: 'now', text: 'the current question', ts: 1000, pos: 1000 });
    for (const budget of [200, 500, 2000]) {
      const w = store.window('s', cur.pos, budget);
      expect(w.tokens).toBeLessThanOrEqual(budget);
      expect(w.tokens).toBe(w.messages.reduce((n, m) => n + m.tokens, 0));
      expect(w.tokens).toBe(w.messages.reduce((n, m) => n + messageTokens(m.content), 0));
      expect(w.messages.at(-1)).toMatchObject({ role: 'user', content: 'the current question' });
      // Contiguous tail: alternating roles, descending turn numbers from the newest.
      const n = w.messages.length;
      expect(n).toBeGreaterThan(3);
      expect(w.messages.at(-2)!.content).toBe('assistant reply number 599, a little longer than the question');
      expect(w.messages.some((m) => m.content.includes('another session'))).toBe(false);
      // The next older message would not have fitted.
      expect(w.firstLeftOutPos).toBeDefined();
      const older = store.range('s', -Infinity, w.firstLeftOutPos!).at(-1)!;
      expect(w.tokens + messageTokens(renderContent(older))).toBeGreaterThan(budget);
    }
  });

  it('window: the current message is included even when it alone is over budget', () => {
    const { store } = openStore(tempDir());
    store.addUser({ session_id: 's', turn_id: 'a', text: 'earlier', ts: 1, pos: 1 });
    const long = '长'.repeat(500);
    const cur = store.addUser({ session_id: 's', turn_id: 'b', text: long, ts: 2, pos: 2 });
    const w = store.window('s', cur.pos, 200);
    expect(w.messages).toEqual([expect.objectContaining({ role: 'user', content: long })]);
    expect(w.tokens).toBe(estimateTokens(long) + 4);
    expect(w.firstLeftOutPos).toBe(1);
  });

  it('cancelled replies carry an ellipsis, empty ones are skipped, late cancels never downgrade, late replies sort after their turn', () => {
    const { store } = openStore(tempDir());
    store.addUser({ session_id: 's', turn_id: 't1', text: 'tell me a story', author: 'viewer42', ts: 10, pos: 10 });
    store.addAssistant({ session_id: 's', turn_id: 't1', text: 'Once upon a time ', status: 'cancelled', ts: 11 });
    // The barge-in turn starts before t1's cancelled reply was stored in real life: simulate t2's
    // reply arriving after t3 started.
    store.addUser({ session_id: 's', turn_id: 't2', text: 'wait, stop', ts: 12, pos: 12 });
    store.addUser({ session_id: 's', turn_id: 't3', text: 'new topic', ts: 14, pos: 14 });
    store.addAssistant({ session_id: 's', turn_id: 't2', text: 'Okay, stopping.', status: 'complete', ts: 15 });
    store.addAssistant({ session_id: 's', turn_id: 't2', text: 'Okay', status: 'cancelled', ts: 16 }); // late cancel: ignored
    store.addUser({ session_id: 's', turn_id: 't4', text: 'hi', ts: 20, pos: 20 });
    store.addAssistant({ session_id: 's', turn_id: 't4', text: '', status: 'cancelled', ts: 21 });
    const cur = store.addUser({ session_id: 's', turn_id: 't5', text: 'now', ts: 30, pos: 30 });
    const w = store.window('s', cur.pos, 2000);
    expect(w.messages.map((m) => [m.role, m.content])).toEqual([
      ['user', 'viewer42: tell me a story'],
      ['assistant', 'Once upon a time…'],
      ['user', 'wait, stop'],
      ['assistant', 'Okay, stopping.'],
      ['user', 'new topic'],
      ['user', 'hi'],
      ['user', 'now'],
    ]);
    expect(store.message('s', 't2', 'assistant')?.status).toBe('complete');
    expect(store.message('s', 't4', 'assistant')?.status).toBe('cancelled');
  });

  it('the in-memory tail sees writes of another connection and falls back to the file for big windows', () => {
    const dir = tempDir();
    const { store } = openStore(dir);
    store.setCacheTokens(200); // a small tail, so windows of a bigger budget must read the file
    for (let i = 0; i < 100; i++) store.addUser({ session_id: 's', turn_id: `t${i}`, text: `message ${i} of the history`, ts: i, pos: i });
    const small = store.window('s', 99, 100);
    const big = store.window('s', 99, 1000);
    expect(small.messages.at(-1)!.content).toBe('message 99 of the history');
    expect(big.messages.length).toBeGreaterThan(small.messages.length * 5);
    expect(big.tokens).toBeLessThanOrEqual(1000);
    expect(big.firstLeftOutPos).toBeDefined();
    // Everything fits: the whole history from the file, oldest first.
    expect(store.window('s', 99, 100_000).messages.map((m) => m.content)).toEqual(Array.from({ length: 100 }, (_, i) => `message ${i} of the history`));
    // A second process (here: a second connection) writes to the same file: the tail is dropped.
    const { store: other } = openStore(dir);
    other.addUser({ session_id: 's', turn_id: 'ext', text: 'written elsewhere', ts: 100, pos: 100 });
    expect(store.window('s', 100, 100).messages.at(-1)!.content).toBe('written elsewhere');
  });

  it('a redelivered turn keeps its first row', () => {
    const { store } = openStore(tempDir());
    const a = store.addUser({ session_id: 's', turn_id: 't', text: 'first', ts: 1, pos: 1 });
    const b = store.addUser({ session_id: 's', turn_id: 't', text: 'first', ts: 5, pos: 5 });
    expect(b.id).toBe(a.id);
    expect(b.pos).toBe(1);
    expect(store.count('s')).toBe(1);
  });

  it('hot path with 2000 messages of history: store + window + context JSON, p50/p95', () => {
    const { store } = openStore(tempDir());
    const fill = store.db.transaction(() => {
      for (let i = 0; i < 1000; i++) {
        store.addUser({ session_id: 's', turn_id: `h${i}`, text: `history question ${i}: what do you think about the weather today?`, ts: i, pos: i });
        store.addAssistant({ session_id: 's', turn_id: `h${i}`, text: `History answer ${i}. I think it is lovely, perfect for a walk in the park with friends!`, status: 'complete', ts: i });
      }
    });
    fill();
    const times: number[] = [];
    for (let i = 0; i < 300; i++) {
      const pos = 10_000 + i;
      const t0 = performance.now();
      store.addUser({ session_id: 's', turn_id: `now${i}`, text: `current question ${i}, how are you?`, ts: pos, pos });
      const s = store.latestSummary('s');
      const w = store.window('s', pos, 2000 - (s ? s.tokens : 0));
      const ctx: Partial<MemoryContext> = { text: 'x', messages: w.messages.map((m) => ({ role: m.role, content: m.content })), memories: [] };
      JSON.stringify(ctx);
      times.push(performance.now() - t0);
      // Keep history growing like a conversation.
      store.addAssistant({ session_id: 's', turn_id: `now${i}`, text: `reply ${i}`, status: 'complete', ts: pos });
    }
    times.sort((a, b) => a - b);
    const p50 = times[Math.floor(times.length * 0.5)]!;
    const p95 = times[Math.floor(times.length * 0.95)]!;
    console.log(`memory hot path (2000+ messages, budget 2000): p50 ${p50.toFixed(3)} ms, p95 ${p95.toFixed(3)} ms`);
    // Target well under 2 ms; the bound leaves room for a loaded shared CI machine.
    expect(p50).toBeLessThan(2);
  });
});
