/**
 * long-term-memory: keeps what viewers and the avatar said across sessions and recalls what is
 * relevant to a new turn.
 *
 *   fav:ltm:writes (stream, consumer group: reliable; an entry is acked once stored, so writes made
 *     while this service is down are stored when it comes back)  -> remember (trivial texts are
 *     skipped, near-duplicates refreshed instead of stored twice)
 *   fav:ltm:recall (the runtime's request/reply) RecallRequest -> RecallReply on
 *     fav:ltm:recall:<request_id> with the top k memories, their scores and took_ms. A request older
 *     than STALE_REQUEST_MS is not answered: its requester has long gone on without it.
 *
 * The store is chosen here behind the LongTermStore interface (backend.ts): the SQLite FTS5 store
 * (fts-store.ts), plus embedding vectors (embedding-store.ts) when an embedding model is configured
 * (`memory.embeddingModel`, served at `memory.embeddingBaseUrl` or the LLM's base URL).
 */
import { streamGroup } from '../../shared/bus.js';
import { resolveLlm, type Config } from '../../shared/config.js';
import { Bus } from '../../shared/contract.js';
import type { LtmWrite, RecallReply, RecallRequest } from '../../shared/voice.js';
import { serveRequests, streamInput, type JobContext, type ServiceDefinition, type WorkerContext } from '../runtime/index.js';
import type { LongTermStore } from './backend.js';
import { EmbeddingLongTermStore } from './embedding-store.js';
import { FtsLongTermStore } from './fts-store.js';

/** Embedding settings (`memory.embeddingModel`, `memory.embeddingBaseUrl`); none: the FTS5 store alone. */
function embeddingSettings(settings: Config): { model: string; baseUrl: string; apiKey: string | undefined } | undefined {
  const m = settings.memory;
  if (m.embeddingModel === '') return undefined;
  const llm = resolveLlm(settings.llm);
  const baseUrl = m.embeddingBaseUrl ?? llm.baseUrl;
  return baseUrl ? { model: m.embeddingModel, baseUrl, apiKey: llm.apiKey } : undefined;
}

/** A recall request this old is dropped unanswered (memory waits tens of ms, not seconds). */
export const STALE_REQUEST_MS = 5000;

async function handleWrite(store: LongTermStore, write: LtmWrite, job: JobContext, entryId: string): Promise<void> {
  const r = await store.remember(write);
  job.log.debug({ entryId, session_id: write.session_id, kind: write.kind, outcome: r.outcome }, 'long-term write');
}

async function handleRecall(store: LongTermStore, req: RecallRequest, job: JobContext): Promise<Omit<RecallReply, 'request_id'>> {
  const started = performance.now();
  let items: RecallReply['items'] = [];
  try {
    // Until the new store lands (issue 11): the v2 stores know neither subjects nor personas.
    const found = await store.recall({ query: req.query, k: req.k, session_id: req.session_id });
    items = found.map((f, i) => ({ id: i + 1, text: f.text, score: f.score, subject: 'streamer', kind: 'utterance', updated_at: Date.now() }));
  } catch (e) {
    // Answer anyway (empty): the requester then goes on at once instead of waiting out its timeout.
    job.log.error({ request_id: req.request_id, err: (e as Error).message }, 'recall failed');
  }
  return { items, mode: store.kind === 'fts5' ? 'keyword' : 'vector', took_ms: performance.now() - started };
}

const service: ServiceDefinition = {
  name: 'long-term-memory',
  create(ctx: WorkerContext) {
    const fts = FtsLongTermStore.open(ctx.settings.dataDir, ctx.log);
    if (fts.salvage) ctx.notify(fts.salvage.message);
    const emb = embeddingSettings(ctx.settings);
    let store: LongTermStore;
    if (emb) {
      // Leave memory's deadline room for the keyword part, the cosine pass and the reply.
      const queryBudgetMs = Math.max(5, ctx.settings.memory.recallTimeoutMs - 10);
      const s = new EmbeddingLongTermStore(fts, { ...emb, queryBudgetMs }, ctx.log);
      store = s;
      void s.flush(); // vectors for memories stored without one (first use, model change, endpoint down)
    } else {
      store = fts;
    }
    ctx.log.info({ file: FtsLongTermStore.file(ctx.settings.dataDir), backend: store.kind, memories: fts.size(), movedAside: fts.movedAside }, 'long-term store open');
    return {
      inputs: [
        streamInput({ topic: Bus.ltmWrites, group: streamGroup('long-term-memory'), handle: (w, job, id) => handleWrite(store, w, job, id) }),
        serveRequests({ topic: Bus.ltmRecall, reply: Bus.ltmRecallReply, handle: (req, job) => handleRecall(store, req, job), staleMs: STALE_REQUEST_MS }),
      ],
      dispose: () => store.close(),
    };
  },
};
export default service;
