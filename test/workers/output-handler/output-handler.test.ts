/**
 * Smoke test of the output handler as a real worker process on the embedded bus, driven by hand:
 * the test publishes what chat-ai (ai_responses), tts (task_response:{task_id}, fav:events),
 * dialog-engine (turn_state, turn_end) and the gateway (fav:control) would, and reads the
 * ClientEvents on fav:deliver. Its rules (order, gaps, errors, cancel and stop, bounds) are tested
 * with fake timers beside the code (src/workers/output-handler/delivery.test.ts); here, that the
 * worker wires them to the bus: one whole turn, one cancel.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels, type ControlEvent, newEventId } from '../../../src/shared/bus.js';
import { AiResponse, ClientEvent, TtsChunk, TurnEvent, nowMs } from '../../../src/shared/voice.js';
import { client, startBackend, type Backend } from '../../main/supervisor/helpers.js';
import { Tap, WorkerProcess, publishSettings } from '../dialog-engine/harness.js';

describe('output-handler on the embedded bus', () => {
  let bus: Backend;
  let redis: Redis;
  let tap: Tap;
  let worker: WorkerProcess;

  const newTurn = (session = `s-${randomUUID()}`) => {
    const id = randomUUID();
    return { session_id: session, turn_id: id, task_id: `task-${id}`, marks: { turn_start: nowMs() } };
  };
  type Turn = ReturnType<typeof newTurn>;
  const base = (t: Turn) => ({ session_id: t.session_id, turn_id: t.turn_id, task_id: t.task_id, event_id: newEventId(), ts: Date.now(), marks: t.marks });
  // Each message is checked against its schema before it goes out, as the worker will parse it.
  const reply = (t: Turn, k: AiResponse['kind'], extra: Record<string, unknown> = {}) =>
    redis.publish(Channels.aiResponses, JSON.stringify(AiResponse.parse({ ...base(t), kind: k, text: '', ...extra })));
  const pcmOf = (index: number, chunk: number) => Buffer.from(`${index}:${chunk}:`.padEnd(64, 'x')).toString('base64');
  const chunk = (t: Turn, index: number, c: number, final: boolean, extra: Record<string, unknown> = {}) =>
    redis.publish(
      Channels.taskResponse(t.task_id),
      JSON.stringify(TtsChunk.parse({ ...base(t), kind: 'audio', index, chunk: c, final, pcm_b64: pcmOf(index, c), sample_rate: 22050, envelope: [0.1, 0.5], visemes: [{ t_ms: 0, v: 'A' }], ...extra })),
    );
  const ttsEnd = (t: Turn, sentences: number) =>
    redis.publish(Channels.taskResponse(t.task_id), JSON.stringify(TtsChunk.parse({ ...base(t), kind: 'end', index: sentences, audio_ms: 1234 })));
  const event = (t: Turn, k: TurnEvent['kind'], extra: Record<string, unknown> = {}) => redis.publish(Channels.events, JSON.stringify(TurnEvent.parse({ ...base(t), kind: k, ...extra })));
  const cancel = (t: Turn) =>
    redis.publish(Channels.control, JSON.stringify({ action: 'cancel', session_id: t.session_id, turn_id: t.turn_id, ts: Date.now(), reason: 'test' } satisfies ControlEvent));

  /** ClientEvents of a turn, each checked against the contract's schema. */
  const ofTurn = (t: Turn) =>
    tap.on(Channels.deliver, (m) => m.turn_id === t.turn_id).map((r) => {
      const parsed = ClientEvent.safeParse(r.msg);
      if (!parsed.success) throw new Error(`invalid ClientEvent ${JSON.stringify(r.msg)}: ${parsed.error.message}`);
      return parsed.data;
    });
  const types = (t: Turn) => ofTurn(t).map((e) => (e.type === 'audio' ? `audio${e.index}.${e.chunk}#${e.seq}` : e.type));
  const waitDeliver = (t: Turn, type: string) => tap.next(Channels.deliver, (m) => m.turn_id === t.turn_id && m.type === type);

  beforeAll(async () => {
    bus = await startBackend('embedded');
    redis = await client(bus.url);
    tap = await Tap.open(bus.url, [Channels.deliver]);
    await publishSettings(redis, {});
    worker = await WorkerProcess.start('output-handler', bus.url, { FAV_LOG_LEVEL: 'warn' });
  }, 90_000);

  afterAll(async () => {
    await worker?.stop();
    await tap?.close();
    redis?.disconnect();
    await bus?.stop();
  }, 30_000);

  it('delivers a whole turn in order: transcript, state, deltas, emotion, audio in sentence order with gap-free seq, reply_done, audio_end, turn_end', async () => {
    const t = newTurn();
    await event(t, 'transcript', { text: 'hi there', final: true });
    await event(t, 'turn_state', { state: 'thinking' });
    await reply(t, 'delta', { text: 'Hello ' });
    await event(t, 'emotion', { emotion: 'joy' });
    await reply(t, 'delta', { text: 'world.' });
    await chunk(t, 1, 0, true); // ahead of sentence 0: held until it comes
    await chunk(t, 0, 0, false, { text: 'sentence 0', marks: { ...t.marks, first_audio: nowMs() } });
    await chunk(t, 0, 1, true);
    await reply(t, 'done', { text: 'Hello world.', sentences: 2 });
    await ttsEnd(t, 2);
    await event(t, 'turn_end', { reason: 'done' });
    await waitDeliver(t, 'turn_end');
    expect(types(t)).toEqual(['transcript', 'turn_state', 'reply_delta', 'emotion', 'reply_delta', 'audio0.0#0', 'audio0.1#1', 'audio1.0#2', 'reply_done', 'audio_end', 'turn_end']);
    const evs = ofTurn(t);
    // Audio passes through untouched, with the lip-sync data and the sentence text.
    expect(evs.filter((e) => e.type === 'audio').map((a) => a.pcm_b64)).toEqual([pcmOf(0, 0), pcmOf(0, 1), pcmOf(1, 0)]);
    expect(evs.find((e) => e.type === 'audio')).toMatchObject({ task_id: t.task_id, format: 'pcm_s16le', sample_rate: 22050, envelope: [0.1, 0.5], visemes: [{ t_ms: 0, v: 'A' }], text: 'sentence 0' });
    const end = evs.find((e) => e.type === 'turn_end')!;
    expect(end.type === 'turn_end' && end.marks).toMatchObject({ turn_start: t.marks.turn_start, first_audio: expect.any(Number), delivered: expect.any(Number) });
  });

  it('cancel: stop at once, then nothing of the turn but its turn_end', async () => {
    const t = newTurn();
    await chunk(t, 0, 0, false);
    await waitDeliver(t, 'audio');
    await cancel(t);
    await waitDeliver(t, 'stop');
    await chunk(t, 0, 1, true);
    await reply(t, 'delta', { text: 'more' });
    await event(t, 'turn_end', { reason: 'cancelled' });
    await waitDeliver(t, 'turn_end');
    await chunk(t, 1, 0, true);
    // The worker handles its inputs in the order the bus delivers them (one subscriber connection):
    // once a later turn's audio is out, the late chunk above was handled, and dropped.
    const later = newTurn();
    await chunk(later, 0, 0, true);
    await waitDeliver(later, 'audio');
    expect(types(t)).toEqual(['audio0.0#0', 'stop', 'turn_end']);
    expect(ofTurn(t)[1]).toMatchObject({ type: 'stop', task_id: t.task_id, reason: 'test' });
  });
});
