/**
 * The control API's `say` inputs in the turn arbiter: scheduled like typed text (they wait while a
 * turn runs), but never dropped or merged by the typed policy, and a mic utterance still barges in.
 * The engine's I/O is recorded in memory, timers are fake (as in engine.test.ts).
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newEventId } from '../../shared/bus.js';
import { Bus } from '../../shared/contract.js';
import type { InputSource, TurnEvent, UserInput } from '../../shared/voice.js';
import { DialogEngine } from './engine.js';
import { DEFAULT_KNOBS, type DialogSettings } from './knobs.js';
import { policyFor } from './waiting.js';

const knobs = { ...DEFAULT_KNOBS, watchdogMs: 10_000, noiseMs: 500, listenMaxMs: 3000, playbackMarginMs: 100, maxSessions: 3 };
let out: Array<{ to: string; msg: Record<string, unknown> }>;
let engine: DialogEngine | undefined;
let n = 0;

const input = (source: InputSource, text: string): UserInput => ({ session_id: 's', turn_id: `t${++n}`, task_id: `t${n}`, event_id: newEventId(), ts: Date.now(), marks: {}, source, text });
const ev = (kind: TurnEvent['kind'], turn_id: string, extra: Record<string, unknown> = {}): TurnEvent =>
  ({ session_id: 's', turn_id, task_id: turn_id, event_id: newEventId(), ts: Date.now(), marks: {}, kind, ...extra }) as TurnEvent;
const pushed = () => out.filter((o) => o.to === Bus.userInput.name).map((o) => `${o.msg.source as string}:${o.msg.text as string}`);
const ends = () => out.filter((o) => o.to === Bus.events.name && o.msg.kind === 'turn_end').map((o) => `${o.msg.turn_id as string}:${o.msg.reason as string}`);
const errors = () => out.filter((o) => o.to === Bus.events.name && o.msg.kind === 'error').map((o) => o.msg.code);

function engineWith(settings: DialogSettings): DialogEngine {
  return new DialogEngine(
    {
      log: pino({ level: 'silent' }),
      publish: (to, msg) => void out.push({ to: to.name, msg: msg as Record<string, unknown> }),
      push: async (to, msg) => void out.push({ to: to.name, msg: msg as Record<string, unknown> }),
    },
    settings,
    knobs,
  );
}

beforeEach(() => {
  vi.useFakeTimers();
  out = [];
});
afterEach(() => {
  engine?.dispose();
  engine = undefined;
  vi.useRealTimers();
});

describe('DialogEngine: say', () => {
  it('a say always queues, whatever typedPolicy says', () => {
    expect(policyFor('say', { bargeIn: true, typedPolicy: 'drop', chatPolicy: 'drop', maxQueue: 5 })).toBe('queue');
    expect(policyFor('say', { bargeIn: true, typedPolicy: 'merge', chatPolicy: 'merge', maxQueue: 5 })).toBe('queue');
  });

  it('starts at once when idle; while busy it waits (typedPolicy drop drops typed, not say), each say its own turn, in order', async () => {
    const e = (engine = engineWith({ bargeIn: true, typedPolicy: 'drop', chatPolicy: 'merge', maxQueue: 5 }));
    const first = input('say', 'Hello everyone!');
    await e.onInput(first);
    expect(pushed()).toEqual(['say:Hello everyone!']);
    const a = input('say', 'Line one.');
    const typed = input('typed', 'a viewer question');
    const b = input('say', 'Line two.');
    await e.onInput(a);
    await e.onInput(typed);
    await e.onInput(b);
    expect(errors()).toEqual(['busy']); // the typed one only
    expect(e.snapshot('s')!.waiting).toEqual(['Line one.', 'Line two.']);
    e.onEvent(ev('playback_done', first.turn_id));
    e.onEvent(ev('playback_done', a.turn_id));
    expect(pushed()).toEqual(['say:Hello everyone!', 'say:Line one.', 'say:Line two.']);
    expect(ends()).toEqual([`${first.turn_id}:done`, `${a.turn_id}:done`]);
  });

  it('a mic utterance barges in over a say like over any reply', async () => {
    const e = (engine = engineWith({ bargeIn: true, typedPolicy: 'queue', chatPolicy: 'merge', maxQueue: 5 }));
    const s = input('say', 'A long announcement.');
    await e.onInput(s);
    e.onEvent(ev('speech_start', '-'));
    expect(out.some((o) => o.to === Bus.control.name && o.msg.turn_id === s.turn_id && o.msg.action === 'cancel')).toBe(true);
    expect(ends()).toEqual([`${s.turn_id}:cancelled`]);
  });

  it('skip (a cancel per waiting turn) drops the waiting says and leaves the one playing', async () => {
    const e = (engine = engineWith({ bargeIn: true, typedPolicy: 'queue', chatPolicy: 'merge', maxQueue: 5 }));
    const playing = input('say', 'Now.');
    const w1 = input('say', 'Later 1.');
    const w2 = input('typed', 'later 2');
    for (const i of [playing, w1, w2]) await e.onInput(i);
    for (const w of [w1, w2]) e.onControl({ action: 'cancel', session_id: 's', turn_id: w.turn_id, ts: Date.now(), reason: 'skip' });
    expect(e.snapshot('s')).toMatchObject({ active: playing.turn_id, waiting: [] });
    expect(ends()).toEqual([`${w1.turn_id}:cancelled`, `${w2.turn_id}:cancelled`]);
  });
});
