/**
 * The bus contract as one table: every queue, channel, channel pattern and stream with the schema
 * of its messages and who produces and consumes it. Publishers are typed by it (a payload of the
 * wrong shape for a topic does not compile), workers declare their inputs by naming an entry, and
 * the supervisor's manifest reads each service's inputs from `consumers`.
 *
 * Kinds:
 *   queue    a reliable work queue (LPUSH; consumers take with BLMOVE, see bus.ts)
 *   channel  pub/sub
 *   pattern  a family of channels named per message (`task_response:{task_id}`): `channelOf` names
 *            the one a message goes to; consumers PSUBSCRIBE `name`
 *   reply    a per-request reply channel read by the requester's own subscription, not an input
 *   stream   a durable stream with a consumer group per service (entries carry one field `msg`)
 * Imports nothing of the project but its siblings in src/shared.
 */
import type { z } from 'zod';
import { Channels, ControlEvent, LTM_RECALL_REPLY_PATTERN, PersonaNotice, Queues, SERVICE_NAMES, StatusEvent, Streams, TASK_RESPONSE_PATTERN, type ServiceName } from './bus.js';
import {
  AiResponse,
  AsrResult,
  AsrTask,
  ClientEvent,
  InputTask,
  LtmWrite,
  MemoryContext,
  MicFrame,
  RecallReply,
  RecallRequest,
  ReplyFinal,
  TtsChunk,
  TtsRequest,
  TurnEvent,
  UserInput,
} from './voice.js';
import { ChatChannels, ChatCommand, ChatFeedEvent } from './live-chat.js';
import { LTM_ADMIN_REPLY_PATTERN, LtmAdminReply, LtmAdminRequest, LtmChannels, LtmTurn } from './long-term.js';
import { ASR_MODELS_REPLY_PATTERN, AsrModelsReply, AsrModelsRequest, SpeechChannels, TTS_ADMIN_REPLY_PATTERN, TtsAdminReply, TtsAdminRequest } from './speech-admin.js';

/** Who is at either end of a topic: a service, or the core (gateway, supervisor) and its clients. */
export type Party = ServiceName | 'gateway' | 'supervisor';
export type TopicKind = 'queue' | 'channel' | 'pattern' | 'reply' | 'stream';

export interface Topic<K extends TopicKind = TopicKind, S extends z.ZodType = z.ZodType> {
  kind: K;
  /** The queue, channel, pattern or stream name on the bus. */
  name: string;
  schema: S;
  producers: readonly Party[];
  consumers: readonly Party[];
  /** pattern and reply topics: the channel one message goes to. */
  channelOf?(msg: z.output<S>): string;
}

const topic = <K extends TopicKind, S extends z.ZodType>(t: Topic<K, S>): Topic<K, S> => t;
const ALL: readonly ServiceName[] = SERVICE_NAMES;

export const Bus = {
  input: topic({ kind: 'queue', name: Queues.input, schema: InputTask, producers: ['gateway'], consumers: ['input-handler'] }),
  asrTasks: topic({ kind: 'queue', name: Queues.asrTasks, schema: AsrTask, producers: ['input-handler'], consumers: ['asr'] }),
  mic: topic({ kind: 'channel', name: Channels.mic, schema: MicFrame, producers: ['gateway'], consumers: ['asr'] }),
  /** The seed's transcript channel, kept as a mirror for its tools: nothing of ours reads it. */
  asrResults: topic({ kind: 'channel', name: Channels.asrResults, schema: AsrResult, producers: ['asr'], consumers: [] }),
  dialogInputs: topic({ kind: 'queue', name: Queues.dialogInputs, schema: UserInput, producers: ['input-handler', 'asr', 'gateway', 'live-chat'], consumers: ['dialog-engine'] }),
  userInput: topic({ kind: 'queue', name: Queues.userInput, schema: UserInput, producers: ['dialog-engine'], consumers: ['memory'] }),
  chatContexts: topic({ kind: 'queue', name: Queues.chatContexts, schema: MemoryContext, producers: ['memory'], consumers: ['chat-ai'] }),
  /** Every turn's context (the seed's copy): the gateway keeps the memories the last reply used and its recall status. */
  memoryUpdates: topic({ kind: 'channel', name: Channels.memoryUpdates, schema: MemoryContext, producers: ['memory'], consumers: ['gateway'] }),
  ltmRecall: topic({ kind: 'channel', name: Channels.ltmRecall, schema: RecallRequest, producers: ['memory'], consumers: ['long-term-memory'] }),
  ltmRecallReply: topic({
    kind: 'reply',
    name: LTM_RECALL_REPLY_PATTERN,
    schema: RecallReply,
    producers: ['long-term-memory'],
    consumers: ['memory'],
    channelOf: (m) => Channels.ltmRecallReply(m.request_id),
  }),
  ltmWrites: topic({ kind: 'stream', name: Streams.longTermWrites, schema: LtmWrite, producers: [], consumers: ['long-term-memory'] }),
  ltmTurns: topic({ kind: 'stream', name: Streams.longTermTurns, schema: LtmTurn, producers: ['memory'], consumers: ['long-term-memory'] }),
  ltmAdmin: topic({ kind: 'channel', name: LtmChannels.admin, schema: LtmAdminRequest, producers: ['gateway'], consumers: ['long-term-memory'] }),
  ltmAdminReply: topic({
    kind: 'reply',
    name: LTM_ADMIN_REPLY_PATTERN,
    schema: LtmAdminReply,
    producers: ['long-term-memory'],
    consumers: ['gateway'],
    channelOf: (m) => LtmChannels.adminReply(m.request_id),
  }),
  // live-chat: a chat turn's finished reply is posted back into the chat (postReplies).
  aiResponses: topic({ kind: 'channel', name: Channels.aiResponses, schema: AiResponse, producers: ['chat-ai'], consumers: ['output-handler', 'live-chat'] }),
  replies: topic({ kind: 'queue', name: Queues.replies, schema: ReplyFinal, producers: ['chat-ai'], consumers: ['memory'] }),
  ttsRequests: topic({ kind: 'queue', name: Queues.ttsRequests, schema: TtsRequest, producers: ['chat-ai'], consumers: ['tts'] }),
  taskResponse: topic({
    kind: 'pattern',
    name: TASK_RESPONSE_PATTERN,
    schema: TtsChunk,
    producers: ['tts'],
    consumers: ['output-handler'],
    channelOf: (m) => Channels.taskResponse(m.task_id),
  }),
  events: topic({
    kind: 'channel',
    name: Channels.events,
    schema: TurnEvent,
    producers: ['input-handler', 'asr', 'chat-ai', 'tts', 'dialog-engine', 'gateway'],
    // memory: final transcripts start a spoken turn's long-term recall before its input arrives.
    // live-chat: the session's turn state and the mic pace the chat answers.
    consumers: ['dialog-engine', 'output-handler', 'memory', 'live-chat'],
  }),
  control: topic({
    kind: 'channel',
    name: Channels.control,
    schema: ControlEvent,
    producers: ['gateway', 'dialog-engine'],
    consumers: ['asr', 'chat-ai', 'tts', 'output-handler', 'dialog-engine'],
  }),
  persona: topic({ kind: 'channel', name: Channels.persona, schema: PersonaNotice, producers: ['gateway'], consumers: ['chat-ai', 'memory'] }),
  /**
   * The studio's chat buttons (answer, ban, unban): live-chat acts on them; chat-ai keeps the names of
   * viewers banned live so they are never spoken.
   */
  chatCommand: topic({ kind: 'channel', name: ChatChannels.command, schema: ChatCommand, producers: ['gateway'], consumers: ['chat-ai', 'live-chat'] }),
  deliver: topic({ kind: 'channel', name: Channels.deliver, schema: ClientEvent, producers: ['output-handler'], consumers: ['gateway'] }),
  status: topic({ kind: 'channel', name: Channels.status, schema: StatusEvent, producers: ALL, consumers: ['supervisor', 'gateway', 'dialog-engine'] }),
  /** The studio's voice previews and voice list (speech-admin.ts). */
  ttsAdmin: topic({ kind: 'channel', name: SpeechChannels.ttsAdmin, schema: TtsAdminRequest, producers: ['gateway'], consumers: ['tts'] }),
  ttsAdminReply: topic({
    kind: 'reply',
    name: TTS_ADMIN_REPLY_PATTERN,
    schema: TtsAdminReply,
    producers: ['tts'],
    consumers: ['gateway'],
    channelOf: (m) => SpeechChannels.ttsAdminReply(m.request_id),
  }),
  /** The studio's sherpa-onnx model admin: list, download, cancel, delete (speech-admin.ts). */
  asrModels: topic({ kind: 'channel', name: SpeechChannels.asrModels, schema: AsrModelsRequest, producers: ['gateway'], consumers: ['asr'] }),
  asrModelsReply: topic({
    kind: 'reply',
    name: ASR_MODELS_REPLY_PATTERN,
    schema: AsrModelsReply,
    producers: ['asr'],
    consumers: ['gateway'],
    channelOf: (m) => SpeechChannels.asrModelsReply(m.request_id),
  }),
  /** Live chat (live-chat.ts): what came in, was dropped or picked, and the connection statuses, for the studio. */
  chatFeed: topic({ kind: 'channel', name: ChatChannels.feed, schema: ChatFeedEvent, producers: ['live-chat'], consumers: ['gateway'] }),
} as const;

export type BusTopic = (typeof Bus)[keyof typeof Bus];
/** The message type of a topic (what a producer builds; parsing fills the schema's defaults). */
export type Payload<T extends Topic> = z.output<T['schema']>;

/** What a service consumes through its runtime inputs (the manifest's reaper reads the queues). */
export interface ServiceInput {
  kind: 'queue' | 'channel' | 'pattern' | 'stream';
  name: string;
}

/** A service's inputs, from the table's consumers, in table order. */
export function serviceInputs(svc: ServiceName): ServiceInput[] {
  return Object.values(Bus as Record<string, Topic>)
    .filter((t) => t.kind !== 'reply' && t.consumers.includes(svc))
    .map((t) => ({ kind: t.kind as ServiceInput['kind'], name: t.name }));
}

export const SERVICE_INPUTS = {} as Record<ServiceName, readonly ServiceInput[]>;
for (const svc of SERVICE_NAMES) SERVICE_INPUTS[svc] = serviceInputs(svc);
