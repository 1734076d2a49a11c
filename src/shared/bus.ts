/**
 * The bus contract: every queue, channel and stream name, and the shape of every message that
 * crosses the bus. Names of the seed design are kept verbatim so its services and tools still fit.
 * This file imports nothing of the project (src/shared is the bottom layer).
 */
import { z } from 'zod';

/** The services of the seed design, in start order. */
export const SERVICE_NAMES = [
  'input-handler',
  'asr',
  'memory',
  'long-term-memory',
  'chat-ai',
  'tts',
  'output-handler',
  'dialog-engine',
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export function isServiceName(name: string): name is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(name);
}

/** Work queues (Redis lists). Producers LPUSH, consumers take from the right (reliably, see below). */
export const Queues = {
  /** input-handler -> asr */
  asrTasks: 'asr_tasks',
  /** input-handler -> memory */
  userInput: 'user_input_queue',
  /** chat-ai -> tts */
  ttsRequests: 'tts_requests',
  /** Added: gateway -> input-handler (uploads and typed text to normalise; `InputTask`). */
  input: 'fav:input',
  /**
   * Added: input-handler -> dialog-engine (normalised user inputs, `UserInput`). The dialog engine
   * applies the input policy and starts turns by pushing `UserTurn`s to `user_input_queue`, so the
   * seed's memory service still consumes user_input_queue, now fed by the turn arbiter.
   */
  dialogInputs: 'fav:dialog:inputs',
} as const;
export type QueueName = (typeof Queues)[keyof typeof Queues];

/** Pub/sub channels. */
export const Channels = {
  /** asr -> input-handler */
  asrResults: 'asr_results',
  /** memory -> chat-ai */
  memoryUpdates: 'memory_updates',
  /** chat-ai -> output-handler, studio */
  aiResponses: 'ai_responses',
  /** tts / workers -> output-handler, one channel per task */
  taskResponse: (taskId: string) => `task_response:${taskId}`,
  /** Added: turn control (cancel on barge-in, stop). */
  control: 'fav:control',
  /** Added: service lifecycle (ready, heartbeat, stopping). */
  status: 'fav:status',
  /** Added: metrics samples. */
  metrics: 'fav:metrics',
  /** Added: gateway -> asr, live microphone PCM frames (`MicFrame`, 16 kHz s16le mono). */
  mic: 'fav:mic',
  /**
   * Added: turn events from any service (`TurnEvent`: speech start/end, transcripts, turn state,
   * emotion, errors, playback). Consumed by dialog-engine and output-handler.
   */
  events: 'fav:events',
  /** Added: output-handler -> gateway, ordered client-facing events (`ClientEvent`). */
  deliver: 'fav:deliver',
  /** Added: memory -> long-term-memory recall requests (`RecallRequest`). */
  ltmRecall: 'fav:ltm:recall',
  /** Added: long-term-memory -> memory, the answer to one recall request (`RecallReply`). */
  ltmRecallReply: (requestId: string) => `fav:ltm:recall:${requestId}`,
} as const;

/** Pattern matching every `task_response:{task_id}` channel (output-handler PSUBSCRIBEs it). */
export const TASK_RESPONSE_PATTERN = 'task_response:*';

/**
 * Added: the resolved app configuration (JSON of `Config`, secrets included) that the core SETs
 * before starting services. Workers read it at start-up, local or remote (`fav worker`), so one
 * settings file configures every machine. The bus is password-protected and loopback by default.
 */
export const CONFIG_KEY = 'fav:config';

/** Durable streams (consumer groups). */
export const Streams = {
  /** Added: long-term-memory writes; survive a long-term-memory restart. */
  longTermWrites: 'fav:ltm:writes',
} as const;

/**
 * Reliable queues: a consumer moves a task with BLMOVE from the queue into its own processing list
 * and removes it there (LREM) when done. A task left in a processing list by a dead consumer is
 * moved back to the queue by the consumer's next incarnation (same instance id) or by the reaper
 * once the owner's heartbeat key has expired.
 */
export const processingList = (queue: string, instanceId: string) => `fav:processing:${queue}:${instanceId}`;
/** Heartbeat key of a worker instance; SET with PX, refreshed every heartbeat. */
export const heartbeatKey = (instanceId: string) => `fav:hb:${instanceId}`;
/** Set of instance ids known to have consumed from a queue (for the reaper). */
export const consumersKey = (queue: string) => `fav:consumers:${queue}`;

/** Dead-letter list of a queue: invalid messages (bad JSON / schema) are moved here, unchanged. */
export const deadLetterList = (queue: string) => `fav:dead:${queue}`;
/** Consumer group of a durable stream, one per consuming service. */
export const streamGroup = (service: string) => `fav:group:${service}`;

/**
 * What each service consumes. Single source for the supervisor's manifest (which queues to reap)
 * and for the workers (what to read). Producers are implied by the bus table in ARCHITECTURE.md.
 */
export type ServiceInput =
  | { kind: 'queue'; name: QueueName }
  | { kind: 'channel'; name: string }
  | { kind: 'pattern'; name: string }
  | { kind: 'stream'; name: string };
export const SERVICE_INPUTS: Record<ServiceName, readonly ServiceInput[]> = {
  'input-handler': [
    { kind: 'queue', name: Queues.input },
    { kind: 'channel', name: Channels.asrResults },
  ],
  asr: [
    { kind: 'queue', name: Queues.asrTasks },
    { kind: 'channel', name: Channels.mic },
    { kind: 'channel', name: Channels.control },
  ],
  memory: [
    { kind: 'queue', name: Queues.userInput },
    { kind: 'channel', name: Channels.aiResponses },
    // Transcripts start the long-term recall of a spoken turn before its UserTurn arrives.
    { kind: 'channel', name: Channels.asrResults },
  ],
  'long-term-memory': [
    { kind: 'stream', name: Streams.longTermWrites },
    { kind: 'channel', name: Channels.ltmRecall },
  ],
  'chat-ai': [
    { kind: 'channel', name: Channels.memoryUpdates },
    { kind: 'channel', name: Channels.control },
  ],
  tts: [
    { kind: 'queue', name: Queues.ttsRequests },
    { kind: 'channel', name: Channels.control },
  ],
  'output-handler': [
    { kind: 'channel', name: Channels.aiResponses },
    { kind: 'pattern', name: TASK_RESPONSE_PATTERN },
    { kind: 'channel', name: Channels.events },
    { kind: 'channel', name: Channels.control },
  ],
  'dialog-engine': [
    { kind: 'queue', name: Queues.dialogInputs },
    { kind: 'channel', name: Channels.events },
    { kind: 'channel', name: Channels.control },
  ],
};

/** Every message on the bus carries these, so one turn can be traced end to end. */
export const Envelope = z.object({
  session_id: z.string().min(1),
  turn_id: z.string().min(1),
  seq: z.number().int().nonnegative(),
  /** Unix epoch milliseconds when the message was created. */
  ts: z.number(),
});
export type Envelope = z.infer<typeof Envelope>;

/** A unit of queued work. `task_id` follows the seed (it names the output channel). */
export const TaskMessage = Envelope.extend({
  task_id: z.string().min(1),
  type: z.string().min(1),
  data: z.record(z.string(), z.unknown()).default({}),
});
export type TaskMessage = z.infer<typeof TaskMessage>;

/** Service lifecycle events on `Channels.status`. */
export const StatusEvent = z.object({
  service: z.string(),
  instance: z.string(),
  pid: z.number().int(),
  state: z.enum(['starting', 'ready', 'heartbeat', 'stopping', 'stopped', 'error']),
  ts: z.number(),
  detail: z.string().optional(),
  /** Tasks handled since start, for health views. */
  handled: z.number().int().nonnegative().optional(),
});
export type StatusEvent = z.infer<typeof StatusEvent>;

/** Turn control on `Channels.control`. */
export const ControlEvent = z.object({
  action: z.enum(['cancel', 'stop']),
  session_id: z.string(),
  turn_id: z.string().optional(),
  ts: z.number(),
  reason: z.string().optional(),
});
export type ControlEvent = z.infer<typeof ControlEvent>;

/** How a service scales: `shared` consumes queues/streams (any number of instances, any machine); `singleton` reads pub/sub or owns external state (one live instance). */
export type ServiceScale = 'shared' | 'singleton';
export const SERVICE_SCALE: Record<ServiceName, ServiceScale> = { 'input-handler': 'shared', asr: 'shared', memory: 'singleton', 'long-term-memory': 'singleton', 'chat-ai': 'shared', tts: 'shared', 'output-handler': 'singleton', 'dialog-engine': 'singleton' };

/**
 * The run of the core now serving this bus: a random id its supervisor SETs at start (and again
 * after a reconnect) and hands its workers as FAV_RUN_ID. A worker that finds another run's id
 * here has outlived its own core and leaves (see src/workers/runtime/run-guard.ts).
 */
export const RUN_KEY = 'fav:run';
/** The claim of a singleton's one live instance: its instance id, SET NX PX, refreshed with the heartbeat. */
export const singletonKey = (service: ServiceName) => `fav:singleton:${service}`;
/** Exit codes of a worker process, read by the supervisor and `fav worker`. */
export const WorkerExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  testCrash: 3,
  /** The bus now serves another run of the core than the one this worker joined. */
  runChanged: 4,
  /** A singleton whose one live instance already runs elsewhere. */
  singletonTaken: 5,
} as const;
