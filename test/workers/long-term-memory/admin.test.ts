/**
 * The memory admin handler on a real store with a fake engine: every op, embedding new and edited
 * texts when the engine is ready and leaving them to the re-embedder otherwise, and failures as
 * replies (bad_request, not_found, store_failed), never throws.
 */
import { describe, expect, it } from 'vitest';
import { LtmAdminRequest, type LtmAdminRequest as Req, type LtmStatus } from '../../../src/shared/long-term.js';
import { handleAdmin, type AdminDeps } from '../../../src/workers/long-term-memory/admin.js';
import type { MemoryStore } from '../../../src/workers/long-term-memory/store/memory-store.js';
import { FAKE_SPACE, FakeEmbedder } from './fake-embedder.js';
import { NOW, memory, openStore } from './store/helpers.js';

const STATUS: LtmStatus = { engine: FAKE_SPACE, engine_state: 'ready', memories: 0, vectors: 0, extraction: 'rules' };

function setup() {
  const store = openStore();
  store.activeSpace = FAKE_SPACE;
  const embedder = new FakeEmbedder();
  let kicks = 0;
  const deps: AdminDeps = { store, embedder, activePersona: () => 'Mika', status: () => STATUS, kick: () => void kicks++, now: () => NOW };
  let n = 0;
  const ask = (r: Record<string, unknown>) => handleAdmin(LtmAdminRequest.parse({ request_id: `r${++n}`, ts: NOW, ...r }), deps);
  return { store, embedder, deps, ask, kicks: () => kicks };
}

function seed(store: MemoryStore) {
  return {
    tea: store.add(memory('likes jasmine tea', { subject: 'viewer:twitch:7', subject_name: 'Ann' })),
    song: store.add(memory('promised to sing a birthday song', { subject: 'avatar', kind: 'promise' })),
    rin: store.add(memory('likes jasmine tea as well', { persona: 'Rin' })),
  };
}

describe('memory admin', () => {
  it('adds with a vector when the engine is ready, and without one (kicking the re-embedder) when not', async () => {
    const { ask, embedder, kicks } = setup();
    const a = await ask({ op: 'add', memory: { text: 'has a cat called Mochi' } });
    expect(a).toMatchObject({ ok: true, memory: { persona: 'Mika', subject: 'streamer', kind: 'fact', text: 'has a cat called Mochi', has_vector: true, created_at: NOW } });
    expect(embedder.calls).toEqual([{ texts: ['has a cat called Mochi'], purpose: 'document' }]);
    expect(kicks()).toBe(0);

    embedder.engineState = 'loading';
    const b = await ask({ op: 'add', persona: 'Rin', memory: { text: 'streams on Sundays', subject: 'world', importance: 0.9 } });
    expect(b).toMatchObject({ ok: true, memory: { persona: 'Rin', subject: 'world', importance: 0.9, has_vector: false } });
    expect(kicks()).toBe(1);

    embedder.engineState = 'ready';
    embedder.failEmbed = true;
    expect(await ask({ op: 'add', memory: { text: 'likes rainy days' } })).toMatchObject({ ok: true, memory: { has_vector: false } });
    expect(kicks()).toBe(2);
  });

  it('searches with the hybrid query (vector when ready, keyword otherwise), or lists newest for an empty query', async () => {
    const { store, ask, embedder } = setup();
    const { tea, song } = seed(store);
    store.setVectors(FAKE_SPACE, [{ id: tea, vec: (await embedder.embed(['likes jasmine tea'], { purpose: 'document' }))[0]! }]);
    embedder.calls = [];
    const hybrid = await ask({ op: 'search', query: 'jasmine tea' });
    expect(hybrid).toMatchObject({ ok: true, mode: 'vector', total: 1, memories: [{ id: tea, subject_name: 'Ann' }] });
    expect(embedder.calls).toEqual([{ texts: ['jasmine tea'], purpose: 'query' }]);

    embedder.engineState = 'error';
    expect(await ask({ op: 'search', query: 'jasmine tea' })).toMatchObject({ ok: true, mode: 'keyword', memories: [{ id: tea }] });
    expect(await ask({ op: 'search', query: 'jasmine tea', subject: 'avatar' })).toMatchObject({ ok: true, memories: [] });
    const newest = await ask({ op: 'search', query: '' });
    expect(newest.memories?.map((m) => m.id)).toEqual([song, tea]);
  });

  it('lists by subject and page, and counts subjects, for the persona', async () => {
    const { store, ask } = setup();
    const { tea } = seed(store);
    expect(await ask({ op: 'list', subject: 'viewer:twitch:7' })).toMatchObject({ ok: true, total: 1, memories: [{ id: tea }] });
    expect((await ask({ op: 'list', offset: 1, limit: 1 })).total).toBe(2);
    expect((await ask({ op: 'list', persona: 'Rin' })).total).toBe(1);
    expect(await ask({ op: 'subjects' })).toEqual({
      ok: true,
      subjects: [
        { subject: 'avatar', count: 1 },
        { subject: 'viewer:twitch:7', subject_name: 'Ann', count: 1 },
      ],
    });
  });

  it('updates (re-embedding a new text), pins, deletes and forgets', async () => {
    const { store, ask, embedder, kicks } = setup();
    const { tea, song } = seed(store);
    const edited = await ask({ op: 'update', id: tea, patch: { text: 'likes oolong tea', pinned: true } });
    expect(edited).toMatchObject({ ok: true, memory: { id: tea, text: 'likes oolong tea', pinned: true, has_vector: true, updated_at: NOW } });
    expect(embedder.calls.at(-1)).toEqual({ texts: ['likes oolong tea'], purpose: 'document' });
    const pinned = await ask({ op: 'update', id: song, patch: { importance: 1 } });
    expect(pinned).toMatchObject({ ok: true, memory: { importance: 1 } });
    expect(kicks()).toBe(0);

    expect(await ask({ op: 'delete', id: song })).toEqual({ ok: true, changed: 1 });
    expect(await ask({ op: 'forget', subject: 'viewer:twitch:7' })).toEqual({ ok: true, changed: 1 });
    expect(store.size('Mika')).toBe(0);
    expect(store.size('Rin')).toBe(1);
  });

  it('exports and imports (merge skips duplicates, replace empties first)', async () => {
    const { store, ask, kicks } = setup();
    seed(store);
    const exp = await ask({ op: 'export', persona: 'Mika' });
    expect(exp.export?.memories).toHaveLength(2);
    expect(await ask({ op: 'import', data: exp.export, mode: 'merge' })).toEqual({ ok: true, changed: 0 });
    expect(kicks()).toBe(0);
    expect(await ask({ op: 'import', data: exp.export, mode: 'replace' })).toEqual({ ok: true, changed: 2 });
    expect(kicks()).toBe(1);
    expect(store.size()).toBe(3);
    expect((await ask({ op: 'export' })).export?.memories).toHaveLength(3);
  });

  it('answers status', async () => {
    const { ask } = setup();
    expect(await ask({ op: 'status' })).toEqual({ ok: true, status: STATUS });
  });

  it('fails with a code, the error and the fix, never a throw', async () => {
    const { store, ask, deps } = setup();
    expect(await ask({ op: 'update', id: 404, patch: { pinned: true } })).toMatchObject({ ok: false, code: 'not_found', error: 'no memory 404', fix: expect.any(String) });
    expect(await ask({ op: 'delete', id: 404 })).toMatchObject({ ok: false, code: 'not_found' });
    // Not a request at all (the service passes what it parsed; a bad one is still answered).
    const bad = await handleAdmin({ op: 'add', request_id: 'x', ts: NOW, memory: { text: '' } } as unknown as Req, deps);
    expect(bad).toMatchObject({ ok: false, code: 'bad_request', error: expect.stringMatching(/^invalid admin request: memory\.text/), fix: expect.any(String) });
    const data = { format: 'fav-memories', version: 1, exported_at: NOW, memories: [{ ...memory('x'), subject: 'viewer:twitch:7', text: 'fine', created_at: NOW, updated_at: NOW }] };
    // A store that broke (closed under it).
    store.close();
    expect(await ask({ op: 'import', data, mode: 'merge' })).toMatchObject({ ok: false, code: 'store_failed', error: expect.stringMatching(/^the memory store failed: /), fix: expect.any(String) });
  });

  it('refuses an import with a bad memory as a bad request, storing none of it', async () => {
    const { store } = setup();
    const data = {
      format: 'fav-memories',
      version: 1,
      exported_at: NOW,
      memories: [
        { persona: 'Mika', subject: 'world', kind: 'fact', text: 'a good one', importance: 0.5, created_at: NOW, updated_at: NOW },
        { persona: 'Mika', subject: 'world', kind: 'fact', text: '   ', importance: 0.5, created_at: NOW, updated_at: NOW },
      ],
    };
    const r = await handleAdmin({ op: 'import', request_id: 'i', ts: NOW, data, mode: 'merge' } as unknown as Req, setupDeps(store));
    expect(r).toMatchObject({ ok: false, code: 'bad_request' });
    expect(store.size()).toBe(0);
  });
});

function setupDeps(store: MemoryStore): AdminDeps {
  return { store, activePersona: () => 'Mika', status: () => STATUS };
}
