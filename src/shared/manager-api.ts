/**
 * The manager's HTTP contract (the studio's manager page <-> the gateway): paths, response schemas,
 * and the latency stages drawn from a turn's timing marks. Every path needs the studio token: the
 * services view carries each process's stderr tail and last error, the turns carry session ids.
 * Loose objects: a core of another version adds fields without breaking the page. Imports nothing of ours.
 */
import { z } from 'zod';

export const ManagerPaths = {
  /** GET: every service with its processes' CPU and memory. */
  services: '/api/manager/services',
  /** POST (token): stop one service and keep it stopped (crash handling leaves it alone). */
  serviceStop: '/api/services/:name/stop',
  /** POST (token): start a service that was stopped (or failed). */
  serviceStart: '/api/services/:name/start',
  /** GET: lengths of the bus's queues (with their processing and dead-letter lists) and streams. */
  bus: '/api/manager/bus',
  /** GET: timing marks of the last turns (newest last). */
  turns: '/api/manager/turns',
} as const;

/** `:name` filled in. */
export const servicePath = (path: string, name: string): string => path.replace(':name', encodeURIComponent(name));

/** One process: `cpu` is percent of one core since the previous sample (can exceed 100 on several), `memory` resident bytes. */
export const ProcessStatsSchema = z.looseObject({
  pid: z.number().int(),
  cpu: z.number().nonnegative(),
  memory: z.number().nonnegative(),
});
export type ProcessStats = z.infer<typeof ProcessStatsSchema>;

export const ManagerInstanceSchema = z.looseObject({
  instanceId: z.string().optional(),
  pid: z.number().int().nullable().optional(),
  state: z.string().optional(),
  restarts: z.number().int().nonnegative().optional(),
  /** Absent while the process is not running, or when it could not be sampled. */
  stats: ProcessStatsSchema.optional(),
});
export type ManagerInstance = z.infer<typeof ManagerInstanceSchema>;

export const ManagerServiceSchema = z.looseObject({
  name: z.string().min(1),
  state: z.string().min(1),
  restarts: z.number().int().nonnegative().default(0),
  instances: z.array(ManagerInstanceSchema).default([]),
  notice: z.string().optional(),
  lastError: z.string().optional(),
});
export type ManagerService = z.infer<typeof ManagerServiceSchema>;

/** `GET /api/manager/services`. `control`: whether stop/start are offered (false: restart only). */
export const ManagerServicesResponseSchema = z.looseObject({
  services: z.array(ManagerServiceSchema),
  control: z.boolean().default(false),
});
export type ManagerServicesResponse = z.infer<typeof ManagerServicesResponseSchema>;

/**
 * A queue: `length` waiting, `processing` taken by an instance and not finished yet, `dead` invalid
 * messages set aside. A stream: `length` entries kept, `pending` delivered to a consumer group and not
 * acknowledged yet (per group, summed).
 */
export const BusLengthSchema = z.looseObject({
  name: z.string(),
  kind: z.enum(['queue', 'stream']),
  length: z.number().int().nonnegative(),
  processing: z.number().int().nonnegative().optional(),
  dead: z.number().int().nonnegative().optional(),
  pending: z.number().int().nonnegative().optional(),
  consumers: z.array(z.string()).default([]),
});
export type BusLength = z.infer<typeof BusLengthSchema>;

/** `GET /api/manager/bus`; `error` when the bus did not answer (lengths then empty). */
export const BusLengthsResponseSchema = z.looseObject({
  lengths: z.array(BusLengthSchema),
  error: z.string().optional(),
});
export type BusLengthsResponse = z.infer<typeof BusLengthsResponseSchema>;

/**
 * How a turn's long-term recall went (long-term.ts RecallInfo, from the turn's memory context):
 * `status` vector (hybrid), keyword (keyword only), timeout, skipped or error; `waited_ms` how long
 * the turn waited for it; `count` the memories that went into the prompt.
 */
export const TurnRecallSchema = z.looseObject({
  status: z.string(),
  waited_ms: z.number().nonnegative(),
  took_ms: z.number().nonnegative().optional(),
  embed_ms: z.number().nonnegative().optional(),
  engine: z.string().optional(),
  count: z.number().int().nonnegative(),
});
export type TurnRecall = z.infer<typeof TurnRecallSchema>;

/** One finished turn: its marks (epoch ms, from the pipeline; `heard` from the page that played it). */
export const TurnTimingSchema = z.looseObject({
  session_id: z.string(),
  turn_id: z.string(),
  reason: z.string().optional(),
  marks: z.record(z.string(), z.number()),
  /** Absent for a turn without recall (a say turn), or one whose context the gateway did not see. */
  recall: TurnRecallSchema.optional(),
});
export type TurnTiming = z.infer<typeof TurnTimingSchema>;

/** `GET /api/manager/turns` */
export const TurnTimingsResponseSchema = z.looseObject({
  turns: z.array(TurnTimingSchema),
});
export type TurnTimingsResponse = z.infer<typeof TurnTimingsResponseSchema>;

/**
 * The latency stages of a turn, in order. A stage is the time from the previous mark present to its
 * own `mark`: a spoken turn starts at `speech_end`, a typed one at `input` (it has no transcript).
 * `recall` ends when long-term recall finished (a spoken turn's recall starts at its final
 * transcript); `heard` is when the studio's player started playing the turn's first audio.
 */
export const TURN_START_MARKS = ['speech_end', 'input'] as const;
export const LATENCY_STAGES = [
  { id: 'asr', mark: 'transcript' },
  { id: 'recall', mark: 'recall' },
  { id: 'llm', mark: 'llm_first_token' },
  { id: 'sentence', mark: 'sentence_0' },
  { id: 'tts', mark: 'first_audio' },
  { id: 'playback', mark: 'heard' },
] as const;
export type LatencyStageId = (typeof LATENCY_STAGES)[number]['id'];
