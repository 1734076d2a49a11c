/**
 * The rules of the turn state machine (turns, barge-in, input policy, timers) and its edge cases,
 * with the engine's I/O recorded in memory and fake timers (the worker process on the embedded bus
 * has a smoke test in test/workers/dialog-engine).
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newEventId, type ControlEvent, type StatusEvent } from '../../shared/bus.js';
import { Bus } from '../../shared/contract.js';
import { nowMs, type InputSource, type Marks, type TurnEvent, type UserInput } from '../../shared/voice.js';
import { DialogEngine } from './engine.js';
import { ConfigSchema } from '../../shared/config.js';
import { DEFAULT_KNOBS, knobsOf, type DialogSettings } from './knobs.js';

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

/** An engine whose I/O goes to `out`, under other settings than the default ones. */
const engineWith = (settings: DialogSettings): DialogEngine =>
  new DialogEngine(
    {
      log: pino({ level: 'silent' }),
      publish: (to, msg) => void out.push({ to: to.name, msg: msg as Record<string, unknown> }),
      push: async (to, msg) => void out.push({ to: to.name, msg: msg as Record<string, unknown> }),
    },
    settings,
    knobs,
  );
/** What the engine put on a destination, e.g. the turns pushed to user_input_queue. */
const sent = (to: { name: string }, pred: (m: Record<string, unknown>) => boolean = () => true) => out.filter((o) => o.to === to.name && pred(o.msg)).map((o) => o.msg);
const ended = (turnId: string) => sent(Bus.events, (m) => m.kind === 'turn_end' && m.turn_id === turnId);

beforeEach(() => {
  vi.useFakeTimers();
  out = [];
  engine = engineWith(dialog);
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
    const merging = engineWith({ ...dialog, typedPolicy: 'merge' });
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

describe('DialogEngine: turns, barge-in and the input policy', () => {
  it('runs a turn: UserTurn on user_input_queue, thinking -> speaking -> turn_end done when the audio has played (+ margin) -> idle', async () => {
    const i = input('typed', 'tell me a joke', { marks: { input: nowMs() } });
    await engine.onInput(i);
    const [pushed] = sent(Bus.userInput);
    expect(pushed).toMatchObject({ session_id: 's', turn_id: i.turn_id, task_id: i.task_id, parent_id: i.event_id, source: 'typed', text: 'tell me a joke' });
    const marks = pushed!.marks as Marks;
    expect(marks.turn_start).toBeGreaterThanOrEqual(marks.input!);
    engine.onEvent(ev('audio_start', i.turn_id));
    vi.advanceTimersByTime(100);
    engine.onEvent(ev('tts_done', i.turn_id, { audio_ms: 400, sentences: 2 }));
    // 400 ms of audio from audio_start + 100 ms of margin: not before 500 ms.
    vi.advanceTimersByTime(399);
    expect(story()).toEqual([`push:${i.turn_id}`, 'turn_state:thinking', 'turn_state:speaking']);
    vi.advanceTimersByTime(1);
    expect(story()).toEqual([`push:${i.turn_id}`, 'turn_state:thinking', 'turn_state:speaking', 'turn_end:done', 'turn_state:idle']);
    expect(ended(i.turn_id)[0]).toMatchObject({ task_id: i.task_id, reason: 'done', source: 'typed', marks: { turn_start: marks.turn_start } });
  });

  it('ends the turn at once when a client reports playback_done, even with audio time left', async () => {
    const i = input('typed', 'a');
    await engine.onInput(i);
    engine.onEvent(ev('audio_start', i.turn_id));
    engine.onEvent(ev('tts_done', i.turn_id, { audio_ms: 60_000, sentences: 1 }));
    engine.onEvent(ev('playback_done', i.turn_id));
    expect(story().slice(-2)).toEqual(['turn_end:done', 'turn_state:idle']);
    // The audio timer it replaced does not end the turn a second time.
    vi.advanceTimersByTime(61_000);
    expect(ended(i.turn_id)).toHaveLength(1);
  });

  it.each(['thinking', 'speaking'] as const)('barge-in while %s: speech_start cancels the turn (ControlEvent before turn_end), then listening; speech_end and no transcript is noise -> idle after noiseMs', async (st) => {
    const a = input('typed', 'a');
    await engine.onInput(a);
    if (st === 'speaking') engine.onEvent(ev('audio_start', a.turn_id));
    expect(engine.snapshot('s')!.state).toBe(st);
    out = [];
    engine.onEvent(ev('speech_start'));
    expect(sent(Bus.control)).toEqual([expect.objectContaining({ action: 'cancel', session_id: 's', turn_id: a.turn_id, reason: 'barge-in' })]);
    expect(ended(a.turn_id)[0]!.reason).toBe('cancelled');
    expect(story()).toEqual([`cancel:${a.turn_id}`, 'turn_end:cancelled', 'turn_state:listening']);
    engine.onEvent(ev('speech_end', '-', { audio_ms: 500 }));
    vi.advanceTimersByTime(knobs.noiseMs - 1);
    expect(engine.snapshot('s')!.state).toBe('listening');
    vi.advanceTimersByTime(1);
    expect(story()).toEqual([`cancel:${a.turn_id}`, 'turn_end:cancelled', 'turn_state:listening', 'turn_state:idle']);
  });

  it('a mic utterance after barge-in starts the next turn from listening, and the noise timer leaves it alone', async () => {
    const a = input('typed', 'a');
    await engine.onInput(a);
    engine.onEvent(ev('speech_start'));
    engine.onEvent(ev('speech_end', '-', { audio_ms: 500 }));
    const m = input('mic', 'what about now');
    await engine.onInput(m);
    vi.advanceTimersByTime(knobs.noiseMs * 2);
    expect(engine.snapshot('s')).toMatchObject({ state: 'thinking', active: m.turn_id });
    expect(story()).toEqual([`push:${a.turn_id}`, 'turn_state:thinking', `cancel:${a.turn_id}`, 'turn_end:cancelled', 'turn_state:listening', `push:${m.turn_id}`, 'turn_state:thinking']);
  });

  it('typed input while a turn runs waits (queue policy) and starts when the turn ends, with no idle in between', async () => {
    const a = input('typed', 'a');
    await engine.onInput(a);
    const b = input('typed', 'second question');
    await engine.onInput(b);
    expect(engine.snapshot('s')).toMatchObject({ active: a.turn_id, waiting: ['second question'] });
    expect(sent(Bus.userInput).map((m) => m.turn_id)).toEqual([a.turn_id]);
    engine.onEvent(ev('playback_done', a.turn_id));
    expect(story()).toEqual([`push:${a.turn_id}`, 'turn_state:thinking', 'turn_end:done', `push:${b.turn_id}`, 'turn_state:thinking']);
  });

  it('chat messages while busy merge into one input (merge policy), one line per author; the others never start', async () => {
    const a = input('typed', 'a');
    await engine.onInput(a);
    const c1 = input('chat', 'hi', { author: 'alice' });
    const c2 = input('chat', 'hello', { author: 'bob' });
    const c3 = input('chat', 'yo', { author: 'carol' });
    for (const c of [c1, c2, c3]) await engine.onInput(c);
    for (const c of [c2, c3]) expect(ended(c.turn_id)).toEqual([expect.objectContaining({ reason: 'merged', merged_into: c1.turn_id })]);
    engine.onEvent(ev('playback_done', a.turn_id));
    engine.onEvent(ev('playback_done', c1.turn_id));
    expect(engine.snapshot('s')!.state).toBe('idle');
    expect(sent(Bus.userInput).map((m) => [m.turn_id, m.source, m.text])).toEqual([
      [a.turn_id, 'typed', 'a'],
      [c1.turn_id, 'chat', 'alice: hi\nbob: hello\ncarol: yo'],
    ]);
  });

  it('bounds the waiting inputs (maxQueue 3): the oldest chat goes first, then the oldest input, each reported busy; the rest run in order', async () => {
    const e = engineWith({ ...dialog, maxQueue: 3 });
    try {
      const a = input('typed', 'a');
      await e.onInput(a);
      const [t1, c1, t2, t3, t4] = [input('typed', 'one'), input('chat', 'chat one', { author: 'dan' }), input('typed', 'two'), input('typed', 'three'), input('typed', 'four')];
      for (const i of [t1, c1, t2, t3]) await e.onInput(i);
      const busy = () => sent(Bus.events, (m) => m.kind === 'error');
      expect(busy()).toEqual([expect.objectContaining({ turn_id: c1.turn_id, stage: 'dialog', code: 'busy', message: expect.stringMatching(/maxQueue 3/) })]);
      await e.onInput(t4);
      expect(busy().map((m) => [m.turn_id, m.code])).toEqual([
        [c1.turn_id, 'busy'],
        [t1.turn_id, 'busy'],
      ]);
      for (const t of [a, t2, t3, t4]) e.onEvent(ev('playback_done', t.turn_id));
      expect(e.snapshot('s')!.state).toBe('idle');
      expect(sent(Bus.userInput).map((m) => m.turn_id)).toEqual([a.turn_id, t2.turn_id, t3.turn_id, t4.turn_id]);
    } finally {
      e.dispose();
    }
  });

  it('mic input wins over queued typed input: it cancels the active turn and runs first; the typed one runs after it', async () => {
    const a = input('typed', 'a');
    await engine.onInput(a);
    const waiting = input('typed', 'queued typed');
    await engine.onInput(waiting);
    const m = input('mic', 'stop and listen');
    await engine.onInput(m);
    expect(sent(Bus.control)).toEqual([expect.objectContaining({ action: 'cancel', turn_id: a.turn_id, reason: 'mic-input' })]);
    expect(engine.snapshot('s')).toMatchObject({ state: 'thinking', active: m.turn_id, waiting: ['queued typed'] });
    engine.onEvent(ev('playback_done', m.turn_id));
    expect(story()).toEqual([
      `push:${a.turn_id}`,
      'turn_state:thinking',
      `cancel:${a.turn_id}`,
      'turn_end:cancelled',
      `push:${m.turn_id}`,
      'turn_state:thinking',
      'turn_end:done',
      `push:${waiting.turn_id}`,
      'turn_state:thinking',
    ]);
  });

  it('stop ends the active turn cancelled and clears the waiting inputs (each ended); a later input runs', async () => {
    const a = input('typed', 'a');
    await engine.onInput(a);
    const w1 = input('typed', 'w1');
    const w2 = input('chat', 'w2', { author: 'eve' });
    await engine.onInput(w1);
    await engine.onInput(w2);
    engine.onControl({ action: 'stop', session_id: 's', ts: Date.now() });
    expect(ended(a.turn_id)).toEqual([expect.objectContaining({ reason: 'cancelled' })]);
    for (const w of [w1, w2]) expect(ended(w.turn_id)).toEqual([expect.objectContaining({ reason: 'cancelled', message: 'cleared by stop' })]);
    expect(engine.snapshot('s')).toMatchObject({ state: 'idle', waiting: [] });
    vi.advanceTimersByTime(5);
    const later = input('typed', 'after stop', { marks: { input: Date.now() } });
    await engine.onInput(later);
    expect(sent(Bus.userInput).map((m) => m.turn_id)).toEqual([a.turn_id, later.turn_id]);
  });

  it('a cancel for a waiting input ends it; a cancel for a turn not seen yet drops its input on arrival', async () => {
    const a = input('typed', 'a');
    await engine.onInput(a);
    const w = input('typed', 'never mind');
    await engine.onInput(w);
    engine.onControl({ action: 'cancel', session_id: 's', turn_id: w.turn_id, ts: Date.now() });
    expect(ended(w.turn_id)).toEqual([expect.objectContaining({ reason: 'cancelled', message: 'cancelled while waiting' })]);
    expect(engine.snapshot('s')).toMatchObject({ active: a.turn_id, waiting: [] });
    const early = input('typed', 'cancelled upstream');
    engine.onControl({ action: 'cancel', session_id: 's', turn_id: early.turn_id, ts: Date.now() });
    engine.onEvent(ev('playback_done', a.turn_id));
    expect(engine.snapshot('s')!.state).toBe('idle');
    const before = out.length;
    await engine.onInput(early);
    expect(out.slice(before)).toEqual([]);
    expect(sent(Bus.userInput).map((m) => m.turn_id)).toEqual([a.turn_id]);
  });

  it.each(['llm', 'memory', 'input', 'asr'] as const)('a terminal error (%s) ends the turn with error; a tts error before it does not', async (stage) => {
    const a = input('typed', 'a');
    await engine.onInput(a);
    engine.onEvent(ev('error', a.turn_id, { stage: 'tts', code: 'tts_failed', message: 'sentence 2 failed' }));
    expect(engine.snapshot('s')).toMatchObject({ state: 'thinking', active: a.turn_id });
    engine.onEvent(ev('error', a.turn_id, { stage, code: 'failed', message: `${stage} failed` }));
    expect(story()).toEqual([`push:${a.turn_id}`, 'turn_state:thinking', 'turn_end:error', 'turn_state:idle']);
  });

  it('watchdog: a turn with no progress for watchdogMs ends with worker_lost, cancel, turn_end error; progress events keep it alive', async () => {
    const a = input('typed', 'a');
    await engine.onInput(a);
    vi.advanceTimersByTime(knobs.watchdogMs - 1);
    engine.onEvent(ev('emotion', a.turn_id, { emotion: 'joy' }));
    vi.advanceTimersByTime(knobs.watchdogMs - 1);
    engine.onEvent(ev('audio_start', a.turn_id));
    vi.advanceTimersByTime(knobs.watchdogMs - 1);
    expect(story()).toEqual([`push:${a.turn_id}`, 'turn_state:thinking', 'turn_state:speaking']);
    vi.advanceTimersByTime(1);
    expect(story()).toEqual([`push:${a.turn_id}`, 'turn_state:thinking', 'turn_state:speaking', 'error:worker_lost', `cancel:${a.turn_id}`, 'turn_end:error', 'turn_state:idle']);
    expect(sent(Bus.events, (m) => m.kind === 'error')[0]).toMatchObject({ turn_id: a.turn_id, stage: 'dialog', message: expect.stringMatching(/No progress on this turn for 10 s/) });
    expect(sent(Bus.control)[0]).toMatchObject({ turn_id: a.turn_id, reason: 'watchdog' });
  });

  it('drops and does not barge in when the settings say so (typedPolicy drop, bargeIn off)', async () => {
    const e = engineWith({ bargeIn: false, typedPolicy: 'drop', chatPolicy: 'queue', maxQueue: 5 });
    try {
      const a = input('typed', 'a');
      await e.onInput(a);
      const t = input('typed', 'dropped please');
      await e.onInput(t);
      expect(sent(Bus.events, (m) => m.kind === 'error')).toEqual([expect.objectContaining({ turn_id: t.turn_id, stage: 'dialog', code: 'busy', message: expect.stringMatching(/typedPolicy: drop/) })]);
      const before = out.length;
      e.onEvent(ev('speech_start'));
      expect(out.slice(before)).toEqual([]);
      expect(e.snapshot('s')).toMatchObject({ state: 'thinking', active: a.turn_id, waiting: [] });
      e.onEvent(ev('playback_done', a.turn_id));
      expect(e.snapshot('s')!.state).toBe('idle');
      expect(sent(Bus.userInput).map((m) => m.turn_id)).toEqual([a.turn_id]);
    } finally {
      e.dispose();
    }
  });
});
