/**
 * The memory view's routes (src/main/gateway/memory-routes.ts) on the real gateway and a real bus,
 * with a small fake long-term-memory (fake-ltm.ts) answering fav:ltm:admin: what the page is told
 * while no long-term-memory runs (503 at once, with the fix), the token guard, search and list with
 * their queries passed on, add / edit / pin / delete / forget, the failures the service answers, the
 * export download, the import and its validation (a bad file is a 400 naming what is wrong, and
 * reaches no service), and the memories of a session's last reply from memory_updates. Then the
 * same routes against the service's real admin handler on a real SQLite store (ltm-admin-on-bus.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../../src/main/gateway/server.js';
import { Channels } from '../../../src/shared/bus.js';
import type { MemoryExport, MemoryRecord } from '../../../src/shared/long-term.js';
import { MemoryPaths, memoryPath, subjectPath, type LastReplyView, type MemoryList } from '../../../src/shared/memory-api.js';
import { FakeLtm, FAKE_PERSONA } from './fake-ltm.js';
import { LtmAdminOnBus } from './ltm-admin-on-bus.js';
import { testGatewayDeps } from './helpers.js';
import { BACKENDS, client, startBackend, waitFor, type Backend } from '../supervisor/helpers.js';

const KIND = BACKENDS.includes('embedded') ? 'embedded' : 'redis-server';
const token = randomBytes(16).toString('hex');

let bus: Backend;
let gateway: Gateway;
let redis: Redis;
let ltm: FakeLtm | undefined;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field
type Json = any;
const api = async (path: string, init: RequestInit & { json?: unknown } = {}, auth = true): Promise<{ status: number; body: Json; headers: Headers; text: string }> => {
  const { json, ...rest } = init;
  const res = await fetch(`${gateway.url}${path}`, {
    ...rest,
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
    headers: { ...(auth ? { authorization: `Bearer ${token}` } : {}), ...(json !== undefined ? { 'content-type': 'application/json' } : {}), ...rest.headers },
  });
  const text = await res.text();
  let body: Json;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, headers: res.headers, text };
};

beforeAll(async () => {
  bus = await startBackend(KIND);
  redis = await client(bus.url);
  gateway = await startGateway(testGatewayDeps({ token, memory: { busUrl: bus.url, adminTimeoutMs: 5000 } }), { host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  await ltm?.close();
  await gateway?.close();
  redis?.disconnect();
  await bus?.stop();
});

describe(`memory routes (${KIND})`, () => {
  it('answer 503 with the fix at once while long-term-memory is not running', async () => {
    for (const path of [MemoryPaths.status, `${MemoryPaths.search}?q=cat`, MemoryPaths.subjects, MemoryPaths.export]) {
      const r = await api(path);
      expect(r.status, path).toBe(503);
      expect(r.body).toEqual({ ok: false, code: 'ltm_not_running', error: 'the long-term-memory service is not running', fix: expect.stringContaining('start the long-term-memory service in the Manager') });
    }
    const del = await api(memoryPath(3), { method: 'DELETE' });
    expect(del.status).toBe(503);
  });

  it('need the token', async () => {
    for (const path of [MemoryPaths.status, MemoryPaths.search, MemoryPaths.memories, MemoryPaths.subjects, MemoryPaths.export, MemoryPaths.last]) {
      expect((await api(path, {}, false)).status, path).toBe(401);
    }
    expect((await api(MemoryPaths.import, { method: 'POST', body: '{}' }, false)).status).toBe(401);
  });

  describe('with long-term-memory', () => {
    let cat: MemoryRecord;
    beforeAll(async () => {
      ltm = await FakeLtm.start(bus.url);
      cat = ltm.seed({ text: 'The streamer has a cat called Mochi.', importance: 0.8, updated_at: 1000 });
      ltm.seed({ text: 'Alice prefers green tea.', subject: 'viewer:twitch:u1', subject_name: 'Alice', kind: 'preference', updated_at: 2000 });
      ltm.seed({ text: 'Alice will be back on Friday.', subject: 'viewer:twitch:u1', subject_name: 'Alice', kind: 'promise', updated_at: 3000 });
    });

    it('give the status', async () => {
      const r = await api(MemoryPaths.status);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ engine: 'use-lite:512', engine_state: 'ready', memories: 3, extraction: 'llm' });
    });

    it('search with the query, subject, persona and limit passed on; an empty query lists the newest', async () => {
      const r = await api(`${MemoryPaths.search}?q=${encodeURIComponent('cat')}&limit=5`);
      expect(r.status).toBe(200);
      expect((r.body as MemoryList).memories.map((m) => m.text)).toEqual(['The streamer has a cat called Mochi.']);
      expect(r.body.mode).toBe('keyword');
      expect(ltm!.requests.at(-1)).toMatchObject({ op: 'search', query: 'cat', limit: 5 });

      const all = await api(`${MemoryPaths.search}?q=&subject=${encodeURIComponent('viewer:twitch:u1')}&persona=${FAKE_PERSONA}`);
      expect((all.body as MemoryList).memories.map((m) => m.id)).toEqual([3, 2]);
      expect(ltm!.requests.at(-1)).toMatchObject({ op: 'search', query: '', subject: 'viewer:twitch:u1', persona: FAKE_PERSONA, limit: 50 });

      const bad = await api(`${MemoryPaths.search}?q=x&subject=nobody&limit=0`);
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ ok: false, code: 'bad_request', error: expect.stringMatching(/subject: a subject is.*limit/s), fix: expect.any(String) });
    });

    it('list by subject with offset and limit, and the subjects with their counts and names', async () => {
      const r = await api(`${MemoryPaths.memories}?subject=${encodeURIComponent('viewer:twitch:u1')}&offset=1&limit=1`);
      expect(r.body).toEqual({ memories: [expect.objectContaining({ id: 2 })], total: 2 });
      const s = await api(MemoryPaths.subjects);
      expect(s.body.subjects).toEqual(
        expect.arrayContaining([
          { subject: 'streamer', count: 1 },
          { subject: 'viewer:twitch:u1', subject_name: 'Alice', count: 2 },
        ]),
      );
    });

    it('add, edit, pin and delete a memory; a bad body is refused before it reaches the service', async () => {
      const added = await api(MemoryPaths.memories, { method: 'POST', json: { text: '  Mio streams on Sundays.  ', subject: 'avatar', kind: 'event' } });
      expect(added.status).toBe(201);
      expect(added.body.memory).toMatchObject({ text: 'Mio streams on Sundays.', subject: 'avatar', kind: 'event', importance: 0.5, pinned: false, persona: FAKE_PERSONA });
      const id = added.body.memory.id as number;

      const edited = await api(memoryPath(id), { method: 'PATCH', json: { text: 'Mio streams on Saturdays.', importance: 0.9 } });
      expect(edited.body.memory).toMatchObject({ id, text: 'Mio streams on Saturdays.', importance: 0.9 });
      const pinned = await api(memoryPath(id), { method: 'PATCH', json: { pinned: true } });
      expect(pinned.body.memory.pinned).toBe(true);
      expect(ltm!.requests.at(-1)).toMatchObject({ op: 'update', id, patch: { pinned: true } });

      const requestsBefore = ltm!.requests.length;
      for (const [path, method, json] of [
        [MemoryPaths.memories, 'POST', { text: '' }],
        [MemoryPaths.memories, 'POST', { text: 'x', subject: 'someone' }],
        [memoryPath(id), 'PATCH', {}],
        [memoryPath(id), 'PATCH', { importance: 3 }],
      ] as const) {
        const r = await api(path, { method, json });
        expect(r.status, JSON.stringify(json)).toBe(400);
        expect(r.body).toMatchObject({ ok: false, code: 'bad_request', error: expect.any(String), fix: expect.any(String) });
      }
      expect((await api('/api/memory/memories/abc', { method: 'DELETE' })).status).toBe(400);
      expect(ltm!.requests.length).toBe(requestsBefore);

      const deleted = await api(memoryPath(id), { method: 'DELETE' });
      expect(deleted.body).toEqual({ changed: 1 });
      // The service's own failure comes back with its code and fix.
      const missing = await api(memoryPath(id), { method: 'PATCH', json: { pinned: false } });
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ ok: false, code: 'not_found', error: `no memory ${id}`, fix: 'reload the list: it was deleted' });
      ltm!.failNext.add = { code: 'store_failed', error: 'disk full', fix: 'free some disk space' };
      const failed = await api(MemoryPaths.memories, { method: 'POST', json: { text: 'x' } });
      expect(failed.status).toBe(500);
      expect(failed.body).toMatchObject({ code: 'store_failed', error: 'disk full', fix: 'free some disk space' });
    });

    it('export as a JSON download, and import it back (merge skips what is there, replace empties the persona first)', async () => {
      const r = await api(MemoryPaths.export);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      expect(r.headers.get('content-disposition')).toMatch(/^attachment; filename="fav-memories-\d{4}-\d\d-\d\d\.json"$/);
      const file = r.body as MemoryExport;
      expect(file).toMatchObject({ format: 'fav-memories', version: 1 });
      expect(file.memories.map((m) => m.text).sort()).toEqual(['Alice prefers green tea.', 'Alice will be back on Friday.', 'The streamer has a cat called Mochi.']);
      expect(file.memories[0]).not.toHaveProperty('id');

      const merge = await api(MemoryPaths.import, { method: 'POST', body: r.text, headers: { 'content-type': 'application/json' } });
      expect(merge.body).toEqual({ changed: 0 });
      expect(ltm!.requests.at(-1)).toMatchObject({ op: 'import', mode: 'merge' });

      await api(memoryPath(cat.id), { method: 'DELETE' });
      const withNew: MemoryExport = { ...file, memories: [...file.memories, { ...file.memories[0]!, text: 'The streamer plays piano.' }] };
      const replace = await api(`${MemoryPaths.import}?mode=replace`, { method: 'POST', body: JSON.stringify(withNew), headers: { 'content-type': 'application/json' } });
      expect(replace.body).toEqual({ changed: 4 });
      expect(ltm!.memories.map((m) => m.text).sort()).toEqual(['Alice prefers green tea.', 'Alice will be back on Friday.', 'The streamer has a cat called Mochi.', 'The streamer plays piano.']);
    });

    it('refuse a bad import file with a 400 that names what is wrong, before it reaches the service', async () => {
      const before = ltm!.requests.length;
      const post = (body: string, query = '', type = 'application/json') => api(`${MemoryPaths.import}${query}`, { method: 'POST', body, headers: { 'content-type': type } });

      const notJson = await post('{"format": "fav-memories",');
      expect(notJson.status).toBe(400);
      expect(notJson.body).toMatchObject({ ok: false, code: 'bad_file', error: expect.stringMatching(/^the file is not JSON/), fix: expect.stringContaining('exported from the memory view') });

      const wrongFormat = await post(JSON.stringify({ format: 'something-else', version: 1, exported_at: 1, memories: [] }));
      expect(wrongFormat.status).toBe(400);
      expect(wrongFormat.body.error).toMatch(/^the file is not a memory export: format: /);

      const badRow = await post(
        JSON.stringify({ format: 'fav-memories', version: 1, exported_at: 1, memories: [{ persona: 'Aria', subject: 'viewer:twitch:u1', kind: 'fact', text: 'ok', importance: 0.5, created_at: 1, updated_at: 1 }, { persona: 'Aria', subject: 'nobody', kind: 'gossip', text: 'x', importance: 2, created_at: 1, updated_at: 1 }] }),
      );
      expect(badRow.status).toBe(400);
      expect(badRow.body.error).toContain('memories.1.subject');
      expect(badRow.body.error).toContain('memories.1.kind');
      expect(badRow.body.error).toContain('memories.1.importance');

      expect((await post('')).body).toMatchObject({ code: 'bad_file', error: 'the file is empty' });
      // Sent as a plain file upload too.
      expect((await post('not json at all', '', 'application/octet-stream')).body.code).toBe('bad_file');
      const badMode = await post(JSON.stringify({ format: 'fav-memories', version: 1, exported_at: 1, memories: [] }), '?mode=overwrite');
      expect(badMode.status).toBe(400);
      expect(badMode.body.error).toContain("'overwrite'");
      expect(ltm!.requests.length).toBe(before);
    });

    it('forget everything about a subject', async () => {
      const r = await api(subjectPath('viewer:twitch:u1'), { method: 'DELETE' });
      expect(r.body).toEqual({ changed: 2 });
      expect(ltm!.memories.some((m) => m.subject === 'viewer:twitch:u1')).toBe(false);
      const bad = await api(subjectPath('everyone'), { method: 'DELETE' });
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatch(/a subject is 'streamer'/);
    });

    it('say when the service does not answer in time (504), rather than hang', async () => {
      ltm!.silent.add('status');
      try {
        const slow = await startGateway(testGatewayDeps({ token, memory: { busUrl: bus.url, adminTimeoutMs: 200 } }), { host: '127.0.0.1', port: 0 });
        try {
          const res = await fetch(`${slow.url}${MemoryPaths.status}`, { headers: { authorization: `Bearer ${token}` } });
          expect(res.status).toBe(504);
          expect(await res.json()).toMatchObject({ ok: false, code: 'timeout', fix: expect.stringContaining('Manager') });
        } finally {
          await slow.close();
        }
      } finally {
        ltm!.silent.delete('status');
      }
    });
  });

  it("keep the memories of each session's last reply from memory_updates", async () => {
    const context = (session_id: string, turn_id: string, text: string, extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        session_id,
        turn_id,
        task_id: turn_id,
        event_id: `e-${turn_id}`,
        ts: Date.now(),
        marks: {},
        source: 'typed',
        text,
        messages: [{ role: 'user', content: text }],
        memories: [{ id: 7, text: 'The streamer has a cat called Mochi.', subject: 'streamer', kind: 'fact', score: 0.91, updated_at: 1000 }],
        recall: { status: 'vector', waited_ms: 21, took_ms: 18, embed_ms: 9, engine: 'use-lite:512', count: 1 },
        ...extra,
      });
    const last = async (session?: string) => ((await api(`${MemoryPaths.last}${session ? `?session=${session}` : ''}`)).body as LastReplyView).last;
    expect(await last()).toBeNull();

    // Published until seen: the gateway subscribes at its start.
    const seen = await waitFor(async () => {
      await redis.publish(Channels.memoryUpdates, context('studio', 't1', 'what is my cat called?'));
      return (await last())?.turn_id === 't1' ? await last() : undefined;
    }, 'the studio session last reply');
    expect(seen).toMatchObject({ session_id: 'studio', turn_id: 't1', memories: [{ id: 7, score: 0.91 }], recall: { status: 'vector', count: 1 }, at: expect.any(Number) });

    // Another session's reply is kept apart; a later turn replaces the earlier; a say turn and a malformed context are skipped.
    await redis.publish(Channels.memoryUpdates, context('other', 'o1', 'hi', { memories: [] }));
    await redis.publish(Channels.memoryUpdates, context('studio', 't-say', 'scripted line', { source: 'say', recall: undefined }));
    await redis.publish(Channels.memoryUpdates, '{"session_id": "studio", "turn_id": 5}');
    await redis.publish(Channels.memoryUpdates, context('studio', 't2', 'and my dog?', { recall: { status: 'timeout', waited_ms: 120, count: 0 }, memories: [] }));
    const second = await waitFor(async () => ((await last())?.turn_id === 't2' ? await last() : undefined), 'the second studio reply');
    expect(second).toMatchObject({ memories: [], recall: { status: 'timeout' } });
    expect(await last('other')).toMatchObject({ turn_id: 'o1', memories: [] });
  });

  describe('with the real admin handler on a real store', () => {
    let real: LtmAdminOnBus;
    beforeAll(async () => {
      await ltm?.close();
      ltm = undefined;
      real = await LtmAdminOnBus.start(bus.url);
    }, 60_000);
    afterAll(async () => {
      await real?.close();
    });

    it('adds, finds by meaning, edits, exports, imports (replace) and deletes through the gateway', async () => {
      const cat = await api(MemoryPaths.memories, { method: 'POST', json: { text: 'The streamer has a cat called Mochi.', importance: 0.7 } });
      expect(cat.status).toBe(201);
      expect(cat.body.memory).toMatchObject({ persona: 'Aria', subject: 'streamer', kind: 'fact', importance: 0.7, has_vector: true });
      const id = cat.body.memory.id as number;
      await api(MemoryPaths.memories, { method: 'POST', json: { text: 'Bob gifted five subs.', subject: 'viewer:youtube:UCbob', subject_name: 'Bob', kind: 'event' } });

      const found = await api(`${MemoryPaths.search}?q=feline`);
      expect(found.body).toMatchObject({ mode: 'vector', memories: [{ id, text: 'The streamer has a cat called Mochi.' }] });
      const pinned = await api(memoryPath(id), { method: 'PATCH', json: { pinned: true, text: 'The streamer has two cats.' } });
      expect(pinned.body.memory).toMatchObject({ id, pinned: true, text: 'The streamer has two cats.' });
      expect((await api(MemoryPaths.subjects)).body.subjects).toEqual(expect.arrayContaining([{ subject: 'viewer:youtube:UCbob', subject_name: 'Bob', count: 1 }]));

      const exported = await api(MemoryPaths.export);
      expect(exported.headers.get('content-disposition')).toMatch(/^attachment; filename="fav-memories-/);
      expect((exported.body as MemoryExport).memories).toHaveLength(2);
      const replaced = await api(`${MemoryPaths.import}?mode=replace`, { method: 'POST', body: exported.text, headers: { 'content-type': 'application/json' } });
      expect(replaced.body).toEqual({ changed: 2 });
      const all = (await api(`${MemoryPaths.memories}`)).body as MemoryList;
      expect(all.memories.map((m) => m.text).sort()).toEqual(['Bob gifted five subs.', 'The streamer has two cats.']);
      expect(all.memories.find((m) => m.text === 'The streamer has two cats.')?.pinned).toBe(true);

      const forgot = await api(subjectPath('viewer:youtube:UCbob'), { method: 'DELETE' });
      expect(forgot.body).toEqual({ changed: 1 });
      const twoCats = all.memories.find((m) => m.text === 'The streamer has two cats.')!.id;
      expect((await api(memoryPath(twoCats), { method: 'DELETE' })).body).toEqual({ changed: 1 });
      const gone = await api(memoryPath(twoCats), { method: 'DELETE' });
      expect(gone.status).toBe(404);
      expect(gone.body).toMatchObject({ ok: false, code: 'not_found', fix: expect.any(String) });
      const status = await api(MemoryPaths.status);
      expect(status.body).toMatchObject({ engine: real.embedder.id, engine_state: 'ready', memories: 0 });
    }, 60_000);
  });
});
