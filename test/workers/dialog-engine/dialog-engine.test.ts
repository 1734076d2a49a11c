/**
 * Smoke test of the dialog engine as a real worker process on the embedded bus, driven by hand:
 * the test plays input-handler (pushes UserInputs), asr/tts/gateway (publishes TurnEvents) and
 * memory (drains user_input_queue). The engine's rules (policy, timers, barge-in, errors) are
 * tested with fake timers beside the code (src/workers/dialog-engine/engine.test.ts); here, that
 * the worker wires them to the bus: one whole turn, one barge-in.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels, Queues, newEventId } from '../../../src/shared/bus.js';
import { nowMs, type Body, type TurnEvent, type UserInput } from '../../../src/shared/voice.js';
import { client, startBackend, type Backend } from '../../main/supervisor/helpers.js';
import { QueueDrain, Tap, WorkerProcess, publishSettings } from './harness.js';

describe('dialog-engine on the embedded bus', () => {
  let bus: Backend;
  let redis: Redis;
  let tap: Tap;
  let turns: QueueDrain;
  let worker: WorkerProcess | undefined;

  const typed = (session: string, text: string): UserInput => {
    const id = randomUUID();
    return { session_id: session, turn_id: id, task_id: id, event_id: newEventId(), ts: Date.now(), marks: { input: nowMs() }, source: 'typed', text };
  };
  const send = (i: UserInput) => redis.lpush(Queues.dialogInputs, JSON.stringify(i));
  const event = (session: string, turnId: string, body: Body<TurnEvent>) => {
    const ev: TurnEvent = { session_id: session, turn_id: turnId, task_id: turnId, event_id: newEventId(), ts: Date.now(), marks: {}, ...body };
    return redis.publish(Channels.events, JSON.stringify(ev));
  };
  /** What the engine published for a session, in arrival order: kind[:state|reason|action]. */
  const story = (session: string) =>
    tap.all
      .filter((r) => r.msg.session_id === session && (r.channel === Channels.control || ['turn_state', 'turn_end'].includes(r.msg.kind as string)))
      .map((r) => `${(r.msg.kind ?? r.msg.action) as string}:${(r.msg.state ?? r.msg.reason) as string}`);
  const state = (session: string, st: string) => tap.next(Channels.events, (m) => m.session_id === session && m.kind === 'turn_state' && m.state === st);

  beforeAll(async () => {
    bus = await startBackend('embedded');
    redis = await client(bus.url);
    tap = await Tap.open(bus.url, [Channels.events, Channels.control]);
    turns = await QueueDrain.open(bus.url, Queues.userInput);
    await publishSettings(redis, { dialog: { bargeIn: true } });
    worker = await WorkerProcess.start('dialog-engine', bus.url, { FAV_LOG_LEVEL: 'warn' });
  }, 90_000);

  afterAll(async () => {
    await worker?.stop();
    await turns?.close();
    await tap?.close();
    redis?.disconnect();
    await bus?.stop();
  }, 30_000);

  it('runs a whole turn: input -> UserTurn on user_input_queue -> thinking -> speaking -> turn_end done -> idle', async () => {
    const s = `s-${randomUUID()}`;
    const i = typed(s, 'tell me a joke');
    await send(i);
    const pushed = await turns.next((m) => m.turn_id === i.turn_id);
    expect(pushed.msg).toMatchObject({ session_id: s, task_id: i.task_id, source: 'typed', text: 'tell me a joke' });
    const marks = pushed.msg.marks as Record<string, number>;
    expect(marks.turn_start).toBeGreaterThanOrEqual(marks.input!);
    await state(s, 'thinking');
    await event(s, i.turn_id, { kind: 'audio_start' });
    await state(s, 'speaking');
    await event(s, i.turn_id, { kind: 'playback_done' });
    const end = await tap.next(Channels.events, (m) => m.kind === 'turn_end' && m.turn_id === i.turn_id);
    expect(end.msg).toMatchObject({ reason: 'done', source: 'typed', marks: { turn_start: marks.turn_start } });
    await state(s, 'idle');
    expect(story(s)).toEqual(['turn_state:thinking', 'turn_state:speaking', 'turn_end:done', 'turn_state:idle']);
  });

  it('barge-in: speech_start cancels the active turn (the ControlEvent first, then turn_end cancelled), then listening', async () => {
    const s = `s-${randomUUID()}`;
    const i = typed(s, 'tell me a story');
    await send(i);
    await state(s, 'thinking');
    await event(s, '-', { kind: 'speech_start' });
    const cancel = await tap.next(Channels.control, (m) => m.session_id === s);
    expect(cancel.msg).toMatchObject({ action: 'cancel', turn_id: i.turn_id, reason: 'barge-in' });
    await state(s, 'listening');
    // One subscriber connection sees the engine's messages in the order it published them.
    expect(story(s)).toEqual(['turn_state:thinking', 'cancel:barge-in', 'turn_end:cancelled', 'turn_state:listening']);
  });
});
