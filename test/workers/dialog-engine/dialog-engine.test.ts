/**
 * The dialog engine as a real worker process on a real bus (redis-server and the embedded bus),
 * driven by hand: the test plays input-handler (pushes UserInputs), asr/tts/gateway (publishes
 * TurnEvents and ControlEvents) and memory (drains user_input_queue).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels, Queues, type ControlEvent, newEventId } from '../../../src/shared/bus.js';
import { nowMs, type Body, type InputSource, type TurnEvent, type UserInput } from '../../../src/shared/voice.js';
import { BACKENDS, client, startBackend, type Backend } from '../../main/supervisor/helpers.js';
import { QueueDrain, Tap, WorkerProcess, percentile, publishSettings, sleep, type Received } from './harness.js';

/** Short timings, so the timers' effects show within a test. */
const TIMINGS = { watchdogMs: 1500, noiseMs: 300, listenMaxMs: 3000, playbackMarginMs: 100 };

describe.each(BACKENDS)('dialog-engine (%s)', (kind) => {
  let bus: Backend;
  let redis: Redis;
  let tap: Tap;
  let turns: QueueDrain;
  let worker: WorkerProcess | undefined;

  const input = (session: string, source: InputSource, text: string, extra: Partial<UserInput> = {}): UserInput => {
    const id = randomUUID();
    return { session_id: session, turn_id: id, task_id: id, event_id: newEventId(), ts: Date.now(), marks: { input: nowMs() }, source, text, ...extra };
  };
  const send = (i: UserInput) => redis.lpush(Queues.dialogInputs, JSON.stringify(i));
  const event = (session: string, turnId: string, body: Body<TurnEvent>) => {
    const ev: TurnEvent = { session_id: session, turn_id: turnId, task_id: turnId, event_id: newEventId(), ts: Date.now(), marks: {}, ...body };
    return redis.publish(Channels.events, JSON.stringify(ev));
  };
  const control = (session: string, action: ControlEvent['action'], turnId?: string) =>
    redis.publish(Channels.control, JSON.stringify({ action, session_id: session, ts: Date.now(), ...(turnId ? { turn_id: turnId } : {}) } satisfies ControlEvent));
  /** Events the engine published for a session: kind[:state|reason|code][@turn]. */
  const story = (session: string, from = 0) =>
    tap.all
      .slice(from)
      .filter((r) => r.channel === Channels.events && r.msg.session_id === session && ['turn_state', 'turn_end'].includes(r.msg.kind as string) || (r.channel === Channels.events && r.msg.session_id === session && r.msg.kind === 'error' && r.msg.stage === 'dialog'))
      .map((r) => `${r.msg.kind as string}:${(r.msg.state ?? r.msg.reason ?? r.msg.code) as string}`);
  const waitEv = (session: string, pred: (m: Record<string, unknown>) => boolean, timeoutMs = 5000, from = 0) =>
    tap.next(Channels.events, (m) => m.session_id === session && pred(m), timeoutMs, from);
  const turnEnd = (session: string, turnId: string, timeoutMs = 5000) => waitEv(session, (m) => m.kind === 'turn_end' && m.turn_id === turnId, timeoutMs);
  const state = (session: string, st: string, turnId?: string, from = 0) =>
    waitEv(session, (m) => m.kind === 'turn_state' && m.state === st && (turnId === undefined || m.turn_id === turnId), 5000, from);
  /** Starts a typed turn and waits until it is thinking. */
  const startTurn = async (session: string, source: InputSource = 'typed') => {
    const i = input(session, source, `hello ${randomUUID().slice(0, 4)}`);
    await send(i);
    await state(session, 'thinking', i.turn_id);
    return i;
  };

  beforeAll(async () => {
    bus = await startBackend(kind);
    redis = await client(bus.url);
    tap = await Tap.open(bus.url, [Channels.events, Channels.control]);
    turns = await QueueDrain.open(bus.url, Queues.userInput);
    await publishSettings(redis, { dialog: { bargeIn: true, typedPolicy: 'queue', chatPolicy: 'merge', maxQueue: 3, ...TIMINGS } });
    worker = await WorkerProcess.start('dialog-engine', bus.url, { FAV_LOG_LEVEL: 'warn' });
  }, 90_000);

  afterAll(async () => {
    await worker?.stop();
    await turns?.close();
    await tap?.close();
    redis?.disconnect();
    await bus?.stop();
  }, 30_000);

  it('runs a turn: thinking -> speaking -> turn_end done after the audio time -> idle', async () => {
    const s = `s-${randomUUID()}`;
    const i = input(s, 'typed', 'tell me a joke');
    await send(i);
    const pushed = await turns.next((m) => m.turn_id === i.turn_id);
    expect(pushed.msg).toMatchObject({ session_id: s, task_id: i.task_id, source: 'typed', text: 'tell me a joke' });
    const marks = pushed.msg.marks as Record<string, number>;
    expect(marks.turn_start).toBeGreaterThanOrEqual(marks.input!);

    await state(s, 'thinking', i.turn_id);
    await event(s, i.turn_id, { kind: 'audio_start' });
    await state(s, 'speaking', i.turn_id);
    const doneAt = nowMs();
    await event(s, i.turn_id, { kind: 'tts_done', audio_ms: 400, sentences: 2 });
    const end = await turnEnd(s, i.turn_id);
    // Not before the audio could have played (400 ms since audio_start + 100 ms margin).
    expect(end.at - doneAt).toBeGreaterThanOrEqual(400);
    expect(end.msg).toMatchObject({ reason: 'done', source: 'typed' });
    expect((end.msg.marks as Record<string, number>).turn_start).toBe(marks.turn_start);
    await state(s, 'idle');
    expect(story(s)).toEqual(['turn_state:thinking', 'turn_state:speaking', 'turn_end:done', 'turn_state:idle']);
  });

  it('measures the turn-start hop (UserInput pushed -> UserTurn on user_input_queue)', async () => {
    const hops: number[] = [];
    for (let n = 0; n < 30; n++) {
      const i = input(`s-${randomUUID()}`, 'typed', `q${n}`);
      const t0 = nowMs();
      await send(i);
      const got = await turns.next((m) => m.turn_id === i.turn_id);
      hops.push(got.at - t0);
      expect((got.msg.marks as Record<string, number>).turn_start).toBeGreaterThan(t0);
    }
    console.log(`[${kind}] turn start: UserInput LPUSH -> UserTurn popped: p50 ${percentile(hops, 50).toFixed(2)} ms, p95 ${percentile(hops, 95).toFixed(2)} ms (n=${hops.length})`);
    // The median shows our work (about 1-5 ms; more with the embedded bus inside a busy test process);
    // the tail is the shared machine's scheduling. Both only
    // have to stay far from what a polling or blocked implementation would show.
    expect(percentile(hops, 50)).toBeLessThan(50);
    expect(percentile(hops, 95)).toBeLessThan(250);
  });

  it('ends the turn at once when a client reports playback_done', async () => {
    const s = `s-${randomUUID()}`;
    const i = await startTurn(s);
    await event(s, i.turn_id, { kind: 'audio_start' });
    await event(s, i.turn_id, { kind: 'tts_done', audio_ms: 60_000, sentences: 1 });
    await sleep(50);
    const t0 = nowMs();
    await event(s, i.turn_id, { kind: 'playback_done' });
    const end = await turnEnd(s, i.turn_id, 2000);
    expect(end.msg.reason).toBe('done');
    expect(end.at - t0).toBeLessThan(200);
  });

  it('barge-in: speech_start cancels the active turn at once (ControlEvent first), then listening; noise -> idle', async () => {
    const latencies: number[] = [];
    for (let n = 0; n < 15; n++) {
      const s = `s-${randomUUID()}`;
      const i = await startTurn(s);
      if (n % 2) {
        await event(s, i.turn_id, { kind: 'audio_start' });
        await state(s, 'speaking', i.turn_id);
      }
      const from = tap.mark;
      const t0 = nowMs();
      await event(s, '-', { kind: 'speech_start' });
      const cancel = await tap.next(Channels.control, (m) => m.session_id === s, 2000, from);
      latencies.push(cancel.at - t0);
      expect(cancel.msg).toMatchObject({ action: 'cancel', turn_id: i.turn_id, reason: 'barge-in' });
      const end = await turnEnd(s, i.turn_id);
      expect(end.msg.reason).toBe('cancelled');
      // The cancel went out before the turn_end.
      expect(cancel.at).toBeLessThanOrEqual(end.at);
      await state(s, 'listening', undefined, from);
      if (n === 0) {
        // speech_end and no transcript: noise. Back to idle after the noise time (300 ms).
        const endAt = nowMs();
        await event(s, '-', { kind: 'speech_end', audio_ms: 500 });
        const idle = await state(s, 'idle', undefined, from);
        expect(idle.at - endAt).toBeGreaterThanOrEqual(250);
        expect(story(s, from)).toEqual(['turn_end:cancelled', 'turn_state:listening', 'turn_state:idle']);
      }
    }
    const p50 = percentile(latencies, 50);
    const p95 = percentile(latencies, 95);
    console.log(`[${kind}] barge-in: speech_start publish -> ControlEvent cancel received: p50 ${p50.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms (n=${latencies.length})`);
    // The median shows our work (about 1-5 ms; more with the embedded bus inside a busy test process);
    // the tail is the shared machine's scheduling. Both only
    // have to stay far from what a polling or blocked implementation would show.
    expect(p50).toBeLessThan(50);
    expect(p95).toBeLessThan(250);
  });

  it('a mic utterance after barge-in starts the next turn from listening', async () => {
    const s = `s-${randomUUID()}`;
    const a = await startTurn(s);
    await event(s, '-', { kind: 'speech_start' });
    await turnEnd(s, a.turn_id);
    await event(s, '-', { kind: 'speech_end', audio_ms: 500 });
    const m = input(s, 'mic', 'what about now');
    await send(m);
    await turns.next((x) => x.turn_id === m.turn_id);
    await state(s, 'thinking', m.turn_id);
    await sleep(400); // past the noise time: the turn must not be disturbed
    expect(story(s)).toEqual(['turn_state:thinking', 'turn_end:cancelled', 'turn_state:listening', 'turn_state:thinking']);
  });

  it('typed input while thinking waits (queue policy) and starts when the turn ends', async () => {
    const s = `s-${randomUUID()}`;
    const a = await startTurn(s);
    const b = input(s, 'typed', 'second question');
    await send(b);
    await sleep(150);
    expect(turns.find((m) => m.turn_id === b.turn_id)).toBeUndefined();
    await event(s, a.turn_id, { kind: 'playback_done' });
    await turnEnd(s, a.turn_id);
    await turns.next((m) => m.turn_id === b.turn_id);
    await state(s, 'thinking', b.turn_id);
    // Straight from one turn to the next, no idle in between.
    expect(story(s)).toEqual(['turn_state:thinking', 'turn_end:done', 'turn_state:thinking']);
  });

  it('chat messages while busy merge into one input (merge policy), one line per author', async () => {
    const s = `s-${randomUUID()}`;
    const a = await startTurn(s);
    const c1 = input(s, 'chat', 'hi', { author: 'alice' });
    const c2 = input(s, 'chat', 'hello', { author: 'bob' });
    const c3 = input(s, 'chat', 'yo', { author: 'carol' });
    for (const c of [c1, c2, c3]) await send(c);
    await sleep(150);
    await event(s, a.turn_id, { kind: 'playback_done' });
    const merged = await turns.next((m) => m.turn_id === c1.turn_id);
    expect(merged.msg).toMatchObject({ source: 'chat', text: 'alice: hi\nbob: hello\ncarol: yo' });
    await sleep(100);
    expect(turns.find((m) => m.turn_id === c2.turn_id || m.turn_id === c3.turn_id)).toBeUndefined();
  });

  it('bounds the waiting inputs (maxQueue 3): the oldest chat goes first, then the oldest input, each reported busy', async () => {
    const s = `s-${randomUUID()}`;
    const a = await startTurn(s);
    const t1 = input(s, 'typed', 'one');
    const c1 = input(s, 'chat', 'chat one', { author: 'dan' });
    const t2 = input(s, 'typed', 'two');
    const t3 = input(s, 'typed', 'three');
    const t4 = input(s, 'typed', 'four');
    for (const i of [t1, c1, t2, t3]) await send(i);
    const busyChat = await waitEv(s, (m) => m.kind === 'error' && m.turn_id === c1.turn_id);
    expect(busyChat.msg).toMatchObject({ stage: 'dialog', code: 'busy' });
    expect(busyChat.msg.message).toMatch(/maxQueue 3/);
    await send(t4);
    await waitEv(s, (m) => m.kind === 'error' && m.code === 'busy' && m.turn_id === t1.turn_id);
    // The three left run in order.
    await event(s, a.turn_id, { kind: 'playback_done' });
    for (const i of [t2, t3, t4]) {
      await turns.next((m) => m.turn_id === i.turn_id);
      await event(s, i.turn_id, { kind: 'playback_done' });
      await turnEnd(s, i.turn_id);
    }
    await state(s, 'idle');
    expect(turns.find((m) => m.turn_id === t1.turn_id || m.turn_id === c1.turn_id)).toBeUndefined();
  });

  it('mic input wins over queued typed input: it cancels the active turn and runs first', async () => {
    const s = `s-${randomUUID()}`;
    const a = await startTurn(s);
    const waiting = input(s, 'typed', 'queued typed');
    await send(waiting);
    await sleep(100);
    const from = tap.mark;
    const m = input(s, 'mic', 'stop and listen');
    await send(m);
    const cancel = await tap.next(Channels.control, (x) => x.session_id === s, 2000, from);
    expect(cancel.msg).toMatchObject({ action: 'cancel', turn_id: a.turn_id, reason: 'mic-input' });
    expect((await turnEnd(s, a.turn_id)).msg.reason).toBe('cancelled');
    await turns.next((x) => x.turn_id === m.turn_id);
    await state(s, 'thinking', m.turn_id);
    expect(turns.find((x) => x.turn_id === waiting.turn_id)).toBeUndefined();
    await event(s, m.turn_id, { kind: 'playback_done' });
    await turns.next((x) => x.turn_id === waiting.turn_id);
  });

  it('stop ends the active turn cancelled and clears the waiting inputs; a later input runs', async () => {
    const s = `s-${randomUUID()}`;
    const a = await startTurn(s);
    const w1 = input(s, 'typed', 'w1');
    const w2 = input(s, 'chat', 'w2', { author: 'eve' });
    await send(w1);
    await send(w2);
    await sleep(100);
    await control(s, 'stop');
    expect((await turnEnd(s, a.turn_id)).msg.reason).toBe('cancelled');
    for (const w of [w1, w2]) expect((await turnEnd(s, w.turn_id)).msg).toMatchObject({ reason: 'cancelled', message: 'cleared by stop' });
    await state(s, 'idle');
    await sleep(150);
    expect(turns.find((x) => x.turn_id === w1.turn_id || x.turn_id === w2.turn_id)).toBeUndefined();
    const later = input(s, 'typed', 'after stop');
    await send(later);
    await turns.next((x) => x.turn_id === later.turn_id);
  });

  it('a cancel for a waiting input removes it; a cancel for a turn not seen yet drops its input on arrival', async () => {
    const s = `s-${randomUUID()}`;
    const a = await startTurn(s);
    const w = input(s, 'typed', 'never mind');
    await send(w);
    await sleep(100);
    await control(s, 'cancel', w.turn_id);
    expect((await turnEnd(s, w.turn_id)).msg.reason).toBe('cancelled');
    const early = input(s, 'typed', 'cancelled upstream');
    await control(s, 'cancel', early.turn_id);
    await sleep(50);
    await event(s, a.turn_id, { kind: 'playback_done' });
    await turnEnd(s, a.turn_id);
    await send(early);
    await state(s, 'idle');
    await sleep(200);
    expect(turns.find((x) => x.turn_id === w.turn_id || x.turn_id === early.turn_id)).toBeUndefined();
  });

  it('a terminal error (llm) ends the turn with error; a tts error does not', async () => {
    const s = `s-${randomUUID()}`;
    const a = await startTurn(s);
    await event(s, a.turn_id, { kind: 'error', stage: 'tts', code: 'tts_failed', message: 'sentence 2 failed' });
    await sleep(150);
    expect(story(s)).toEqual(['turn_state:thinking']);
    await event(s, a.turn_id, { kind: 'error', stage: 'llm', code: 'llm_unreachable', message: 'cannot reach the LLM' });
    expect((await turnEnd(s, a.turn_id)).msg.reason).toBe('error');
    await state(s, 'idle');
  });

  it('watchdog: a turn with no progress ends with worker_lost (progress events keep it alive)', async () => {
    const s = `s-${randomUUID()}`;
    const a = await startTurn(s);
    const t0 = nowMs();
    // Progress at 0.8 s and 1.6 s pushes the 1.5 s watchdog out to ~3.1 s.
    await sleep(800);
    await event(s, a.turn_id, { kind: 'emotion', emotion: 'joy' });
    await sleep(800);
    await event(s, a.turn_id, { kind: 'audio_start' });
    const err = await waitEv(s, (m) => m.kind === 'error' && m.turn_id === a.turn_id, 5000);
    expect(err.at - t0).toBeGreaterThanOrEqual(2900);
    expect(err.msg).toMatchObject({ stage: 'dialog', code: 'worker_lost' });
    expect(err.msg.message).toMatch(/No progress on this turn for 2 s/);
    const cancel = await tap.next(Channels.control, (m) => m.session_id === s && m.turn_id === a.turn_id);
    expect(cancel.msg.reason).toBe('watchdog');
    expect((await turnEnd(s, a.turn_id)).msg.reason).toBe('error');
    await state(s, 'idle');
  });

  it('drops and does not barge in when the settings say so (typedPolicy drop, bargeIn off)', async () => {
    await worker!.stop();
    worker = undefined;
    await publishSettings(redis, { dialog: { bargeIn: false, typedPolicy: 'drop', chatPolicy: 'queue', maxQueue: 5, ...TIMINGS } });
    worker = await WorkerProcess.start('dialog-engine', bus.url, { FAV_LOG_LEVEL: 'warn' });
    const s = `s-${randomUUID()}`;
    const a = await startTurn(s);
    const t = input(s, 'typed', 'dropped please');
    await send(t);
    const busy: Received = await waitEv(s, (m) => m.kind === 'error' && m.turn_id === t.turn_id);
    expect(busy.msg).toMatchObject({ stage: 'dialog', code: 'busy' });
    expect(busy.msg.message).toMatch(/typedPolicy: drop/);
    const from = tap.mark;
    await event(s, '-', { kind: 'speech_start' });
    await sleep(200);
    expect(tap.on(Channels.control, (m) => m.session_id === s).length).toBe(0);
    expect(story(s, from)).toEqual([]);
    await event(s, a.turn_id, { kind: 'playback_done' });
    await turnEnd(s, a.turn_id);
    await sleep(100);
    expect(turns.find((x) => x.turn_id === t.turn_id)).toBeUndefined();
  }, 60_000);
});
