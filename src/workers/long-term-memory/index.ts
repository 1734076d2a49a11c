/**
 * long-term-memory: what the avatar remembers across sessions and restarts, as facts about the
 * people it talks to, recalled by meaning and by keywords.
 *
 *   fav:ltm:turns (stream, consumer group: a killed worker loses nothing; an entry is acked once its
 *     memories are stored)  -> facts/: candidates from the turn (LLM, mem0 style, or rules),
 *     compared with the nearest stored memories: add / update / delete / keep
 *   fav:ltm:writes (stream of an older version: raw lines)  -> kept as utterances, so nothing
 *     accepted before an update is lost
 *   fav:ltm:recall (request/reply) RecallRequest -> RecallReply: the query embedded on the device
 *     (within a share of memory's deadline; keyword-only when the embedder is not ready, fails, or
 *     cannot embed the text), then one hybrid query in the persona and the speaker's scope
 *   fav:ltm:admin (request/reply) the studio's memory view: search, edit, pin, delete, forget,
 *     export/import, status (admin.ts)
 *
 * The pieces: store/ (SQLite + FTS5 + sqlite-vec, `<dataDir>/memory/long-term.db`), embedders/
 * (settings memory.embedder), store/reembed.ts (vectors for memories that lack one in the engine's
 * space: after an engine switch, a download, or a write made while the engine loaded; in the
 * background, never blocking a turn), facts/ (settings memory.extraction).
 */
import { streamGroup } from '../../shared/bus.js';
import { resolveEmbedder } from '../../shared/config.js';
import { Bus } from '../../shared/contract.js';
import { MEMORY_TEXT_MAX, type LtmStatus } from '../../shared/long-term.js';
import type { LtmWrite, RecallReply, RecallRequest } from '../../shared/voice.js';
import { readActivePersona } from '../common/persona.js';
import { serveRequests, streamInput, type JobContext, type ServiceDefinition, type WorkerContext } from '../runtime/index.js';
import { handleAdmin } from './admin.js';
import { createEmbedder } from './embedders/index.js';
import { Engine } from './engine.js';
import { FactPipeline } from './facts/pipeline.js';
import { MemoryStore } from './store/memory-store.js';
import { Reembedder } from './store/reembed.js';
import { isTrivial } from './text.js';

/** A recall request this old is dropped unanswered (memory waits tens of ms, not seconds). */
export const STALE_REQUEST_MS = 5000;
/** Of memory's recall deadline, what is left for the search and the reply after embedding the query, ms. */
const SEARCH_RESERVE_MS = 20;

async function handleRecall(store: MemoryStore, engine: Engine, req: RecallRequest, job: JobContext): Promise<Omit<RecallReply, 'request_id'>> {
  const started = performance.now();
  const budget = job.settings.memory.recallTimeoutMs - SEARCH_RESERVE_MS - Math.max(0, Date.now() - req.ts);
  const { vector, embed_ms } = await engine.queryVector(req.query, budget);
  const engineId = engine.ready ? engine.embedder?.id : undefined;
  try {
    const r = store.search({ persona: req.persona, subjects: req.scope, text: req.query, ...(vector ? { vector } : {}), k: req.k });
    const items = r.items.map(({ id, text, subject, subject_name, kind, score, updated_at }) => ({ id, text, subject, ...(subject_name ? { subject_name } : {}), kind, score, updated_at }));
    return { items, mode: r.mode, took_ms: performance.now() - started, ...(embed_ms !== undefined ? { embed_ms } : {}), ...(engineId ? { engine: engineId } : {}) };
  } catch (e) {
    // Answer anyway (empty): the requester then goes on at once instead of waiting out its timeout.
    job.log.error({ request_id: req.request_id, err: (e as Error).message }, 'recall failed');
    return { items: [], mode: 'keyword', took_ms: performance.now() - started };
  }
}

/** A raw line left in fav:ltm:writes by an older version: kept as an utterance of its speaker. */
function handleLegacyWrite(store: MemoryStore, w: LtmWrite, persona: string, reembed: Reembedder | undefined): void {
  const text = w.text.trim().slice(0, MEMORY_TEXT_MAX);
  if (isTrivial(text)) return;
  const subject = w.kind === 'assistant' ? 'avatar' : w.kind === 'user' ? 'streamer' : 'world';
  store.add({ persona, subject, text, kind: w.kind === 'summary' ? 'summary' : w.kind === 'fact' ? 'fact' : 'utterance', importance: 0.3, pinned: false, source_session: w.session_id, ...(w.turn_id ? { source_turn: w.turn_id } : {}), at: w.ts });
  reembed?.kick();
}

const service: ServiceDefinition = {
  name: 'long-term-memory',
  create(ctx: WorkerContext) {
    const { settings, log } = ctx;
    const store = MemoryStore.open(settings.dataDir, { log, defaultPersona: settings.persona.name, decayHalfLifeDays: settings.memory.decayHalfLifeDays });
    const resolved = resolveEmbedder(settings);
    const embedder = createEmbedder(resolved, { dataDir: settings.dataDir, log });
    const notices = { salvage: store.salvage?.message, engine: undefined as string | undefined };
    const notify = () => ctx.notify([notices.salvage, notices.engine].filter(Boolean).join('; ') || undefined);
    const reembed = embedder ? new Reembedder(store, embedder, { log }) : undefined;
    const engine = new Engine(embedder, {
      log,
      onReady: (e) => {
        store.activeSpace = e.id;
        reembed?.kick();
        notices.engine = undefined;
        notify();
      },
      onError: (message) => {
        notices.engine = `recall by keywords only: ${message}`;
        notify();
      },
    });
    notify();
    engine.start();

    const facts = FactPipeline.fromSettings(settings, { store, ...(embedder ? { embedder } : {}), log });

    // Read per request: the admin and the old-format writes are rare, and this follows a switch without a channel.
    const activePersona = async (redis: WorkerContext['redis']): Promise<string> => (await readActivePersona(redis, log).catch(() => undefined))?.name ?? settings.persona.name;
    const status = (): LtmStatus => {
      const st = embedder?.state();
      const space = engine.ready && embedder ? embedder.id : undefined;
      return {
        engine: embedder ? (engine.ready ? embedder.id : embedder.engine) : 'none',
        // Loaded but still warming up counts as loading: recall is keyword-only until then.
        engine_state: !st ? 'off' : engine.ready ? 'ready' : st.engine_state === 'ready' ? 'loading' : st.engine_state,
        ...(st?.engine_error ? { engine_error: st.engine_error } : engine.error ? { engine_error: engine.error } : {}),
        ...(st?.download !== undefined ? { download: st.download } : {}),
        memories: store.size(),
        vectors: space ? store.vectorCount(space) : 0,
        ...(reembed?.progress() ? { reembed: reembed.progress() } : {}),
        ...facts.status(),
      };
    };

    log.info({ file: MemoryStore.file(settings.dataDir), engine: resolved.engine, extraction: settings.memory.extraction, memories: store.size() }, 'long-term store open');
    return {
      inputs: [
        streamInput({
          topic: Bus.ltmTurns,
          group: streamGroup('long-term-memory'),
          handle: async (turn, job, entryId) => {
            const o = await facts.handleTurn(turn, job.signal);
            if (o.added.length || o.updated.length) reembed?.kick();
            job.log.debug({ entryId, turn_id: turn.turn_id, via: o.via, added: o.added.length, updated: o.updated.length, deleted: o.deleted.length, unchanged: o.unchanged, ...(o.llmError ? { llm_error: o.llmError } : {}) }, 'turn remembered');
          },
        }),
        streamInput({
          topic: Bus.ltmWrites,
          group: streamGroup('long-term-memory'),
          handle: async (w, job) => handleLegacyWrite(store, w, await activePersona(job.redis), reembed),
        }),
        serveRequests({ topic: Bus.ltmRecall, reply: Bus.ltmRecallReply, handle: (req, job) => handleRecall(store, engine, req, job), staleMs: STALE_REQUEST_MS }),
        serveRequests({
          topic: Bus.ltmAdmin,
          reply: Bus.ltmAdminReply,
          staleMs: 60_000,
          handle: async (req, job) => {
            const persona = await activePersona(job.redis);
            return handleAdmin(req, { store, ...(embedder && engine.ready ? { embedder } : {}), activePersona: () => persona, status, kick: () => reembed?.kick() });
          },
        }),
      ],
      async dispose() {
        engine.stop();
        await reembed?.stop();
        await facts.close();
        await embedder?.close();
        store.close();
      },
    };
  },
};
export default service;
