/**
 * Which sentence the subtitles layer shows and when it clears (src/renderer/overlay/subtitle-state.ts),
 * driven by ClientEvents as a view socket receives them, on fake timers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientEvent } from '../../src/shared/voice.js';
import { SubtitleState, type SubtitleView } from '../../src/renderer/overlay/subtitle-state.js';
import { LEAD_S } from '../../src/renderer/voice/mouth-timeline.js';

const S = 'sub';
const LEAD_MS = LEAD_S * 1000;

const timing = (turn: string, seq: number, durationMs: number, text?: string): ClientEvent => ({
  type: 'audio_timing',
  session_id: S,
  turn_id: turn,
  task_id: turn,
  seq,
  index: seq,
  chunk: 0,
  envelope: [0.5],
  envelope_frame_ms: 20,
  visemes: [],
  duration_ms: durationMs,
  ...(text !== undefined ? { text } : {}),
});
const turnEnd = (turn: string): ClientEvent => ({ type: 'turn_end', session_id: S, turn_id: turn, task_id: turn, reason: 'done' });
const stop = (turn: string): ClientEvent => ({ type: 'stop', session_id: S, turn_id: turn, reason: 'user' });
const transcript = (turn: string, text: string, final = true): ClientEvent => ({ type: 'transcript', session_id: S, turn_id: turn, task_id: turn, text, final });
const replyDone = (turn: string, text: string): ClientEvent => ({ type: 'reply_done', session_id: S, turn_id: turn, task_id: turn, text });

let views: SubtitleView[];
let state: SubtitleState;

function make(fadeMs = 1000, question = false): SubtitleState {
  views = [];
  state = new SubtitleState(
    { fadeMs, question },
    { now: () => Date.now() / 1000, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) },
    (v) => views.push(v),
  );
  return state;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  state.dispose();
  vi.useRealTimers();
});

describe('SubtitleState', () => {
  it('shows each sentence when its audio starts, back to back, and clears fadeMs after the reply ended', () => {
    make(1000);
    state.handle(timing('t1', 0, 800, 'First sentence.'));
    state.handle(timing('t1', 1, 400)); // a later chunk of the same sentence: no text
    state.handle(timing('t1', 2, 600, 'Second one.'));
    expect(state.view).toEqual({});
    vi.advanceTimersByTime(LEAD_MS);
    expect(state.view).toEqual({ turnId: 't1', sentence: 'First sentence.' });
    vi.advanceTimersByTime(1199);
    expect(state.view.sentence).toBe('First sentence.');
    vi.advanceTimersByTime(1);
    expect(state.view).toEqual({ turnId: 't1', sentence: 'Second one.' });
    // turn_end arrives while the second sentence still plays (until LEAD + 1800 ms): the fade counts from its end.
    state.handle(turnEnd('t1'));
    vi.advanceTimersByTime(600 - 1 + 1000);
    expect(state.view.sentence).toBe('Second one.');
    vi.advanceTimersByTime(1);
    expect(state.view).toEqual({});
    expect(views.map((v) => v.sentence ?? null)).toEqual(['First sentence.', 'Second one.', null]);
  });

  it('a turn_end after the audio is over clears exactly fadeMs later', () => {
    make(2500);
    state.handle(timing('t1', 0, 300, 'Hi.'));
    vi.advanceTimersByTime(5000);
    state.handle(turnEnd('t1'));
    vi.advanceTimersByTime(2499);
    expect(state.view.sentence).toBe('Hi.');
    vi.advanceTimersByTime(1);
    expect(state.view).toEqual({});
  });

  it('a stop drops the sentences still to come and clears fadeMs later; nothing of that turn shows after', () => {
    make(500);
    state.handle(timing('t1', 0, 1000, 'One.'));
    state.handle(timing('t1', 1, 1000, 'Two.'));
    vi.advanceTimersByTime(LEAD_MS + 100);
    state.handle(stop('t1'));
    state.handle(timing('t1', 2, 1000, 'Late.')); // in flight when the stop came
    state.handle(turnEnd('t1'));
    vi.advanceTimersByTime(499);
    expect(state.view.sentence).toBe('One.');
    vi.advanceTimersByTime(1);
    expect(state.view).toEqual({});
    vi.advanceTimersByTime(10_000);
    expect(views.map((v) => v.sentence ?? null)).toEqual(['One.', null]);
  });

  it('a new turn replaces the text at once and its clear is not cancelled by the old one', () => {
    make(1000);
    state.handle(timing('t1', 0, 200, 'Old.'));
    vi.advanceTimersByTime(300);
    state.handle(turnEnd('t1'));
    vi.advanceTimersByTime(500);
    state.handle(timing('t2', 0, 5000, 'New.'));
    vi.advanceTimersByTime(LEAD_MS);
    expect(state.view).toEqual({ turnId: 't2', sentence: 'New.' });
    // t1's clear (due 500 ms ago + ...) must not remove t2's sentence.
    vi.advanceTimersByTime(2000);
    expect(state.view.sentence).toBe('New.');
  });

  it('with question on, the final transcript shows above the answer and clears with it; interim ones do not', () => {
    make(1000, true);
    state.handle(transcript('t1', 'what is', false));
    expect(state.view).toEqual({});
    state.handle(transcript('t1', 'What is your name?'));
    expect(state.view).toEqual({ turnId: 't1', question: 'What is your name?' });
    state.handle(timing('t1', 0, 100, 'I am Shizuku.'));
    vi.advanceTimersByTime(LEAD_MS);
    expect(state.view).toEqual({ turnId: 't1', question: 'What is your name?', sentence: 'I am Shizuku.' });
    state.handle(turnEnd('t1'));
    vi.advanceTimersByTime(1100);
    expect(state.view).toEqual({});
  });

  it('without question on, transcripts show nothing', () => {
    make(1000, false);
    state.handle(transcript('t1', 'What is your name?'));
    expect(views).toEqual([]);
  });

  it('a reply with no spoken sentence shows its text at turn_end, then clears', () => {
    make(1000);
    state.handle(replyDone('t1', 'Only text, no voice.'));
    state.handle(turnEnd('t1'));
    expect(state.view).toEqual({ turnId: 't1', sentence: 'Only text, no voice.' });
    vi.advanceTimersByTime(1000);
    expect(state.view).toEqual({});
  });
});
