/**
 * A dialog engine killed and started again: what the first one kept through DialogIo.track (its
 * turn in flight and the inputs waiting behind it) is what the second one recovers. I/O recorded in
 * memory, fake timers.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newEventId } from '../../shared/bus.js';
import { Bus } from '../../shared/contract.js';
import type { InputSource, TurnEvent, UserInput } from '../../shared/voice.js';
import { DialogEngine, type DialogIo, type KeptSession } from './engine.js';
import { DEFAULT_KNOBS } from './knobs.js';
import { parseKept } from './index.js';

const knobs = { ...DEFAULT_KNOBS, watchdogMs: 10_000, noiseMs: 500, listenMaxMs: 3000, playbackMarginMs: 100 };
const dialog = { bargeIn: true, typedPolicy: 'queue', chatPolicy: 'merge', maxQueue: 5 } as const;

let out: Array<{ to: string; msg: Record<string, unknown> }>;
/** What the engines kept, as the bus hash holds it (JSON per session). */
let kept: Map<string, string>;
let n = 0;

const input = (session: string, source: InputSource, text: string): UserInput => ({
  session_id: session,
  turn_id: `t${++n}`,
  task_id: `t${n}`,
  event_id: newEventId(),
  ts: Date.now(),
  marks: {},
  source,
  text,
});
const ev = (session: string, kind: TurnEvent['kind'], turn_id: string, extra: Record<string, unknown> = {}): TurnEvent =>
  ({ session_id: session, turn_id, task_id: turn_id, event_id: newEventId(), ts: Date.now(), marks: {}, kind, ...extra }) as TurnEvent;
const story = (session: string) =>
  out
    .filter((o) => o.msg.session_id === session && (o.to !== Bus.events.name || ['turn_state', 'turn_end', 'error'].includes(o.msg.kind as string)))
    .map((o) => (o.to === Bus.userInput.name ? `push:${o.msg.turn_id as string}` : o.to === Bus.control.name ? `cancel:${o.msg.turn_id as string}` : `${o.msg.kind as string}:${(o.msg.state ?? o.msg.reason ?? o.msg.code) as string}`));

const io: DialogIo = {
  log: pino({ level: 'silent' }),
  publish: (to, msg) => void out.push({ to: to.name, msg: msg as Record<string, unknown> }),
  push: async (to, msg) => void out.push({ to: to.name, msg: msg as Record<string, unknown> }),
  track: (session, state) => void (state ? kept.set(session, JSON.stringify(state)) : kept.delete(session)),
};
/** What the hash holds now. */
const recovered = (): KeptSession[] => [...kept.values()].map((json) => parseKept(json)!);
/** What a restarted worker takes off the hash (read and cleared at once, as index.ts does). */
const take = (): KeptSession[] => {
  const all = recovered();
  kept.clear();
  return all;
};

beforeEach(() => {
  vi.useFakeTimers();
  out = [];
  kept = new Map();
});
afterEach(() => vi.useRealTimers());

describe('a restarted DialogEngine', () => {
  it('keeps only what is in flight: a session with nothing active or waiting is not kept', async () => {
    const first = new DialogEngine(io, dialog, knobs);
    const a = input('s', 'typed', 'a');
    await first.onInput(a);
    expect(recovered()).toEqual([{ active: a, waiting: [] }]);
    first.onEvent(ev('s', 'tts_done', a.turn_id, { audio_ms: 0, sentences: 0 }));
    expect(kept.size).toBe(0);
    first.dispose();
  });

  it('ends the turn that was in flight (worker_lost, cancel, turn_end error, idle); a late event of it starts nothing', async () => {
    const first = new DialogEngine(io, dialog, knobs);
    const b = input('s', 'typed', 'b');
    await first.onInput(b);
    first.dispose(); // killed: b is still in flight
    out = [];
    const second = new DialogEngine(io, dialog, knobs);
    await second.recover(take());
    expect(story('s')).toEqual(['error:worker_lost', `cancel:${b.turn_id}`, 'turn_end:error', 'turn_state:idle']);
    expect(out.find((o) => o.msg.kind === 'error')!.msg.message).toContain('dialog-engine restarted');
    second.onEvent(ev('s', 'audio_start', b.turn_id));
    expect(second.snapshot('s')?.active).toBeUndefined();
    second.dispose();
  });

  it('takes the inputs that waited behind the lost turn in again, in order: the first runs, the rest wait', async () => {
    const first = new DialogEngine(io, dialog, knobs);
    const a = input('s', 'typed', 'a');
    const w1 = input('s', 'typed', 'waiting one');
    const w2 = input('s', 'typed', 'waiting two');
    const other = input('s2', 'typed', 'another session');
    for (const i of [a, w1, w2, other]) await first.onInput(i);
    expect(first.snapshot('s')).toMatchObject({ active: a.turn_id, waiting: ['waiting one', 'waiting two'] });
    first.dispose();
    out = [];

    const second = new DialogEngine(io, dialog, knobs);
    await second.recover(take());
    expect(story('s')).toEqual(['error:worker_lost', `cancel:${a.turn_id}`, 'turn_end:error', 'turn_state:idle', `push:${w1.turn_id}`, 'turn_state:thinking']);
    expect(story('s2')).toEqual(['error:worker_lost', `cancel:${other.turn_id}`, 'turn_end:error', 'turn_state:idle']);
    expect(second.snapshot('s')).toMatchObject({ active: w1.turn_id, waiting: ['waiting two'] });
    // Kept again by the new engine, and the queue goes on as before.
    expect(recovered()).toEqual([{ active: w1, waiting: [w2] }]);
    second.onEvent(ev('s', 'tts_done', w1.turn_id, { audio_ms: 0, sentences: 0 }));
    expect(second.snapshot('s')).toMatchObject({ active: w2.turn_id, waiting: [] });
    second.dispose();
  });

  it('a waiting input cancelled or cleared by stop is no longer kept', async () => {
    const first = new DialogEngine(io, dialog, knobs);
    const a = input('s', 'typed', 'a');
    const w1 = input('s', 'typed', 'w1');
    const w2 = input('s', 'typed', 'w2');
    for (const i of [a, w1, w2]) await first.onInput(i);
    first.onControl({ action: 'cancel', session_id: 's', turn_id: w1.turn_id, ts: Date.now() });
    expect(recovered()).toEqual([{ active: a, waiting: [w2] }]);
    first.onControl({ action: 'stop', session_id: 's', ts: Date.now() });
    expect(kept.size).toBe(0);
    first.dispose();
  });

  it('reads what an older engine kept (a bare UserInput: its turn in flight) and refuses garbage', () => {
    const a = input('s', 'typed', 'a');
    expect(parseKept(JSON.stringify(a))).toEqual({ active: a, waiting: [] });
    expect(parseKept('{not json')).toBeUndefined();
    expect(parseKept(JSON.stringify({ waiting: [{ text: 'no ids' }] }))).toBeUndefined();
  });
});
