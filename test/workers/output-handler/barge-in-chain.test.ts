/**
 * dialog-engine and output-handler together, as real workers on the embedded bus: a typed turn is
 * started through the dialog engine, its audio is played by the test (standing in for memory,
 * chat-ai and tts), and the user starts speaking. What a client sees of barge-in, over two hops:
 * `stop`, then the turn's turn_end cancelled and nothing more of it, then listening. (Its latency
 * is a benchmark's business, not a test's.)
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels, Queues, newEventId } from '../../../src/shared/bus.js';
import { nowMs, type TtsChunk, type TurnEvent, type UserInput } from '../../../src/shared/voice.js';
import { client, startBackend, type Backend } from '../../main/supervisor/helpers.js';
import { QueueDrain, Tap, WorkerProcess, publishSettings } from '../dialog-engine/harness.js';

describe('barge-in through dialog-engine and output-handler', () => {
  let bus: Backend;
  let redis: Redis;
  let tap: Tap;
  let turns: QueueDrain;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    bus = await startBackend('embedded');
    redis = await client(bus.url);
    tap = await Tap.open(bus.url, [Channels.deliver, Channels.events, Channels.control]);
    turns = await QueueDrain.open(bus.url, Queues.userInput);
    await publishSettings(redis, {});
    const env = { FAV_LOG_LEVEL: 'warn' };
    workers.push(...(await Promise.all([WorkerProcess.start('dialog-engine', bus.url, env), WorkerProcess.start('output-handler', bus.url, env)])));
  }, 90_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await turns?.close();
    await tap?.close();
    redis?.disconnect();
    await bus?.stop();
  }, 30_000);

  it('speech_start during the reply: stop reaches clients, then turn_end cancelled, and the turn delivers nothing after it', async () => {
    const session = `s-${randomUUID()}`;
    const id = randomUUID();
    const input: UserInput = { session_id: session, turn_id: id, task_id: id, event_id: newEventId(), ts: Date.now(), marks: { input: nowMs() }, source: 'typed', text: 'tell me a story' };
    await redis.lpush(Queues.dialogInputs, JSON.stringify(input));
    const turn = await turns.next((m) => m.turn_id === id);
    const marks = turn.msg.marks as Record<string, number>;
    const base = { session_id: session, turn_id: id, task_id: id, event_id: newEventId(), ts: Date.now(), marks };
    // tts: first audio of the reply.
    const audio = (turnId: string, index: number): TtsChunk => ({ ...base, turn_id: turnId, task_id: turnId, kind: 'audio', index, chunk: 0, final: true, pcm_b64: Buffer.alloc(3200).toString('base64'), sample_rate: 16000, envelope: [0.2], visemes: [] });
    await redis.publish(Channels.events, JSON.stringify({ ...base, kind: 'audio_start' } satisfies TurnEvent));
    await redis.publish(Channels.taskResponse(id), JSON.stringify(audio(id, 0)));
    await tap.next(Channels.deliver, (m) => m.turn_id === id && m.type === 'audio');
    await tap.next(Channels.events, (m) => m.turn_id === id && m.kind === 'turn_state' && m.state === 'speaking');

    const from = tap.mark;
    await redis.publish(Channels.events, JSON.stringify({ ...base, turn_id: '-', task_id: '-', kind: 'speech_start' } satisfies TurnEvent));
    await tap.next(Channels.deliver, (m) => m.turn_id === id && m.type === 'stop', 5000, from);
    // tts had the next sentence in flight: it must not reach clients.
    await redis.publish(Channels.taskResponse(id), JSON.stringify(audio(id, 1)));
    const end = await tap.next(Channels.deliver, (m) => m.turn_id === id && m.type === 'turn_end', 5000, from);
    expect(end.msg.reason).toBe('cancelled');
    await tap.next(Channels.deliver, (m) => m.session_id === session && m.type === 'turn_state' && m.state === 'listening', 5000, from);
    // output-handler handles its inputs in the order the bus delivers them: once the audio of a
    // chunk published after sentence 1 is out, sentence 1 was handled, and dropped.
    const later = randomUUID();
    await redis.publish(Channels.taskResponse(later), JSON.stringify({ ...audio(later, 0), session_id: `s-${randomUUID()}` }));
    await tap.next(Channels.deliver, (m) => m.turn_id === later && m.type === 'audio', 5000, from);
    const delivered = tap.on(Channels.deliver, (m) => m.turn_id === id).map((r) => r.msg.type);
    expect(delivered.slice(delivered.indexOf('stop'))).toEqual(['stop', 'turn_end']);
    expect(delivered.filter((t) => t === 'audio')).toHaveLength(1);
  });
});
