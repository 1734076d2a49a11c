/**
 * The voice pipeline's messages: what crosses each queue and channel of a turn, as runtime schemas.
 *
 *   gateway --fav:input--> input-handler --asr_tasks--> asr
 *   gateway --fav:mic (live PCM)--> asr (VAD, streaming engine)
 *   input-handler (typed text), asr (transcripts) --fav:dialog:inputs--> dialog-engine (input
 *     policy, turn start); asr also publishes each final transcript on asr_results (seed mirror)
 *   dialog-engine --user_input_queue--> memory (history, LTM recall) --memory_updates--> chat-ai
 *   chat-ai --ai_responses (deltas, sentences, done)--> output-handler
 *   chat-ai --fav:memory:replies (one ReplyFinal)--> memory
 *   chat-ai --tts_requests (one per sentence)--> tts --task_response:{task_id}--> output-handler
 *   any service --fav:events--> dialog-engine, output-handler, memory (final transcripts)
 *   dialog-engine / gateway --fav:control (cancel)--> every stage drops the turn's work
 *   output-handler --fav:deliver (ordered ClientEvents)--> gateway --> WebSocket clients
 * Which service produces and consumes each is in contract.ts.
 *
 * Every message carries the Envelope (session_id, turn_id, event_id, parent_id, ts) and task_id (the
 * seed's id for one request; it names `task_response:{task_id}` and the seed's `/ws/output/{task_id}`).
 * A turn started by the gateway uses task_id = turn_id unless a seed client was given its own.
 * Audio on the bus is base64 inside JSON: 16-bit little-endian mono PCM ("pcm_s16le").
 * Imports nothing of the project but its siblings in src/shared.
 */
import { z } from 'zod';
import { ChatInputMeta } from './live-chat.js';
import { RecalledMemory, RecallInfo, Subject } from './long-term.js';
import { Envelope, newEventId } from './bus.js';
import { MicMuteEvent, SessionRoleEvent } from './session-api.js';

export * from './session-api.js';

/**
 * Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on one
 * machine (performance.timeOrigin + performance.now()). Used for every `marks` entry.
 */
/** Global in Node and browsers; declared here because src/shared compiles without either's types. */
declare const performance: { readonly timeOrigin: number; now(): number };

export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Timeline of one turn, carried forward from message to message so the benchmark and the logs see
 * every stage. Keys (all optional, epoch ms from nowMs()):
 *   input          the gateway accepted the input (upload complete, text received)
 *   speech_end     the end of the user's utterance (VAD end, or the end of an uploaded file)
 *   transcript     final transcript published by asr
 *   asr_engine_ms  (a duration) time the ASR engine itself spent on the utterance
 *   turn_start     dialog-engine started the turn
 *   context        memory published the context
 *   llm_request    chat-ai sent the request
 *   llm_first_token first token received
 *   sentence_0     first sentence complete (sent to tts)
 *   tts_start      tts took the first sentence
 *   tts_engine_ms  (a duration) engine time until the first chunk of the first sentence
 *   first_audio    tts published the first audio chunk
 *   delivered      output-handler published the first audio ClientEvent
 */
export const Marks = z.record(z.string(), z.number());
export type Marks = z.infer<typeof Marks>;

/**
 * Where a user input came from. `mic` is live speech; `upload` a recorded file (seed /ws/input, /api/asr).
 * `say` is not the user's at all: the control API's "say this" (POST /api/control/say). Its text is
 * the avatar's own line: memory keeps it as the assistant's, chat-ai speaks it verbatim (no LLM).
 */
export const InputSource = z.enum(['mic', 'upload', 'typed', 'chat', 'seed', 'say']);
export type InputSource = z.infer<typeof InputSource>;

/** Base of every pipeline message. */
export const TurnMessage = Envelope.extend({
  task_id: z.string().min(1),
  marks: Marks.default({}),
});
export type TurnMessage = z.infer<typeof TurnMessage>;

/** What a message adds to TurnMessage, per variant of a union. */
export type Body<T> = T extends unknown ? Omit<T, keyof TurnMessage> : never;

/** The envelope of a message caused by `parent`: its session, turn and task, a new event id. */
export function follow(parent: TurnMessage, marks: Marks = parent.marks): TurnMessage {
  return {
    session_id: parent.session_id,
    turn_id: parent.turn_id,
    task_id: parent.task_id,
    event_id: newEventId(),
    parent_id: parent.event_id,
    ts: Date.now(),
    marks: { ...marks },
  };
}

/** Error codes shared by services and clients. */
export const ErrorCodes = {
  audioEmpty: 'audio_empty',
  audioCorrupt: 'audio_corrupt',
  audioSilent: 'audio_silent',
  audioTooLarge: 'audio_too_large',
  audioTooLong: 'audio_too_long',
  audioUnsupported: 'audio_unsupported',
  asrFailed: 'asr_failed',
  asrUnavailable: 'asr_unavailable',
  llmUnreachable: 'llm_unreachable',
  llmAuth: 'llm_auth',
  llmTimeout: 'llm_timeout',
  llmBadStream: 'llm_bad_stream',
  llmFailed: 'llm_failed',
  ttsFailed: 'tts_failed',
  ttsUnavailable: 'tts_unavailable',
  workerLost: 'worker_lost',
  textEmpty: 'text_empty',
  textTooLong: 'text_too_long',
  busy: 'busy',
  badCommand: 'bad_command',
  micNotStarted: 'mic_not_started',
  busUnavailable: 'bus_unavailable',
  /** A view socket sent a command (it may only claim_audio). */
  readOnly: 'read_only',
  /** playback_done from a socket that is not the session's audio socket. */
  notAudioSocket: 'not_audio_socket',
  /** The input-handler could not process an input for a reason that is ours, not the file's. */
  inputFailed: 'input_failed',
} as const;
export const ErrorCode = z.enum(ErrorCodes);
export type ErrorCode = z.infer<typeof ErrorCode>;

// ---------------------------------------------------------------------------------------------
// Input

/** `fav:input` (gateway -> input-handler): one upload or typed text to normalise. */
export const InputTask = TurnMessage.extend({
  type: z.enum(['text', 'audio']),
  source: InputSource,
  /** For type text. */
  text: z.string().optional(),
  /** For type audio: the uploaded file (WAV, WebM/Opus, Ogg/Opus, MP3) or raw PCM, base64. */
  audio_b64: z.string().optional(),
  /** MIME type of the audio as given by the client (`audio/webm`, `audio/wav`, `audio/pcm;rate=16000`). */
  content_type: z.string().optional(),
  /** Author of a chat message (live chat), shown and remembered. */
  author: z.string().optional(),
});
export type InputTask = z.infer<typeof InputTask>;

/** `asr_tasks` (input-handler -> asr): one utterance, already normalised to 16 kHz mono s16le. */
export const AsrTask = TurnMessage.extend({
  source: InputSource,
  pcm_b64: z.string(),
  sample_rate: z.literal(16000),
  duration_ms: z.number().nonnegative(),
  /** Language hint ('' = auto). */
  language: z.string().optional(),
});
export type AsrTask = z.infer<typeof AsrTask>;

/**
 * `asr_results` (asr, for the seed's tools): a final transcript (partials go to fav:events). The
 * pipeline gets the same transcript as a UserInput on fav:dialog:inputs, or an error TurnEvent.
 */
export const AsrResult = TurnMessage.extend({
  source: InputSource,
  text: z.string(),
  engine: z.string(),
  language: z.string().optional(),
  /** Set when recognition failed; text is then ''. */
  error: z.string().optional(),
});
export type AsrResult = z.infer<typeof AsrResult>;

/** `fav:mic` (gateway -> asr): live microphone audio of a session, in order per session. */
export const MicFrame = z.object({
  session_id: z.string().min(1),
  /** Frame counter per session, from 0 at mic start. */
  seq: z.number().int().nonnegative(),
  ts: z.number(),
  /** 'start' opens a stream (resets VAD), 'audio' carries PCM, 'end' flushes and closes it. */
  kind: z.enum(['start', 'audio', 'end']),
  pcm_b64: z.string().optional(),
  sample_rate: z.literal(16000).default(16000),
  language: z.string().optional(),
});
export type MicFrame = z.infer<typeof MicFrame>;

/**
 * One normalised user input: on `fav:dialog:inputs` (input-handler, asr -> dialog-engine), and on
 * `user_input_queue` (dialog-engine -> memory) once its turn starts (marks.turn_start set).
 */
export const UserInput = TurnMessage.extend({
  source: InputSource,
  text: z.string().min(1),
  author: z.string().optional(),
  /** Source 'chat': the live-chat messages this turn answers (live-chat.ts). */
  chat: ChatInputMeta.optional(),
});
export type UserInput = z.infer<typeof UserInput>;

// ---------------------------------------------------------------------------------------------
// Memory and thinking

export const ChatMessage = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** `memory_updates` (memory -> chat-ai): the context for one turn, ready for the LLM. */
export const MemoryContext = TurnMessage.extend({
  source: InputSource,
  /** The user's text of this turn (also the last `messages` entry). */
  text: z.string(),
  /** History window, oldest first, ending with this turn's user message. No system prompt. */
  messages: z.array(ChatMessage),
  /** Summary of turns older than the window, if any. */
  summary: z.string().optional(),
  /**
   * Long-term memories recalled for this turn, best first. chat-ai quotes them in the prompt as
   * data in a marked section, never as instructions.
   */
  memories: z.array(RecalledMemory).default([]),
  /** How the recall went (status, time, engine): shown in the manager. Absent for a say turn. */
  recall: RecallInfo.optional(),
});
export type MemoryContext = z.infer<typeof MemoryContext>;

/** `fav:ltm:recall` (memory -> long-term-memory). The answer goes to Channels.ltmRecallReply(request_id). */
export const RecallRequest = z.object({
  request_id: z.string().min(1),
  session_id: z.string().min(1),
  query: z.string(),
  k: z.number().int().positive().max(50).default(5),
  /** Whose memories (the active persona's name). */
  persona: z.string().min(1),
  /** The subjects that may be recalled: long-term.ts recallScope(speaker). */
  scope: z.array(Subject).min(1),
  ts: z.number(),
});
export type RecallRequest = z.infer<typeof RecallRequest>;

export const RecallReply = z.object({
  request_id: z.string().min(1),
  items: z.array(RecalledMemory),
  /** vector: hybrid (KNN + keyword, fused); keyword: keyword only (see long-term.ts RecallStatus). */
  mode: z.enum(['vector', 'keyword']),
  took_ms: z.number().nonnegative(),
  /** Of took_ms: embedding the query. */
  embed_ms: z.number().nonnegative().optional(),
  /** The embedder's id, when one is in use. */
  engine: z.string().optional(),
});
export type RecallReply = z.infer<typeof RecallReply>;

/**
 * `fav:ltm:writes` stream entries (field `msg`) of an older version: a raw line to keep. No longer
 * written (memory writes `LtmTurn` to fav:ltm:turns); long-term-memory drains what is left.
 */
export const LtmWrite = z.object({
  session_id: z.string().min(1),
  turn_id: z.string().optional(),
  text: z.string().min(1),
  kind: z.enum(['user', 'assistant', 'fact', 'summary']).default('fact'),
  ts: z.number(),
});
export type LtmWrite = z.infer<typeof LtmWrite>;

/** Emotions the persona may tag (`[joy]`); anything else in brackets stays in the text. */
export const EMOTIONS = ['neutral', 'joy', 'sad', 'angry', 'surprised', 'fear', 'disgust', 'shy', 'thinking'] as const;
export const Emotion = z.enum(EMOTIONS);
export type Emotion = z.infer<typeof Emotion>;

/**
 * `ai_responses` (chat-ai -> output-handler):
 *   delta     streamed reply text (spoken text: emotion tags removed)
 *   sentence  one complete sentence, `index` from 0, as sent to tts
 *   done      the reply is complete: `text` is the whole spoken reply, `sentences` its count
 *   cancelled the turn was cancelled; `text` is what had been produced
 * A failure is reported once, as a TurnEvent error (stage llm) on fav:events.
 */
export const AiResponse = z.discriminatedUnion('kind', [
  TurnMessage.extend({ kind: z.literal('delta'), text: z.string() }),
  TurnMessage.extend({ kind: z.literal('sentence'), text: z.string(), index: z.number().int().nonnegative(), emotion: Emotion.optional() }),
  TurnMessage.extend({ kind: z.literal('done'), text: z.string(), sentences: z.number().int().nonnegative() }),
  TurnMessage.extend({ kind: z.literal('cancelled'), text: z.string() }),
]);
export type AiResponse = z.infer<typeof AiResponse>;

/**
 * `fav:memory:replies` (chat-ai -> memory): how a reply ended, once per turn. `text` is the whole
 * spoken reply (done) or what had been produced (cancelled, error); `code` says why it failed.
 */
export const ReplyFinal = TurnMessage.extend({
  status: z.enum(['done', 'cancelled', 'error']),
  text: z.string(),
  sentences: z.number().int().nonnegative(),
  code: ErrorCode.optional(),
});
export type ReplyFinal = z.infer<typeof ReplyFinal>;

/**
 * `tts_requests` (chat-ai -> tts): one sentence to speak. The turn's last request has `last: true`;
 * when the reply ended on a sentence boundary that request is an end marker with empty text.
 */
export const TtsRequest = TurnMessage.extend({
  text: z.string(),
  /** Sentence index within the turn, from 0 (the end marker takes the next index). */
  index: z.number().int().nonnegative(),
  last: z.boolean().default(false),
  emotion: Emotion.optional(),
});
export type TtsRequest = z.infer<typeof TtsRequest>;

/** A viseme (mouth shape) at a time offset within a chunk's sentence audio. */
export const Viseme = z.object({
  /** Offset from the start of the sentence's audio, ms. */
  t_ms: z.number().nonnegative(),
  /** Mouth shape: 'sil', 'A', 'I', 'U', 'E', 'O', 'M' (closed lips), 'F' (lip-teeth), 'T' (tongue). */
  v: z.string(),
  /** Phone it came from, when the engine gives phones. */
  phone: z.string().optional(),
});
export type Viseme = z.infer<typeof Viseme>;

/**
 * `task_response:{task_id}` (tts -> output-handler):
 *   audio    one chunk of a sentence: PCM s16le mono at sample_rate; `chunk` counts within the
 *            sentence from 0; `envelope` is the RMS loudness per 20 ms frame in [0, 1] (lip sync);
 *            `visemes` where the engine gives timings; `final` marks the sentence's last chunk
 *   error    the engine failed on this sentence (the turn goes on with the next one); the failure's
 *            only report: output-handler skips the sentence and tells clients
 *   end      every sentence of the turn is done (after the request with `last`); `index` = the
 *            number of sentences, `audio_ms` = total audio duration published for the turn
 */
export const TtsAudio = TurnMessage.extend({
  kind: z.literal('audio'),
  index: z.number().int().nonnegative(),
  chunk: z.number().int().nonnegative(),
  final: z.boolean(),
  /** The sentence's text, on its first chunk. */
  text: z.string().optional(),
  /** Without audio (a sentence with nothing to pronounce) the chunk only moves the order on. */
  pcm_b64: z.string().optional(),
  sample_rate: z.number().int().positive().optional(),
  audio_ms: z.number().nonnegative().optional(),
  envelope: z.array(z.number()).default([]),
  visemes: z.array(Viseme).default([]),
  engine: z.string().optional(),
});
export type TtsAudio = z.infer<typeof TtsAudio>;
export const TtsChunk = z.discriminatedUnion('kind', [
  TtsAudio,
  TurnMessage.extend({ kind: z.literal('error'), index: z.number().int().nonnegative(), code: ErrorCode, error: z.string(), engine: z.string().optional() }),
  TurnMessage.extend({ kind: z.literal('end'), index: z.number().int().nonnegative(), audio_ms: z.number().nonnegative(), engine: z.string().optional() }),
]);
export type TtsChunk = z.infer<typeof TtsChunk>;

/** Frame length of `TtsChunk.envelope`, ms. */
export const ENVELOPE_FRAME_MS = 20;

// ---------------------------------------------------------------------------------------------
// Turn events and control

export const TurnState = z.enum(['idle', 'listening', 'thinking', 'speaking']);
export type TurnState = z.infer<typeof TurnState>;

/**
 * Why a turn ended. `merged`: the input never got a turn of its own, it was folded into a waiting
 * input of the same source (dialog.typedPolicy / chatPolicy `merge`); `merged_into` names that turn.
 */
export const TurnEndReason = z.enum(['done', 'cancelled', 'error', 'merged']);
export type TurnEndReason = z.infer<typeof TurnEndReason>;

/** Pipeline stages, for errors. */
export const Stage = z.enum(['gateway', 'input', 'asr', 'dialog', 'memory', 'llm', 'tts', 'output']);
export type Stage = z.infer<typeof Stage>;

/**
 * `fav:events` (any service -> dialog-engine, output-handler, memory). turn_id may be '-' for events
 * that belong to no turn yet (speech_start before the utterance has one). `source` names the input
 * the turn came from, where the publisher knows it.
 *   speech_start / speech_end   VAD on the live mic (asr); drives barge-in and 'listening'
 *   transcript                  partial (final=false) or final transcript (asr)
 *   turn_state                  the session's state (dialog-engine only)
 *   emotion                     an emotion tag from the reply (chat-ai)
 *   error                       a stage failed for this turn: `stage`, `code`, `message`
 *   turn_end                    the turn is over: `reason` done | cancelled | error | merged (dialog-engine)
 *   audio_start                 tts published the turn's first audio chunk (tts)
 *   tts_done                    tts finished every sentence of the turn (`sentences`, `audio_ms`)
 *   playback_done               a client finished playing the turn's audio (gateway)
 */
const EventBase = TurnMessage.extend({ source: InputSource.optional() });
export const TurnEvent = z.discriminatedUnion('kind', [
  EventBase.extend({ kind: z.literal('speech_start') }),
  EventBase.extend({ kind: z.literal('speech_end'), audio_ms: z.number().nonnegative() }),
  EventBase.extend({ kind: z.literal('transcript'), text: z.string(), final: z.boolean() }),
  EventBase.extend({ kind: z.literal('turn_state'), state: TurnState }),
  EventBase.extend({ kind: z.literal('emotion'), emotion: Emotion }),
  EventBase.extend({ kind: z.literal('error'), stage: Stage, code: ErrorCode, message: z.string() }),
  EventBase.extend({
    kind: z.literal('turn_end'),
    reason: TurnEndReason,
    message: z.string().optional(),
    /** reason `merged`: the turn this input was folded into (it answers this input too). */
    merged_into: z.string().optional(),
  }),
  EventBase.extend({ kind: z.literal('audio_start') }),
  EventBase.extend({ kind: z.literal('tts_done'), sentences: z.number().int().nonnegative(), audio_ms: z.number().nonnegative() }),
  EventBase.extend({ kind: z.literal('playback_done') }),
]);
export type TurnEvent = z.infer<typeof TurnEvent>;
export type TurnEventOf<K extends TurnEvent['kind']> = Extract<TurnEvent, { kind: K }>;

// ---------------------------------------------------------------------------------------------
// Delivery to clients

/** What an audio chunk sent to clients says about itself: for the player (with PCM) and for a view (lip sync only). */
const AudioChunkInfo = z.object({
  session_id: z.string(),
  turn_id: z.string(),
  task_id: z.string(),
  /** Order of this chunk within the turn, from 0, gap-free. */
  seq: z.number().int().nonnegative(),
  index: z.number().int().nonnegative(),
  chunk: z.number().int().nonnegative(),
  envelope: z.array(z.number()),
  envelope_frame_ms: z.number().positive(),
  visemes: z.array(Viseme),
  text: z.string().optional(),
});

/**
 * `fav:deliver` (output-handler -> gateway) and the studio session WebSocket's downstream JSON.
 * Per turn, in order: turn_state/transcript..., reply_delta*, audio* (interleaved with deltas),
 * reply_done, audio_end, turn_end. After a cancel: `stop`, then nothing more of that turn.
 * On the session WebSocket an `audio` event is one JSON text frame (without `pcm_b64`) followed by
 * one binary frame with the PCM bytes, for the session's audio socket only; the other sockets get
 * `audio_timing` instead (session-api.ts has the roles). `session_role` and `error` events of stage
 * 'gateway' come from the gateway itself, to one socket.
 */
export const ClientEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('turn_state'), session_id: z.string(), turn_id: z.string(), state: TurnState }),
  z.object({
    type: z.literal('transcript'),
    session_id: z.string(),
    turn_id: z.string(),
    task_id: z.string(),
    text: z.string(),
    final: z.boolean(),
    marks: Marks.optional(),
  }),
  z.object({ type: z.literal('reply_delta'), session_id: z.string(), turn_id: z.string(), task_id: z.string(), text: z.string() }),
  z.object({ type: z.literal('reply_done'), session_id: z.string(), turn_id: z.string(), task_id: z.string(), text: z.string(), marks: Marks.optional() }),
  z.object({ type: z.literal('emotion'), session_id: z.string(), turn_id: z.string(), emotion: Emotion }),
  AudioChunkInfo.extend({
    type: z.literal('audio'),
    format: z.literal('pcm_s16le'),
    sample_rate: z.number().int().positive(),
    pcm_b64: z.string().optional(),
  }),
  /**
   * What a view socket gets instead of an `audio` event: the same chunk's lip-sync data without the
   * PCM. `duration_ms` is the chunk's length; chunks of a turn play back to back in `seq` order.
   */
  AudioChunkInfo.extend({ type: z.literal('audio_timing'), duration_ms: z.number().nonnegative() }),
  SessionRoleEvent,
  MicMuteEvent,
  z.object({ type: z.literal('audio_end'), session_id: z.string(), turn_id: z.string(), task_id: z.string(), chunks: z.number().int().nonnegative() }),
  z.object({ type: z.literal('stop'), session_id: z.string(), turn_id: z.string(), task_id: z.string().optional(), reason: z.string() }),
  z.object({
    type: z.literal('turn_end'),
    session_id: z.string(),
    turn_id: z.string(),
    task_id: z.string(),
    reason: TurnEndReason,
    merged_into: z.string().optional(),
    marks: Marks.optional(),
  }),
  z.object({
    type: z.literal('error'),
    session_id: z.string(),
    turn_id: z.string().optional(),
    task_id: z.string().optional(),
    stage: Stage,
    code: z.string(),
    message: z.string(),
  }),
]);
export type ClientEvent = z.infer<typeof ClientEvent>;

