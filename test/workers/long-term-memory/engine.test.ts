/**
 * The embedder as recall uses it (engine.ts), with a fake embedder and fake timers: keyword-only
 * until loaded and warmed up; an engine that cannot run is tried again with a doubling back-off and
 * used once it can, with no restart; stopped, it tries no more.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Engine } from '../../../src/workers/long-term-memory/engine.js';
import { FAKE_SPACE, FakeEmbedder } from './fake-embedder.js';

const log = { info: () => undefined, warn: () => undefined };

afterEach(() => {
  vi.useRealTimers();
});

describe('long-term-memory engine', () => {
  it('answers keyword-only until the embedder is loaded and warmed up, then with vectors', async () => {
    const e = new FakeEmbedder();
    const ready = vi.fn();
    const engine = new Engine(e, { log, onReady: ready });
    expect(await engine.queryVector('my dog', 100)).toEqual({});
    engine.start();
    await vi.waitFor(() => expect(ready).toHaveBeenCalledTimes(1));
    // The warm-up went through the model before any query.
    expect(e.calls[0]).toEqual({ texts: ['warming up the memory'], purpose: 'query' });
    const q = await engine.queryVector('my dog', 100);
    expect(q.vector?.space).toBe(FAKE_SPACE);
    expect(e.calls.at(-1)).toEqual({ texts: ['my dog'], purpose: 'query' });
    // No time left in the budget: no embedding at all.
    expect(await engine.queryVector('my dog', 0)).toEqual({});
  });

  it('tries a failing engine again with a doubling back-off and uses it once it runs, until stopped', async () => {
    vi.useFakeTimers();
    const e = new FakeEmbedder();
    e.failReady = 2;
    const errors: string[] = [];
    const ready = vi.fn();
    const engine = new Engine(e, { log, onReady: ready, onError: (m) => errors.push(m), retryMs: 1000, retryMaxMs: 10_000 });
    engine.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toEqual(['model missing: download it in Settings']);
    expect(engine.ready).toBe(false);
    // First retry after 1 s, the next after 2 s more.
    await vi.advanceTimersByTimeAsync(999);
    expect(errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(errors).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1999);
    expect(ready).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(ready).toHaveBeenCalledTimes(1);
    expect(engine.ready).toBe(true);
    expect(engine.error).toBeUndefined();
  });

  it('stopped while waiting to retry, it tries no more', async () => {
    vi.useFakeTimers();
    const e = new FakeEmbedder();
    e.failReady = 1;
    const ready = vi.fn();
    const engine = new Engine(e, { log, onReady: ready, retryMs: 1000 });
    engine.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(engine.error).toMatch(/model missing/);
    engine.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ready).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});
