/**
 * The studio's memory admin (`fav:ltm:admin` request -> reply): search with the same hybrid query a
 * turn's recall uses, list, subjects, add, edit, pin, delete, forget a subject, export and import.
 *
 * New and edited texts are embedded here when the engine is ready; otherwise (or if the engine
 * fails) they are stored without a vector and the background re-embed picks them up (`kick`), so
 * an edit never waits for or fails on the engine. Every failure is a reply with a stable code, the
 * error and the fix; nothing here throws.
 */
import { LtmAdminRequest, type LtmAdminReply, type LtmStatus, type MemoryRecord } from '../../shared/long-term.js';
import type { Embedder } from './embedders/types.js';
import { MemoryInputError } from './store/memory-store.js';
import type { MemoryStoreApi, Vector } from './store/types.js';

export interface AdminDeps {
  store: MemoryStoreApi;
  /** The engine in use, when one is configured; used only when its state is 'ready'. */
  embedder?: Embedder;
  activePersona(): string;
  status(): LtmStatus;
  /** A memory was stored without a vector: the re-embedder should look again. */
  kick?(): void;
  now?(): number;
}

export type AdminReply = Omit<LtmAdminReply, 'request_id'>;

const fail = (code: NonNullable<LtmAdminReply['code']>, error: string, fix: string): AdminReply => ({ ok: false, code, error, fix });

/** The text's vector in the engine's space, or undefined (no engine, not ready, cannot embed, failed). */
async function embedOne(deps: AdminDeps, text: string, purpose: 'query' | 'document'): Promise<Vector | undefined> {
  const e = deps.embedder;
  if (!e || e.state().engine_state !== 'ready') return undefined;
  try {
    const [vec] = await e.embed([text], { purpose });
    return vec ? { space: e.id, vec } : undefined;
  } catch {
    // The engine broke: keyword search, and the re-embedder retries the document later.
    return undefined;
  }
}

export async function handleAdmin(req: LtmAdminRequest, deps: AdminDeps): Promise<AdminReply> {
  const parsed = LtmAdminRequest.safeParse(req);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail('bad_request', `invalid admin request: ${issue ? `${issue.path.join('.') || 'request'}: ${issue.message}` : 'unreadable'}`, 'send a request as LtmAdminRequest describes it');
  }
  try {
    return await run(parsed.data, deps);
  } catch (e) {
    if (e instanceof MemoryInputError) return fail('bad_request', e.message, 'correct the memory and try again');
    return fail('store_failed', `the memory store failed: ${(e as Error).message}`, 'see the long-term-memory log; if it persists, restart the service');
  }
}

async function run(req: LtmAdminRequest, deps: AdminDeps): Promise<AdminReply> {
  const { store } = deps;
  const now = deps.now?.() ?? Date.now();
  const persona = ('persona' in req ? req.persona : undefined) ?? deps.activePersona();
  const get = (id: number): MemoryRecord | undefined => store.get(id, now);
  switch (req.op) {
    case 'search': {
      if (req.query.trim() === '') {
        const { memories, total } = store.list({ persona, subject: req.subject, limit: req.limit }, now);
        return { ok: true, memories, total, mode: 'keyword' };
      }
      const vector = await embedOne(deps, req.query, 'query');
      const found = store.search({ persona, subjects: req.subject ? [req.subject] : undefined, text: req.query, vector, k: req.limit, now });
      const memories = found.items.map((i) => get(i.id)).filter((m): m is MemoryRecord => m !== undefined);
      return { ok: true, memories, total: memories.length, mode: found.mode };
    }
    case 'list': {
      const { memories, total } = store.list({ persona, subject: req.subject, offset: req.offset, limit: req.limit }, now);
      return { ok: true, memories, total };
    }
    case 'subjects':
      return { ok: true, subjects: store.subjects(persona) };
    case 'add': {
      const vector = await embedOne(deps, req.memory.text, 'document');
      const id = store.add({ ...req.memory, persona, at: now }, vector);
      if (!vector) deps.kick?.();
      return { ok: true, memory: get(id) };
    }
    case 'update': {
      if (!get(req.id)) return notFound(req.id);
      const vector = req.patch.text !== undefined ? await embedOne(deps, req.patch.text, 'document') : undefined;
      const memory = store.update(req.id, req.patch, vector, now);
      // Deleted while the text was being embedded.
      if (!memory) return notFound(req.id);
      if (req.patch.text !== undefined && !vector) deps.kick?.();
      return { ok: true, memory };
    }
    case 'delete':
      return store.delete(req.id) ? { ok: true, changed: 1 } : notFound(req.id);
    case 'forget':
      return { ok: true, changed: store.forgetSubject(persona, req.subject) };
    case 'export':
      return { ok: true, export: store.exportAll(req.persona) };
    case 'import': {
      const added = store.importAll(req.data, req.mode);
      if (added.length > 0) deps.kick?.();
      return { ok: true, changed: added.length };
    }
    case 'status':
      return { ok: true, status: deps.status() };
  }
}

function notFound(id: number): AdminReply {
  return fail('not_found', `no memory ${id}`, 'it was deleted meanwhile; refresh the list');
}
