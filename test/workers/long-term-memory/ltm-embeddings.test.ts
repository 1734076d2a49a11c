/**
 * The embeddings store (FTS5 + vectors from an OpenAI-compatible /v1/embeddings) against the local
 * stand-in (deterministic hashed bag-of-words vectors) with the real `openai` SDK: background
 * vectors, recall by vector where keywords find nothing, and keyword recall within the budget when
 * the endpoint is slow or down.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LtmWrite } from '../../../src/shared/voice.js';
import { EmbeddingLongTermStore, type EmbeddingOptions } from '../../../src/workers/long-term-memory/embedding-store.js';
import { FtsLongTermStore } from '../../../src/workers/long-term-memory/fts-store.js';
import { freePort } from '../../helpers/redis-server.js';
import { startOpenAiServer, type OpenAiServer } from '../../helpers/openai-server.js';

const log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const w = (text: string): LtmWrite => ({ session_id: 's', text, kind: 'user', ts: Date.now() });
/** A log that keeps each message, to tell which path a recall took (budget spent, or endpoint refused). */
function recordingLog() {
  const lines: string[] = [];
  const keep = (_o: unknown, msg?: string) => void lines.push(msg ?? '');
  return { lines, debug: keep, info: keep, warn: keep, error: keep };
}
const open: EmbeddingLongTermStore[] = [];
function store(dir: string, opts: Partial<EmbeddingOptions> & { baseUrl: string }, lg: ConstructorParameters<typeof EmbeddingLongTermStore>[2] = log) {
  const s = new EmbeddingLongTermStore(FtsLongTermStore.open(dir, lg), { model: 'embed-model', queryBudgetMs: 200, ...opts }, lg);
  open.push(s);
  return s;
}
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});
const embedCalls = (ai: OpenAiServer) => ai.requests.filter((r) => r.path === '/v1/embeddings');

describe('long-term embeddings store', () => {
  let ai: OpenAiServer;
  beforeAll(async () => {
    ai = await startOpenAiServer({ embeddingDim: 256 });
  });
  afterAll(async () => {
    await ai?.close();
  });

  it('embeds memories in the background, in batches, and keeps the vectors across a reopen', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fav-emb-'));
    const s = store(dir, { baseUrl: ai.url });
    const before = embedCalls(ai).length;
    s.remember(w('my cat is called Mochi'));
    s.remember(w('I work as a nurse on night shifts'));
    s.remember(w('hello!')); // trivial: no vector either
    await s.flush();
    expect(s.vectorCount).toBe(2);
    const calls = embedCalls(ai).slice(before);
    expect(calls.length).toBeGreaterThanOrEqual(1);
    expect(calls.flatMap((c) => c.body!.input as string[]).sort()).toEqual(['I work as a nurse on night shifts', 'my cat is called Mochi']);
    expect(calls[0]!.body!.model).toBe('embed-model');
    await s.close();
    open.length = 0;
    // Reopened: vectors come from the file, nothing is embedded again.
    const n = embedCalls(ai).length;
    const again = store(dir, { baseUrl: ai.url });
    expect(again.vectorCount).toBe(2);
    await again.flush();
    expect(embedCalls(ai).length).toBe(n);
    // A memory written while the vectors were missing (e.g. an older version without embeddings) gets one.
    again.fts.remember(w('I started learning the guitar last month'));
    await again.flush();
    expect(again.vectorCount).toBe(3);
  });

  it('recalls by vector what keyword search cannot find, and still ranks the keyword match first', async () => {
    const s = store(mkdtempSync(path.join(tmpdir(), 'fav-emb-')), { baseUrl: ai.url });
    for (const t of ['where there is smoke there is fire', 'my cat is called Mochi', 'I played Elden Ring all weekend', 'my favourite food is ramen']) s.remember(w(t));
    await s.flush();
    // Only stop words: the keyword store finds nothing; the (bag-of-words) vectors do.
    expect(s.fts.recall({ query: 'where is there?', k: 3, session_id: 's' })).toEqual([]);
    const byVector = await s.recall({ query: 'where is there?', k: 3, session_id: 's' });
    expect(byVector[0]?.text).toBe('where there is smoke there is fire');
    const mochi = await s.recall({ query: "what is my cat's name?", k: 3, session_id: 's' });
    expect(mochi[0]?.text).toBe('my cat is called Mochi');
  });

  it('answers with keywords alone within the budget when the endpoint is slow', async () => {
    const slow = await startOpenAiServer({ embeddingDim: 64 });
    try {
      const lg = recordingLog();
      const s = store(mkdtempSync(path.join(tmpdir(), 'fav-emb-')), { baseUrl: slow.url, queryBudgetMs: 30 }, lg);
      s.remember(w('my cat is called Mochi'));
      await s.flush();
      // The endpoint would answer long after the test's own time-out: a recall that waited for it fails.
      slow.setOptions({ firstTokenDelayMs: 600_000 });
      const items = await s.recall({ query: "what is my cat's name?", k: 3, session_id: 's' });
      expect(items[0]?.text).toBe('my cat is called Mochi');
      // It asked the endpoint, answered while that request was still open, and did so because the
      // budget ran out (not because the request failed).
      const req = slow.requests.filter((r) => r.path === '/v1/embeddings').at(-1)!;
      expect(req.body!.input).toEqual(["what is my cat's name?"]);
      expect(req.completed).toBe(false);
      expect(lg.lines).toContain('query embedding not ready in time; keyword recall only');
      expect(lg.lines.filter((l) => l.includes('failed'))).toEqual([]);
      // The late request was given up (the connection closed), not left running.
      await slow.waitFor((r) => r.path === '/v1/embeddings' && r.aborted, 3000);
    } finally {
      await slow.close();
    }
  });

  it('answers with keywords at once when the endpoint is down, and stops asking it for a while', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fav-emb-'));
    const seeded = store(dir, { baseUrl: ai.url });
    seeded.remember(w('my cat is called Mochi'));
    await seeded.flush();
    await seeded.close();
    open.length = 0;
    let clock = 1_000_000;
    const lg = recordingLog();
    // A budget longer than the test's time-out: only an answer that does not wait for it passes.
    const s = store(dir, { baseUrl: `http://127.0.0.1:${await freePort()}/v1`, queryBudgetMs: 600_000, now: () => clock }, lg);
    expect((await s.recall({ query: "what is my cat's name?", k: 3, session_id: 's' }))[0]?.text).toBe('my cat is called Mochi');
    expect(lg.lines).toContain('embedding a recall query failed; keyword search only for now');
    // Backed off: a write does not try to embed, a recall does not wait.
    s.remember(w('I live in Osaka with my sister'));
    await s.flush();
    expect(s.vectorCount).toBe(1);
    clock += 60_000;
    expect((await s.recall({ query: 'where do I live?', k: 1, session_id: 's' }))[0]?.text).toBe('I live in Osaka with my sister');
  });
});
