import { afterEach, describe, expect, it } from 'vitest';
import type { RecallInfo } from '../../shared/long-term.js';
import { LastReplies, MemoryFeed } from './memory-feed.js';

const recall: RecallInfo = { status: 'vector', waited_ms: 12, took_ms: 10, engine: 'use-lite:512', count: 1 };
const context = (session_id: string, turn_id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    session_id,
    turn_id,
    task_id: turn_id,
    event_id: `e-${turn_id}`,
    ts: 1,
    marks: {},
    source: 'typed',
    text: 'hi',
    messages: [{ role: 'user', content: 'hi' }],
    memories: [{ id: 3, text: 'Likes tea.', subject: 'streamer', kind: 'preference', score: 0.5, updated_at: 1 }],
    recall,
    ...extra,
  });

describe('LastReplies', () => {
  it('keeps the last reply per session, and only the sessions seen most recently', () => {
    const l = new LastReplies(2);
    const last = (session_id: string, turn_id: string) => ({ session_id, turn_id, memories: [], at: 1 });
    l.take(last('a', '1'));
    l.take(last('b', '1'));
    l.take(last('a', '2')); // a is now the most recent
    l.take(last('c', '1'));
    expect(l.get('a')?.turn_id).toBe('2');
    expect(l.get('b')).toBeUndefined();
    expect(l.get('c')?.turn_id).toBe('1');
    expect(l.size).toBe(2);
    expect(() => new LastReplies(0)).toThrow(/positive integer/);
  });
});

describe('MemoryFeed.onContext', () => {
  const feeds: MemoryFeed[] = [];
  afterEach(async () => {
    for (const f of feeds.splice(0)) await f.close();
  });
  // Never started: onContext is what the subscription calls, tested without a bus.
  const feed = (o: Partial<ConstructorParameters<typeof MemoryFeed>[0]> = {}) => {
    const f = new MemoryFeed({ busUrl: 'redis://127.0.0.1:1', now: () => 5000, ...o });
    feeds.push(f);
    return f;
  };

  it("keeps a reply's memories and tells the turns its recall status", () => {
    const seen: Array<[string, string, RecallInfo]> = [];
    const f = feed({ turns: { recall: (s, t, info) => void seen.push([s, t, info]) } });
    f.onContext(context('studio', 't1'));
    expect(f.last.get('studio')).toEqual({ session_id: 'studio', turn_id: 't1', memories: [expect.objectContaining({ id: 3, score: 0.5 })], recall, at: 5000 });
    expect(seen).toEqual([['studio', 't1', recall]]);
  });

  it('skips a say turn, keeps a reply without recall info (not told to the turns), and logs only the first malformed contexts', () => {
    const logs: string[] = [];
    const seen: string[] = [];
    const f = feed({ log: (_level, msg) => void logs.push(msg), turns: { recall: (_s, t) => void seen.push(t) } });
    f.onContext(context('studio', 'say-1', { source: 'say', recall: undefined }));
    expect(f.last.get('studio')).toBeUndefined();
    f.onContext(context('studio', 't2', { recall: undefined }));
    expect(f.last.get('studio')).toMatchObject({ turn_id: 't2' });
    expect(f.last.get('studio')).not.toHaveProperty('recall');
    expect(seen).toEqual([]);
    for (let i = 0; i < 15; i++) f.onContext(i % 2 ? 'not json' : JSON.stringify({ session_id: 'studio' }));
    expect(logs).toHaveLength(10);
    expect(logs[0]).toMatch(/memory_updates: turn_id/);
    expect(logs[1]).toMatch(/not JSON/);
    expect(f.last.get('studio')).toMatchObject({ turn_id: 't2' });
  });
});
