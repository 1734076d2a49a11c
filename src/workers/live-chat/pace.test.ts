/** How the session's turn events become the arbiter's mic and turn flags (fake timers). */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newEventId } from '../../shared/bus.js';
import type { TurnEvent, TurnState } from '../../shared/voice.js';
import { Pace } from './pace.js';

let calls: string[];
let pace: Pace;
let changes: number;

const ev = (kind: TurnEvent['kind'], extra: Record<string, unknown> = {}, session = 'live'): TurnEvent =>
  ({ session_id: session, turn_id: '-', task_id: '-', event_id: newEventId(), ts: Date.now(), marks: {}, kind, ...extra }) as TurnEvent;
const state = (s: TurnState, session = 'live') => ev('turn_state', { state: s }, session);

beforeEach(() => {
  vi.useFakeTimers();
  calls = [];
  changes = 0;
  pace = new Pace(
    { setMicActive: (a) => void calls.push(`mic:${a}`), setTurnActive: (a) => void calls.push(`turn:${a}`) },
    { session: 'live', log: pino({ level: 'silent' }), onChange: () => void changes++, micHoldMs: 1000, pendingMaxMs: 5000 },
  );
});
afterEach(() => {
  pace.dispose();
  vi.useRealTimers();
});

describe('Pace', () => {
  it('the mic holds the floor from speech_start through listening, and lets go when the utterance becomes a turn', () => {
    pace.onEvent(ev('speech_start'));
    pace.onEvent(state('listening'));
    pace.onEvent(ev('speech_end', { audio_ms: 800 }));
    expect(calls).toEqual(['mic:true']);
    pace.onEvent(state('thinking'));
    expect(calls).toEqual(['mic:true', 'mic:false', 'turn:true']);
    pace.onEvent(state('speaking'));
    pace.onEvent(state('idle'));
    expect(calls).toEqual(['mic:true', 'mic:false', 'turn:true', 'turn:false']);
    expect(changes).toBe(3);
  });

  it('events of another session change nothing', () => {
    pace.onEvent(ev('speech_start', {}, 'other'));
    pace.onEvent(state('thinking', 'other'));
    expect(calls).toEqual([]);
    expect(changes).toBe(0);
  });

  it('a pushed chat turn is active at once and until its own turn_end, whatever turn_state says meanwhile', () => {
    pace.pending('chat-1');
    expect(calls).toEqual(['turn:true']);
    // An idle from the turn before ours must not open the floor.
    pace.onEvent(state('idle'));
    pace.onEvent(state('thinking'));
    pace.onEvent(state('idle'));
    expect(calls).toEqual(['turn:true']);
    pace.onEvent(ev('turn_end', { turn_id: 'other', reason: 'done' }));
    expect(pace.state.turn).toBe(true);
    pace.onEvent({ ...ev('turn_end', { reason: 'done' }), turn_id: 'chat-1' } as TurnEvent);
    expect(calls).toEqual(['turn:true', 'turn:false']);
  });

  it('a pushed chat turn the dialog engine refused (error busy, no turn_end) is no longer pending', () => {
    pace.pending('chat-2');
    pace.onEvent({ ...ev('error', { stage: 'dialog', code: 'llm_failed', message: 'x' }), turn_id: 'chat-2' } as TurnEvent);
    expect(pace.state.turn).toBe(true);
    pace.onEvent({ ...ev('error', { stage: 'dialog', code: 'busy', message: 'busy' }), turn_id: 'chat-2' } as TurnEvent);
    expect(calls).toEqual(['turn:true', 'turn:false']);
  });

  it('speech_end with no turn_state after it releases the mic after micHoldMs', () => {
    pace.onEvent(ev('speech_start'));
    pace.onEvent(ev('speech_end', { audio_ms: 500 }));
    vi.advanceTimersByTime(999);
    expect(pace.state.mic).toBe(true);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual(['mic:true', 'mic:false']);
  });

  it('a turn_state before micHoldMs cancels the release timer', () => {
    pace.onEvent(ev('speech_start'));
    pace.onEvent(ev('speech_end', { audio_ms: 500 }));
    pace.onEvent(state('listening'));
    vi.advanceTimersByTime(5000);
    expect(pace.state.mic).toBe(true);
  });

  it('a pending turn whose turn_end never comes is given up after pendingMaxMs', () => {
    pace.pending('lost');
    vi.advanceTimersByTime(4999);
    expect(pace.state).toMatchObject({ turn: true, pending: 'lost' });
    vi.advanceTimersByTime(1);
    expect(pace.state).toEqual({ mic: false, turn: false });
    expect(calls).toEqual(['turn:true', 'turn:false']);
  });
});
