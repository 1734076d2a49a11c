/**
 * Edge cases of the turn state machine, with the engine's I/O recorded in memory and fake timers
 * (the worker-level behaviour on a real bus is in test/workers/dialog-engine).
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newEventId, type ControlEvent, type StatusEvent } from '../../shared/bus.js';
import { Bus } from '../../shared/contract.js';
import type { InputSource, TurnEvent, UserInput } from '../../shared/voice.js';
import { DialogEngine } from './engine.js';
import { ConfigSchema } from '../../shared/config.js';
import { DEFAULT_KNOBS, knobsOf } from './knobs.js';

const knobs = { ...DEFAULT_KNOBS, watchdogMs: 10_000, noiseMs: 500, listenMaxMs: 3000, playbackMarginMs: 100, maxSessions: 3 };
const dialog = { bargeIn: true, typedPolicy: 'queue', chatPolicy: 'merge', maxQueue: 5 } as const;

let out: Array<{ to: string; msg: Record<string, unknown> }>;
let engine: DialogEngine;
let n = 0;

const input = (source: InputSource, text: string, extra: Partial<UserInput> = {}): UserInput => ({
  session_id: 's',
  turn_id: `t${++n}`,
  task_id: `t${n}`,
  event_id: newEventId(),
  ts: Date.now(),
  marks: {},
  source,
  text,
  ...extra,
});
// Only the fields a test names: the engine reads nothing else of an event.
const ev = (kind: TurnEvent['kind'], turn_id = '-', extra: Record<string, unknown> = {}): TurnEvent =>
  ({ session_id: 's', turn_id, task_id: turn_id, event_id: newEventId(), ts: Date.now(), marks: {}, kind, ...extra }) as TurnEvent;
const story = () =>
  out
    .filter((o) => o.to !== Bus.events.name || ['turn_state', 'turn_end', 'error'].includes(o.msg.kind as string))
    .map((o) => (o.to === Bus.userInput.name ? `push:${o.msg.turn_id as string}` : o.to === Bus.control.name ? `cancel:${o.msg.turn_id as string}` : `${o.msg.kind as string}:${(o.msg.state ?? o.msg.reason ?? o.msg.code) as string}`));

beforeEach(() => {
  vi.useFakeTimers();
  out = [];
  engine = new DialogEngine(
    {
      log: pino({ level: 'silent' }),
      publish: (to, msg) => void out.push({ to: to.name, msg: msg as Record<string, unknown> }),
      push: async (to, msg) => void out.push({ to: to.name, msg: msg as Record<string, unknown> }),
    },
    dialog,
    knobs,
  );
});
afterEach(() => {
  engine.dispose();
  vi.useRealTimers();
});

describe('DialogEngine', () => {
  it('listening with no speech_end gives up after listenMaxMs', () => {
    engine.onEvent(ev('speech_start'));
    vi.advanceTimersByTime(2999);
    expect(engine.snapshot('s')!.state).toBe('listening');
    vi.advanceTimersByTime(1);
    expect(engine.snapshot('s')!.state).toBe('idle');
  });

  it('an empty final transcript is noise (idle at once); a non-empty one waits for its input', () => {
    engine.onEvent(ev('speech_start'));
    engine.onEvent(ev('speech_end'));
    engine.onEvent(ev('transcript', 'u1', { final: true, text: '' }));
    expect(engine.snapshot('s')!.state).toBe('idle');
    engine.onEvent(ev('speech_start'));
    engine.onEvent(ev('speech_end'));
    vi.advanceTimersByTime(400);
    engine.onEvent(ev('transcript', 'u2', { final: true, text: 'hello' }));
    vi.advanceTimersByTime(400); // 800 ms after speech_end, 400 after the transcript
    expect(engine.snapshot('s')!.state).toBe('listening');
    vi.advanceTimersByTime(100);
    expect(engine.snapshot('s')!.state).toBe('idle');
  });

  it('typed input while the user speaks waits, and starts when the utterance turns out to be noise (asr error)', async () => {
    engine.onEvent(ev('speech_start'));
    const typed = input('typed', 'while you talk');
    await engine.onInput(typed);
    expect(engine.snapshot('s')!.waiting).toEqual(['while you talk']);
    engine.onEvent(ev('speech_end'));
    engine.onEvent(ev('error', 'u1', { stage: 'asr', code: 'audio_silent' }));
    expect(engine.snapshot('s')).toMatchObject({ state: 'thinking', active: typed.turn_id });
    // Straight from listening into the waiting input's turn.
    expect(story()).toEqual(['turn_state:listening', `push:${typed.turn_id}`, 'turn_state:thinking']);
  });

  it('tts_done with no audio ends the turn at once; with audio, after audio_ms + margin from audio_start', async () => {
    const a = input('typed', 'a');
    await engine.onInput(a);
    engine.onEvent(ev('tts_done', a.turn_id, { audio_ms: 0, sentences: 0 }));
    expect(engine.snapshot('s')!.state).toBe('idle');
    const b = input('typed', 'b');
    await engine.onInput(b);
    engine.onEvent(ev('audio_start', b.turn_id));
    vi.advanceTimersByTime(1000);
    engine.onEvent(ev('tts_done', b.turn_id, { audio_ms: 2000 }));
    vi.advanceTimersByTime(1099);
    expect(engine.snapshot('s')!.state).toBe('speaking');
    vi.advanceTimersByTime(1);
    expect(engine.snapshot('s')!.state).toBe('idle');
  });

  it('a turn holder (output-handler) ready again ends the turns that started before it: error worker_lost, cancel, turn_end error, the next input runs', async () => {
    const status = (service: string, state: 'ready' | 'starting' | 'heartbeat'): StatusEvent => ({ service, instance: `${service}@h#0`, pid: 1, state, ts: Date.now() });
    const a = input('typed', 'a');
    await engine.onInput(a);
    const b = input('typed', 'b');
    await engine.onInput(b); // waits behind a
    vi.advanceTimersByTime(10);
    // Services that recover their work from queues (chat-ai included: it ends a turn it lost
    // itself, see chat-ai's index), and other lifecycle states, end nothing.
    engine.onServiceStatus(status('tts', 'ready'));
    engine.onServiceStatus(status('chat-ai', 'ready'));
    engine.onServiceStatus(status('output-handler', 'starting'));
    engine.onServiceStatus(status('output-handler', 'heartbeat'));
    expect(engine.snapshot('s')).toMatchObject({ state: 'thinking', active: a.turn_id });
    engine.onServiceStatus(status('output-handler', 'ready'));
    expect(out.find((o) => o.msg.kind === 'error')?.msg).toMatchObject({ turn_id: a.turn_id, stage: 'dialog', code: 'worker_lost', message: expect.stringContaining('output-handler restarted') });
    expect(story()).toEqual([`push:${a.turn_id}`, 'turn_state:thinking', 'error:worker_lost', `cancel:${a.turn_id}`, 'turn_end:error', `push:${b.turn_id}`, 'turn_state:thinking']);
    // The waiting input b runs as the next turn.
    expect(engine.snapshot('s')).toMatchObject({ state: 'thinking', active: b.turn_id });
    // A ready published before b started (an old event arriving late) leaves b alone.
    engine.onServiceStatus({ ...status('output-handler', 'ready'), ts: Date.now() - 1 });
    expect(engine.snapshot('s')).toMatchObject({ state: 'thinking', active: b.turn_id });
    vi.advanceTimersByTime(5);
    engine.onServiceStatus(status('output-handler', 'ready'));
    expect(engine.snapshot('s')!.state).toBe('idle');
    expect(out.filter((o) => o.msg.kind === 'turn_end').map((o) => [o.msg.turn_id, o.msg.reason])).toEqual([
      [a.turn_id, 'error'],
      [b.turn_id, 'error'],
    ]);
  });

  it('events of other turns do not move the active one', async () => {
    const a = input('typed', 'a');
    await engine.onInput(a);
    engine.onEvent(ev('audio_start', 'other'));
    engine.onEvent(ev('playback_done', 'other'));
    engine.onEvent(ev('error', 'other', { stage: 'llm', code: 'llm_failed' }));
    expect(engine.snapshot('s')).toMatchObject({ state: 'thinking', active: a.turn_id });
  });

  it('after a stop, inputs created before it are dropped; later ones run', async () => {
    const before = input('typed', 'before', { marks: { input: Date.now() - 50 } });
    engine.onControl({ action: 'stop', session_id: 's', ts: Date.now() } satisfies ControlEvent);
    await engine.onInput(before);
    expect(story()).toEqual(['turn_end:cancelled']);
    vi.advanceTimersByTime(5);
    const after = input('typed', 'after', { marks: { input: Date.now() } });
    await engine.onInput(after);
    expect(engine.snapshot('s')!.active).toBe(after.turn_id);
  });

  it('the watchdog does not fire once the end is scheduled (tts_done)', async () => {
    const a = input('typed', 'a');
    await engine.onInput(a);
    engine.onEvent(ev('audio_start', a.turn_id));
    engine.onEvent(ev('tts_done', a.turn_id, { audio_ms: 20_000 }));
    vi.advanceTimersByTime(15_000);
    expect(story().filter((s) => s.startsWith('error'))).toEqual([]);
    vi.advanceTimersByTime(6000);
    expect(story().at(-1)).toBe('turn_state:idle');
    expect(story()).toContain('turn_end:done');
  });

  it('a typed input merged into a waiting one ends its own turn at once (merged, naming the turn), and the merged turn runs', async () => {
    const merging = new DialogEngine(
      {
        log: pino({ level: 'silent' }),
        publish: (to, msg) => void out.push({ to: to.name, msg: msg as Record<string, unknown> }),
        push: async (to, msg) => void out.push({ to: to.name, msg: msg as Record<string, unknown> }),
      },
      { ...dialog, typedPolicy: 'merge' },
      knobs,
    );
    try {
      const a = input('typed', 'first');
      const b = input('typed', 'second', { task_id: 'seed-task-b', marks: { input: 5 } });
      const c = input('typed', 'third');
      await merging.onInput(a);
      await merging.onInput(b); // waits: a is running
      await merging.onInput(c); // folded into b
      const ended = out.filter((o) => o.msg.kind === 'turn_end');
      expect(ended.map((o) => o.msg)).toEqual([expect.objectContaining({ session_id: 's', turn_id: c.turn_id, task_id: c.task_id, reason: 'merged', merged_into: b.turn_id, source: 'typed' })]);
      expect(ended[0]!.to).toBe(Bus.events.name);
      expect(merging.snapshot('s')!.waiting).toEqual(['second\nthird']);
      // a ends; the merged input starts as b's turn, with b's ids, and c never gets a turn.
      merging.onEvent(ev('playback_done', a.turn_id));
      expect(merging.snapshot('s')).toMatchObject({ state: 'thinking', active: b.turn_id });
      const pushed = out.filter((o) => o.to === Bus.userInput.name).map((o) => [o.msg.turn_id, o.msg.task_id, o.msg.text]);
      expect(pushed).toEqual([
        [a.turn_id, a.task_id, 'first'],
        [b.turn_id, 'seed-task-b', 'second\nthird'],
      ]);
      // Nothing more for c, even when the watchdog of b's turn runs out.
      vi.advanceTimersByTime(knobs.watchdogMs);
      expect(out.filter((o) => o.msg.turn_id === c.turn_id)).toHaveLength(1);
      expect(out.filter((o) => o.msg.kind === 'turn_end').map((o) => [o.msg.turn_id, o.msg.reason])).toEqual([
        [c.turn_id, 'merged'],
        [a.turn_id, 'done'],
        [b.turn_id, 'error'],
      ]);
    } finally {
      merging.dispose();
    }
  });

  it('forgets idle sessions past maxSessions, never busy ones', async () => {
    await engine.onInput(input('typed', 'busy'));
    // A stop creates an idle session (it remembers the stop time).
    for (const id of ['a', 'b', 'c']) engine.onControl({ action: 'stop', session_id: id, ts: Date.now() });
    expect(engine.snapshot('s')!.state).toBe('thinking');
    expect(['a', 'b', 'c'].filter((id) => engine.snapshot(id)).length).toBe(2);
  });

  it('reads its timings from the settings, with the defaults of the schema, and refuses nonsense', () => {
    expect(DEFAULT_KNOBS).toEqual({ watchdogMs: 60_000, noiseMs: 5000, listenMaxMs: 30_000, playbackMarginMs: 1500, maxSessions: 1000 });
    const settings = ConfigSchema.parse({ dataDir: '/d', dialog: { watchdogMs: 1234 } });
    expect(knobsOf(settings.dialog)).toMatchObject({ watchdogMs: 1234, noiseMs: 5000 });
    expect(ConfigSchema.safeParse({ dataDir: '/d', dialog: { noiseMs: 'soon' } }).success).toBe(false);
  });
});
