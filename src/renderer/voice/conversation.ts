/**
 * The conversation as the panel shows it, built from the session's ClientEvents: user utterances
 * (partial then final transcripts, or typed text echoed at once), streamed replies, the turn state,
 * the current emotion and error alerts. Plain functions that mutate a plain state object, so the
 * panel can hand in a Vue `reactive()` proxy and tests can use a bare object. No DOM, no Vue.
 */
import type { Emotion, TurnState } from '../../shared/voice.js';
import type { NonAudioEvent } from './session.js';
import { errorMessage } from '../i18n/core.js';
import { STRINGS } from './strings.js';

export interface Entry {
  id: number;
  role: 'user' | 'assistant';
  text: string;
  /** user: the transcript is final (or typed); assistant: reply_done arrived. */
  final: boolean;
  turnId?: string;
  /** How a user entry came in. */
  source?: 'mic' | 'typed';
  status?: 'interrupted' | 'failed';
}

export type Severity = 'error' | 'warning' | 'info';

export interface Alert {
  id: number;
  title: string;
  message: string;
  /** The core's own (English) words, shown under a translated message. */
  detail?: string;
  code?: string;
  severity: Severity;
}

export interface ConversationState {
  entries: Entry[];
  turnState: TurnState;
  emotion: Emotion | undefined;
  alerts: Alert[];
  nextId: number;
}

export const MAX_ENTRIES = 200;
export const MAX_ALERTS = 4;

export function createConversation(): ConversationState {
  return { entries: [], turnState: 'idle', emotion: undefined, alerts: [], nextId: 1 };
}

function push(state: ConversationState, entry: Omit<Entry, 'id'>): Entry {
  state.entries.push({ id: state.nextId++, ...entry });
  if (state.entries.length > MAX_ENTRIES) state.entries.splice(0, state.entries.length - MAX_ENTRIES);
  return state.entries[state.entries.length - 1]!;
}

/** Scans back from the newest entry (a turn's entries are near the end). */
function findLast(state: ConversationState, pred: (e: Entry) => boolean): Entry | undefined {
  for (let i = state.entries.length - 1; i >= 0; i--) if (pred(state.entries[i]!)) return state.entries[i];
  return undefined;
}

const replyOf = (state: ConversationState, turnId: string) => findLast(state, (e) => e.role === 'assistant' && e.turnId === turnId);

/** The user's typed message, shown before the core answers. */
export function addTyped(state: ConversationState, text: string): void {
  push(state, { role: 'user', text, final: true, source: 'typed' });
}

export function addAlert(state: ConversationState, alert: Omit<Alert, 'id' | 'severity'> & { severity?: Severity }): void {
  const { code, ...rest } = alert;
  state.alerts.push({ id: state.nextId++, severity: 'error', ...rest, ...(code ? { code } : {}) });
  if (state.alerts.length > MAX_ALERTS) state.alerts.splice(0, state.alerts.length - MAX_ALERTS);
}

export function dismissAlert(state: ConversationState, id: number): void {
  const i = state.alerts.findIndex((a) => a.id === id);
  if (i >= 0) state.alerts.splice(i, 1);
}

function applyTranscript(state: ConversationState, turnId: string, text: string, final: boolean): void {
  const open = findLast(state, (e) => e.role === 'user' && e.source === 'mic' && !e.final);
  if (!final) {
    if (open) open.text = text;
    else push(state, { role: 'user', text, final: false, source: 'mic' });
    return;
  }
  const real = turnId && turnId !== '-' ? { turnId } : {};
  if (open) {
    Object.assign(open, { text, final: true }, real);
    return;
  }
  // A typed message comes back as the turn's final transcript: attach the turn, don't repeat it.
  const typed = findLast(state, (e) => e.role === 'user' && e.source === 'typed' && e.turnId === undefined && e.text === text);
  if (typed) Object.assign(typed, real);
  else if (!findLast(state, (e) => e.role === 'user' && e.turnId === turnId && turnId !== '-')) {
    push(state, { role: 'user', text, final: true, source: 'mic', ...real });
  }
}

export function applyEvent(state: ConversationState, ev: NonAudioEvent): void {
  switch (ev.type) {
    case 'turn_state':
      state.turnState = ev.state;
      return;
    case 'emotion':
      state.emotion = ev.emotion;
      return;
    case 'transcript':
      applyTranscript(state, ev.turn_id, ev.text, ev.final);
      return;
    case 'reply_delta': {
      const reply = replyOf(state, ev.turn_id);
      if (reply) reply.text += ev.text;
      else push(state, { role: 'assistant', text: ev.text, final: false, turnId: ev.turn_id });
      return;
    }
    case 'reply_done': {
      const reply = replyOf(state, ev.turn_id);
      if (reply) {
        if (ev.text) reply.text = ev.text;
        reply.final = true;
      } else if (ev.text) push(state, { role: 'assistant', text: ev.text, final: true, turnId: ev.turn_id });
      return;
    }
    case 'stop': {
      const reply = replyOf(state, ev.turn_id);
      if (reply) reply.status = 'interrupted';
      return;
    }
    case 'turn_end': {
      const reply = replyOf(state, ev.turn_id);
      if (reply && ev.reason === 'cancelled') reply.status = 'interrupted';
      else if (reply && ev.reason === 'error' && !reply.final) reply.status = 'failed';
      return;
    }
    case 'error': {
      const message = errorMessage(ev.code, ev.message);
      addAlert(state, { title: STRINGS.errorTitle(ev.stage), message, detail: message === ev.message ? undefined : ev.message, code: ev.code });
      const reply = ev.turn_id ? replyOf(state, ev.turn_id) : undefined;
      if (reply && !reply.final) reply.status = 'failed';
      return;
    }
    case 'audio_end':
    case 'audio_timing':
    case 'session_role':
      return;
  }
}
