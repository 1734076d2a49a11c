/**
 * Long-term memory on the bus: what a memory is, whose it is (subjects), the turns that memories
 * are extracted from, what a recall used, and the studio's memory admin (search, edit, pin, delete,
 * forget a subject, export/import) as request/reply with the long-term-memory service.
 *
 * Subjects (who a memory is about), one id scheme everywhere:
 *   'streamer'                     the person at the mic or the keyboard of the studio
 *   'avatar'                       the avatar itself (its promises, what it said it likes)
 *   'world'                        events and facts about no one in particular
 *   'viewer:<platform>:<user id>'  a live-chat viewer, by the platform's stable user id
 * Memories belong to one persona (by name): each persona remembers for itself.
 * A turn's recall scope is its speaker's subject plus 'streamer', 'avatar' and 'world': a viewer's
 * private facts are never recalled for another viewer.
 *
 * Imports nothing of the project but its siblings in src/shared.
 */
import { z } from 'zod';
import type { ChatPlatform } from './live-chat.js';

export const BUILTIN_SUBJECTS = ['streamer', 'avatar', 'world'] as const;
const VIEWER_SUBJECT = /^viewer:[a-z]+:[^\s:][^\s]{0,127}$/;

export const Subject = z.string().refine((s) => (BUILTIN_SUBJECTS as readonly string[]).includes(s) || VIEWER_SUBJECT.test(s), {
  message: "a subject is 'streamer', 'avatar', 'world' or 'viewer:<platform>:<user id>'",
});
export type Subject = string;

export function viewerSubject(platform: ChatPlatform | string, userId: string): Subject {
  return `viewer:${platform}:${userId}`;
}

/** The subjects a turn by `speaker` may recall: its own, then the shared ones. */
export function recallScope(speaker: Subject): Subject[] {
  return [speaker, ...BUILTIN_SUBJECTS.filter((s) => s !== speaker)];
}

/**
 *   fact        a durable fact about the subject ("has a cat called Mochi")
 *   preference  a like or dislike ("prefers green tea")
 *   promise     something the avatar or the streamer promised ("will sing next stream")
 *   event       something that happened ("had a birthday on 3 May")
 *   utterance   a raw line kept by the rule fallback, or from before facts existed (schema v2 files)
 *   summary     a summary of a conversation
 */
export const MEMORY_KINDS = ['fact', 'preference', 'promise', 'event', 'utterance', 'summary'] as const;
export const MemoryKind = z.enum(MEMORY_KINDS);
export type MemoryKind = z.infer<typeof MemoryKind>;

export const MEMORY_TEXT_MAX = 500;

/** One stored memory, as the admin API and export show it. Times are ms since the epoch. */
export const MemoryRecord = z.object({
  id: z.number().int().positive(),
  persona: z.string().min(1),
  subject: Subject,
  /** The subject's display name when known (a viewer's name at the time). */
  subject_name: z.string().optional(),
  kind: MemoryKind,
  text: z.string().min(1).max(MEMORY_TEXT_MAX),
  /** 0..1, as stored; the ranking decays it with time unless pinned (see `effective_importance`). */
  importance: z.number().min(0).max(1),
  pinned: z.boolean(),
  /** How many replies it was recalled for. */
  access_count: z.number().int().nonnegative(),
  created_at: z.number(),
  updated_at: z.number(),
  last_accessed_at: z.number().optional(),
  source_session: z.string().optional(),
  source_turn: z.string().optional(),
  /** Importance after decay, now (read-only; computed by the store). */
  effective_importance: z.number().min(0).max(1).optional(),
  /** Whether it has a vector for the embedder in use (false while re-embedding, or text the engine cannot embed). */
  has_vector: z.boolean().optional(),
});
export type MemoryRecord = z.infer<typeof MemoryRecord>;

/** What export writes and import reads (JSON file). Ids are not kept across an import. */
export const MemoryExport = z.object({
  format: z.literal('fav-memories'),
  version: z.literal(1),
  exported_at: z.number(),
  memories: z.array(
    MemoryRecord.omit({ id: true, effective_importance: true, has_vector: true }).extend({
      access_count: z.number().int().nonnegative().default(0),
      pinned: z.boolean().default(false),
    }),
  ),
});
export type MemoryExport = z.infer<typeof MemoryExport>;

/** A memory recalled for a turn, as memory puts it into MemoryContext.memories. */
export const RecalledMemory = z.object({
  id: z.number().int().positive(),
  text: z.string(),
  subject: Subject,
  subject_name: z.string().optional(),
  kind: MemoryKind,
  /** Fused relevance in [0, 1], higher is better. */
  score: z.number(),
  updated_at: z.number(),
});
export type RecalledMemory = z.infer<typeof RecalledMemory>;

/**
 * How a turn's recall went, in MemoryContext.recall and the manager:
 *   vector   hybrid: the query was embedded and KNN + keyword results were fused
 *   keyword  keyword only (no embedder configured, the embedder not ready or failed, or the query
 *            text is one the engine cannot embed, e.g. Chinese with an English-only model)
 *   timeout  no answer within memory.recallTimeoutMs (the turn went on without memories)
 *   skipped  recall is off (recallK 0) or the turn is the avatar's own line
 *   error    the request could not be sent, or long-term-memory answered with an error
 */
export const RECALL_STATUSES = ['vector', 'keyword', 'timeout', 'skipped', 'error'] as const;
export const RecallStatus = z.enum(RECALL_STATUSES);
export type RecallStatus = z.infer<typeof RecallStatus>;

export const RecallInfo = z.object({
  status: RecallStatus,
  /** How long memory waited for it, ms. */
  waited_ms: z.number().nonnegative(),
  /** long-term-memory's own time for the query (embed + search), when it answered. */
  took_ms: z.number().nonnegative().optional(),
  /** Of which: embedding the query, ms. */
  embed_ms: z.number().nonnegative().optional(),
  /** The embedder in use (its id, e.g. 'use-lite:512'), when it answered. */
  engine: z.string().optional(),
  /** Memories that made it into the prompt. */
  count: z.number().int().nonnegative(),
});
export type RecallInfo = z.infer<typeof RecallInfo>;

/**
 * `fav:ltm:turns` stream entries (field `msg`; memory -> long-term-memory, consumer group): one
 * finished turn, written when chat-ai's ReplyFinal arrives (done, cancelled or error), from which
 * long-term-memory extracts memories. A say turn (the avatar's scripted line) is not written.
 */
export const LtmTurn = z.object({
  session_id: z.string().min(1),
  turn_id: z.string().min(1),
  persona: z.string().min(1),
  /** Who spoke to the avatar. */
  speaker: Subject,
  speaker_name: z.string().optional(),
  source: z.string(),
  /** The user's text as said (not the chat quote memory renders for the LLM). */
  user: z.string(),
  /** The avatar's reply, complete or as far as it got ('' when it failed). */
  assistant: z.string().default(''),
  status: z.enum(['done', 'cancelled', 'error']),
  /** Memories recalled for this turn (ids): their access counts and decay are refreshed. */
  recalled_ids: z.array(z.number().int().positive()).default([]),
  ts: z.number(),
});
export type LtmTurn = z.infer<typeof LtmTurn>;
export type LtmTurnInput = z.input<typeof LtmTurn>;

export const LTM_TURNS_STREAM = 'fav:ltm:turns';

// --- The studio's memory admin: request/reply on `fav:ltm:admin` -----------------------------------

export const LtmChannels = {
  admin: 'fav:ltm:admin',
  adminReply: (requestId: string) => `fav:ltm:admin:${requestId}`,
} as const;
export const LTM_ADMIN_REPLY_PATTERN = 'fav:ltm:admin:*';

const Base = { request_id: z.string().min(1), ts: z.number() };
const Scope = {
  /** Default: the active persona. */
  persona: z.string().min(1).optional(),
};

export const MemoryPatch = z.object({
  text: z.string().trim().min(1).max(MEMORY_TEXT_MAX).optional(),
  subject: Subject.optional(),
  subject_name: z.string().max(100).optional(),
  kind: MemoryKind.optional(),
  importance: z.number().min(0).max(1).optional(),
  pinned: z.boolean().optional(),
});
export type MemoryPatch = z.infer<typeof MemoryPatch>;

export const NewMemory = z.object({
  text: z.string().trim().min(1).max(MEMORY_TEXT_MAX),
  subject: Subject.default('streamer'),
  subject_name: z.string().max(100).optional(),
  kind: MemoryKind.default('fact'),
  importance: z.number().min(0).max(1).default(0.5),
  pinned: z.boolean().default(false),
});
export type NewMemory = z.infer<typeof NewMemory>;

export const LtmAdminRequest = z.discriminatedUnion('op', [
  /** The same hybrid query a turn's recall uses, or all of a persona's memories by newest when query is ''. */
  z.object({ ...Base, ...Scope, op: z.literal('search'), query: z.string().max(500), subject: Subject.optional(), limit: z.number().int().min(1).max(200).default(50) }),
  z.object({ ...Base, ...Scope, op: z.literal('list'), subject: Subject.optional(), offset: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(500).default(100) }),
  /** Subjects with their memory counts. */
  z.object({ ...Base, ...Scope, op: z.literal('subjects') }),
  z.object({ ...Base, ...Scope, op: z.literal('add'), memory: NewMemory }),
  z.object({ ...Base, op: z.literal('update'), id: z.number().int().positive(), patch: MemoryPatch }),
  z.object({ ...Base, op: z.literal('delete'), id: z.number().int().positive() }),
  /** Deletes every memory about the subject (for the persona). */
  z.object({ ...Base, ...Scope, op: z.literal('forget'), subject: Subject }),
  /** All personas when persona is absent. */
  z.object({ ...Base, op: z.literal('export'), persona: z.string().min(1).optional() }),
  /** merge: add (near-duplicates are skipped); replace: the personas in the file lose their memories first. */
  z.object({ ...Base, op: z.literal('import'), data: MemoryExport, mode: z.enum(['merge', 'replace']).default('merge') }),
  z.object({ ...Base, op: z.literal('status') }),
]);
export type LtmAdminRequest = z.infer<typeof LtmAdminRequest>;
export type LtmAdminOp = LtmAdminRequest['op'];

/** The embedder and the background work, for the studio and /health. */
export const LtmStatus = z.object({
  /** The embedder's id ('use-lite:512', 'onnx:multilingual-minilm-l12:384', 'openai:nomic-embed-text:768'), or 'none'. */
  engine: z.string(),
  engine_state: z.enum(['off', 'loading', 'downloading', 'ready', 'error']),
  /** Why the engine is not ready, with the fix. */
  engine_error: z.string().optional(),
  /** Download progress of an on-device model, 0..1. */
  download: z.number().min(0).max(1).optional(),
  memories: z.number().int().nonnegative(),
  /** Memories with a vector of the engine in use. */
  vectors: z.number().int().nonnegative(),
  /** Re-embedding in the background after an engine change: done/total, absent when idle. */
  reembed: z.object({ done: z.number().int().nonnegative(), total: z.number().int().nonnegative() }).optional(),
  /** How memories are extracted from turns now: with the LLM, by rules (LLM unreachable or off), or off. */
  extraction: z.enum(['llm', 'rules', 'off']),
  /** Turns waiting in fav:ltm:turns for extraction. */
  pending_turns: z.number().int().nonnegative().optional(),
  last_extraction_error: z.string().optional(),
});
export type LtmStatus = z.infer<typeof LtmStatus>;

export const LtmAdminReply = z.object({
  request_id: z.string(),
  ok: z.boolean(),
  memories: z.array(MemoryRecord).optional(),
  memory: MemoryRecord.optional(),
  subjects: z.array(z.object({ subject: Subject, subject_name: z.string().optional(), count: z.number().int().nonnegative() })).optional(),
  /** delete / forget / import: how many rows changed. */
  changed: z.number().int().nonnegative().optional(),
  /** search: how the query ran. */
  mode: z.enum(['vector', 'keyword']).optional(),
  total: z.number().int().nonnegative().optional(),
  export: MemoryExport.optional(),
  status: LtmStatus.optional(),
  /** A failure: a stable code (the page translates it), the English error and the fix. */
  code: z.enum(['bad_request', 'not_found', 'store_failed', 'busy']).optional(),
  error: z.string().optional(),
  fix: z.string().optional(),
});
export type LtmAdminReply = z.infer<typeof LtmAdminReply>;
