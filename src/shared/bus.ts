/**
 * The bus contract: every queue, channel and stream name, and the shape of every message that
 * crosses the bus. Names of the seed design are kept verbatim so its services and tools still fit.
 * This file imports nothing of the project (src/shared is the bottom layer).
 */
import { z } from 'zod';

/** The services of the seed design (and live-chat, added), in start order. */
export const SERVICE_NAMES = [
  'input-handler',
  'asr',
  'memory',
  'long-term-memory',
  'chat-ai',
  'tts',
  'output-handler',
  'dialog-engine',
  'live-chat',
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export function isServiceName(name: string): name is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(name);
}

/**
 * How a service scales: `shared` services consume queues (any number of instances split the work);
 * a `singleton` must run once (a second instance would double what it publishes or its state).
 */
export type ServiceScale = 'shared' | 'singleton';
export const SERVICE_SCALE: Record<ServiceName, ServiceScale> = {
  'input-handler': 'shared',
  asr: 'shared',
  memory: 'singleton',
  'long-term-memory': 'singleton',
  // Takes its contexts from a queue (fav:chat:contexts), several turns at once per instance.
  'chat-ai': 'shared',
  tts: 'shared',
  'output-handler': 'singleton',
  'dialog-engine': 'singleton',
  // Holds the platform connections and the chat waiting list: a second one would answer chat twice.
  'live-chat': 'singleton',
};

/** Work queues (Redis lists). Producers LPUSH, consumers take from the right (reliably, see below). */
export const Queues = {
  /** input-handler -> asr */
  asrTasks: 'asr_tasks',
  /** dialog-engine -> memory: a turn that starts now (`UserInput`). */
  userInput: 'user_input_queue',
  /** chat-ai -> tts */
  ttsRequests: 'tts_requests',
  /** Added: gateway -> input-handler (uploads and typed text to normalise; `InputTask`). */
  input: 'fav:input',
  /**
   * Added: input-handler (typed text) and asr (transcripts) -> dialog-engine, `UserInput`. The dialog
   * engine applies the input policy and starts turns by pushing them on to `user_input_queue`, so
   * the seed's memory service still consumes user_input_queue, now fed by the turn arbiter.
   */
  dialogInputs: 'fav:dialog:inputs',
  /**
   * Added: memory -> chat-ai, one `MemoryContext` per turn (the reply to write). A queue, so that a
   * context is never lost to a chat-ai that is restarting and never answered twice by two instances;
   * memory_updates still carries a copy for the seed's tools.
   */
  chatContexts: 'fav:chat:contexts',
  /** Added: chat-ai -> memory, one `ReplyFinal` per turn (the reply to remember). */
  replies: 'fav:memory:replies',
} as const;
export type QueueName = (typeof Queues)[keyof typeof Queues];

/** Pub/sub channels. */
export const Channels = {
  /** asr's final transcripts, kept for the seed's tools (the pipeline itself reads fav:dialog:inputs). */
  asrResults: 'asr_results',
  /** memory's contexts, kept as the seed's mirror (chat-ai takes them from fav:chat:contexts). */
  memoryUpdates: 'memory_updates',
  /** chat-ai -> output-handler, studio */
  aiResponses: 'ai_responses',
  /** tts / workers -> output-handler, one channel per task */
  taskResponse: (taskId: string) => `task_response:${taskId}`,
  /** Added: turn control (cancel on barge-in, stop). */
  control: 'fav:control',
  /** Added: service lifecycle (ready, heartbeat, stopping). */
  status: 'fav:status',
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
  /** Added: gateway -> chat-ai, the persona now in use changed (`PersonaNotice`; also kept at ACTIVE_PERSONA_KEY). */
  persona: 'fav:persona',
} as const;

/** Pattern matching every `fav:ltm:recall:{request_id}` reply channel. */
export const LTM_RECALL_REPLY_PATTERN = 'fav:ltm:recall:*';

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
  /**
   * Added: long-term-memory writes of schema v1 (raw lines, `LtmWrite`). No longer written: memory
   * writes finished turns to `longTermTurns`; long-term-memory still drains entries left here by an
   * older version, so nothing accepted before an update is lost.
   */
  longTermWrites: 'fav:ltm:writes',
  /** Added: finished turns for long-term memory extraction (`LtmTurn`, long-term.ts). */
  longTermTurns: 'fav:ltm:turns',
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

/** Global in Node and browsers; declared here because src/shared compiles without either's types. */
declare const crypto: { randomUUID(): string };

/** A new message id (`Envelope.event_id`). */
export function newEventId(): string {
  return crypto.randomUUID();
}

/**
 * Every message of a turn carries these, so a turn can be traced end to end: `event_id` names this
 * message, `parent_id` the message that caused it (the input that started a turn has none).
 */
export const Envelope = z.object({
  session_id: z.string().min(1),
  turn_id: z.string().min(1),
  /** Producers set it; a message from a tool that does not (the seed's) gets one when parsed. */
  event_id: z.string().min(1).default(newEventId),
  parent_id: z.string().min(1).optional(),
  /** Unix epoch milliseconds when the message was created. */
  ts: z.number(),
});
export type Envelope = z.infer<typeof Envelope>;

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

/**
 * The persona chat-ai speaks as from the next turn on (the control API's `persona` command): SET at
 * ACTIVE_PERSONA_KEY (read by chat-ai at start) and published on `Channels.persona` (its cache).
 * `systemPrompt` is the configured one, `{name}` not yet replaced.
 */
export const PersonaNotice = z.object({
  name: z.string().min(1),
  systemPrompt: z.string(),
  ts: z.number(),
});
export type PersonaNotice = z.infer<typeof PersonaNotice>;
export const ACTIVE_PERSONA_KEY = 'fav:persona:active';


/**
 * The run of the core now serving this bus: a random id its supervisor SETs at start (and again
 * after a reconnect) and hands its workers as FAV_RUN_ID. A worker that finds another run's id
 * here has outlived its own core and leaves (see src/workers/runtime/run-guard.ts).
 */
export const RUN_KEY = 'fav:run';
/**
 * What the dialog engine must not lose if it is killed: a hash session_id -> JSON `{ active?, waiting }`
 * (the turn in flight and the inputs waiting behind it, as UserInputs). A restarted dialog engine ends
 * the turns it finds here (error worker_lost), so none waits forever, and takes the waiting inputs in again.
 */
export const DIALOG_ACTIVE_KEY = 'fav:dialog:active';

/**
 * chat-ai's mark of a turn it has started (`running`) or finished (`ended`), kept for an hour. A
 * context taken again from the queue after its instance died (its own restart, or the reaper) is
 * run only when no mark exists; `running` means the reply was cut mid-way (it is ended with an
 * error rather than spoken twice), `ended` that it is done (dropped).
 */
export const chatTurnKey = (turnId: string): string => `fav:chat:turn:${turnId}`;
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
