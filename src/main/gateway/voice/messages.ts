/** The bus messages the gateway produces, built in one place so every endpoint fills them alike. */
import { randomUUID } from 'node:crypto';
import type { ControlEvent } from '../../../shared/bus.js';
import { ErrorCodes, nowMs, type ClientEvent, type InputSource, type InputTask, type MicFrame, type SessionRole, type SessionRoleEvent, type TurnEvent } from '../../../shared/voice.js';

/** Error codes of the gateway's own checks (a subset of the shared ErrorCodes). */
export const GatewayErrorCodes = {
  badCommand: ErrorCodes.badCommand,
  micNotStarted: ErrorCodes.micNotStarted,
  busUnavailable: ErrorCodes.busUnavailable,
  readOnly: ErrorCodes.readOnly,
  notAudioSocket: ErrorCodes.notAudioSocket,
} as const;

export function newTaskId(): string {
  return randomUUID();
}

interface InputFields {
  session_id: string;
  task_id: string;
  type: 'text' | 'audio';
  source: InputSource;
  text?: string;
  audio_b64?: string;
  content_type?: string;
  author?: string;
  /** Extra marks (speech_end for uploads). */
  marks?: Record<string, number>;
}

/** A turn the gateway starts: turn_id = task_id, stamped `marks.input` now. */
export function inputTask(f: InputFields): InputTask {
  const t = nowMs();
  const task: InputTask = {
    session_id: f.session_id,
    turn_id: f.task_id,
    task_id: f.task_id,
    event_id: randomUUID(),
    ts: Date.now(),
    marks: { input: t, ...f.marks },
    type: f.type,
    source: f.source,
  };
  if (f.text !== undefined) task.text = f.text;
  if (f.audio_b64 !== undefined) task.audio_b64 = f.audio_b64;
  if (f.content_type !== undefined) task.content_type = f.content_type;
  if (f.author !== undefined) task.author = f.author;
  return task;
}

export function micFrame(session_id: string, seq: number, kind: MicFrame['kind'], extra: { pcm_b64?: string; language?: string } = {}): MicFrame {
  return { session_id, seq, ts: Date.now(), kind, sample_rate: 16000, ...extra };
}

export function controlEvent(action: ControlEvent['action'], session_id: string, reason: string, turn_id?: string): ControlEvent {
  return { action, session_id, ts: Date.now(), reason, ...(turn_id ? { turn_id } : {}) };
}

export function playbackDone(session_id: string, turn_id: string, task_id: string): TurnEvent {
  return { session_id, turn_id, task_id, event_id: randomUUID(), ts: Date.now(), marks: {}, kind: 'playback_done' };
}

/** An error for one client socket (stage 'gateway'): sent to that socket only, never on the bus. */
export function gatewayError(session_id: string, code: string, message: string, turn_id?: string): ClientEvent {
  return { type: 'error', session_id, stage: 'gateway', code, message, ...(turn_id ? { turn_id, task_id: turn_id } : {}) };
}

/** A socket's role after its audio changed (to that socket only). */
export function roleNotice(session_id: string, role: SessionRole, audio: boolean, reason: string): SessionRoleEvent {
  return { type: 'session_role', session_id, role, audio, reason };
}
