/**
 * The output handler as a real worker process on a real bus (redis-server and the embedded bus),
 * driven by hand: the test publishes what chat-ai (ai_responses), tts (task_response:{task_id},
 * fav:events), dialog-engine (turn_state, turn_end) and the gateway (fav:control) would, and reads
 * the ClientEvents on fav:deliver.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels, type ControlEvent, newEventId } from '../../../src/shared/bus.js';
import { AiResponse, ClientEvent, TtsChunk, TurnEvent, nowMs } from '../../../src/shared/voice.js';
import { BACKENDS, client, startBackend, type Backend } from '../../main/supervisor/helpers.js';
import { Tap, WorkerProcess, percentile, publishSettings, sleep } from '../dialog-engine/harness.js';

describe.each(BACKENDS)('output-handler (%s)', (kind) => {
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
      JSON.stringify(TtsChunk.parse({
        ...base(t),
        kind: 'audio',
        index,
        chunk: c,
        final,
        pcm_b64: pcmOf(index, c),
        sample_rate: 22050,
        envelope: [0.1, 0.5],
        visemes: [{ t_ms: 0, v: 'A' }],
        ...(c === 0 ? { text: `sentence ${index}` } : {}),
        ...extra,
      })),
    );
  const ttsError = (t: Turn, index: number) =>
    redis.publish(Channels.taskResponse(t.task_id), JSON.stringify(TtsChunk.parse({ ...base(t), kind: 'error', index, code: 'tts_unavailable', error: `engine failed on sentence ${index}` })));
  const ttsEnd = (t: Turn, sentences: number) =>
    redis.publish(Channels.taskResponse(t.task_id), JSON.stringify(TtsChunk.parse({ ...base(t), kind: 'end', index: sentences, audio_ms: 1234 })));
  const event = (t: Turn, k: TurnEvent['kind'], extra: Record<string, unknown> = {}) => redis.publish(Channels.events, JSON.stringify(TurnEvent.parse({ ...base(t), kind: k, ...extra })));
  const control = (session: string, turnId?: string, action: ControlEvent['action'] = 'cancel', ts = Date.now()) =>
    redis.publish(Channels.control, JSON.stringify({ action, session_id: session, ts, reason: 'test', ...(turnId ? { turn_id: turnId } : {}) } satisfies ControlEvent));

  /** ClientEvents of a turn (or session), each checked against the contract's schema. */
  const delivered = (pred: (m: Record<string, unknown>) => boolean) =>
    tap.on(Channels.deliver, pred).map((r) => {
      const parsed = ClientEvent.safeParse(r.msg);
      if (!parsed.success) throw new Error(`invalid ClientEvent ${JSON.stringify(r.msg)}: ${parsed.error.message}`);
      return parsed.data;
    });
  const ofTurn = (t: Turn) => delivered((m) => m.turn_id === t.turn_id);
  const types = (t: Turn) => ofTurn(t).map((e) => (e.type === 'audio' ? `audio${e.index}.${e.chunk}#${e.seq}` : e.type));
  const waitDeliver = (pred: (m: Record<string, unknown>) => boolean, timeoutMs = 5000, from = 0) => tap.next(Channels.deliver, pred, timeoutMs, from);

  beforeAll(async () => {
    bus = await startBackend(kind);
    redis = await client(bus.url);
    tap = await Tap.open(bus.url, [Channels.deliver]);
    await publishSettings(redis, { output: { gapMs: 400, maxTurns: 5 } });
    worker = await WorkerProcess.start('output-handler', bus.url, { FAV_LOG_LEVEL: 'warn' });
  }, 90_000);

  afterAll(async () => {
    await worker?.stop();
    await tap?.close();
    redis?.disconnect();
    await bus?.stop();
  }, 30_000);

  it('delivers a turn in order: transcript, state, deltas, emotion, audio with gap-free seq, reply_done, audio_end, turn_end', async () => {
    const t = newTurn();
    await event(t, 'transcript', { text: 'hi there', final: true, marks: { ...t.marks, transcript: nowMs() } });
    await event(t, 'turn_state', { state: 'thinking' });
    await reply(t, 'delta', { text: 'Hello ' });
    await event(t, 'emotion', { emotion: 'joy' });
    await reply(t, 'delta', { text: 'world.' });
    await reply(t, 'sentence', { text: 'Hello world.', index: 0 });
    await chunk(t, 0, 0, false, { marks: { ...t.marks, first_audio: nowMs() } });
    await chunk(t, 0, 1, true);
    await reply(t, 'done', { text: 'Hello world.', sentences: 1, marks: { ...t.marks, llm_first_token: nowMs() } });
    await chunk(t, 1, 0, true);
    await ttsEnd(t, 2);
    await event(t, 'turn_end', { reason: 'done' });
    await waitDeliver((m) => m.type === 'turn_end' && m.turn_id === t.turn_id);
    expect(types(t)).toEqual(['transcript', 'turn_state', 'reply_delta', 'emotion', 'reply_delta', 'audio0.0#0', 'audio0.1#1', 'reply_done', 'audio1.0#2', 'audio_end', 'turn_end']);
    const evs = ofTurn(t);
    const audio = evs.filter((e) => e.type === 'audio');
    // Audio passes through untouched, with the lip-sync data and the sentence text on chunk 0.
    expect(audio.map((a) => a.pcm_b64)).toEqual([pcmOf(0, 0), pcmOf(0, 1), pcmOf(1, 0)]);
    expect(audio[0]).toMatchObject({ task_id: t.task_id, format: 'pcm_s16le', sample_rate: 22050, envelope: [0.1, 0.5], envelope_frame_ms: 20, visemes: [{ t_ms: 0, v: 'A' }], text: 'sentence 0' });
    expect(evs.find((e) => e.type === 'audio_end')).toMatchObject({ chunks: 3 });
    // transcript and reply_done carry their marks (the seed's /api/asr reports timings from them).
    expect(evs.find((e) => e.type === 'transcript')).toMatchObject({ text: 'hi there', final: true, marks: { transcript: expect.any(Number) } });
    expect(evs.find((e) => e.type === 'reply_done')).toMatchObject({ text: 'Hello world.', marks: { llm_first_token: expect.any(Number) } });
    // turn_end carries the turn's timeline, with the marks seen on the way and `delivered`.
    const end = evs.find((e) => e.type === 'turn_end')!;
    expect(end.type === 'turn_end' && end.marks).toMatchObject({ turn_start: t.marks.turn_start, first_audio: expect.any(Number), delivered: expect.any(Number) });
  });

  it('puts out-of-order sentences back in order and holds later ones until the gap fills', async () => {
    const t = newTurn();
    await chunk(t, 1, 0, false);
    await chunk(t, 1, 1, true);
    await chunk(t, 2, 0, true);
    await ttsEnd(t, 3);
    await sleep(100);
    expect(types(t)).toEqual([]);
    await chunk(t, 0, 0, false);
    await waitDeliver((m) => m.turn_id === t.turn_id && m.type === 'audio');
    await sleep(50);
    expect(types(t)).toEqual(['audio0.0#0']);
    await chunk(t, 0, 1, true);
    await waitDeliver((m) => m.turn_id === t.turn_id && m.type === 'audio_end');
    expect(types(t)).toEqual(['audio0.0#0', 'audio0.1#1', 'audio1.0#2', 'audio1.1#3', 'audio2.0#4', 'audio_end']);
    // A chunk played already (a sentence re-synthesised after a TTS restart) is not played twice.
    await chunk(t, 1, 0, false);
    await sleep(100);
    expect(types(t)).toHaveLength(6);
  });

  it('skips a failed sentence, reports its error, and still ends the audio', async () => {
    const t = newTurn();
    await chunk(t, 0, 0, true);
    await chunk(t, 2, 0, true);
    await ttsError(t, 1);
    await chunk(t, 1, 0, true); // a late chunk of the failed sentence
    await ttsEnd(t, 3);
    await waitDeliver((m) => m.turn_id === t.turn_id && m.type === 'audio_end');
    await sleep(50);
    expect(types(t)).toEqual(['audio0.0#0', 'error', 'audio2.0#1', 'audio_end']);
    expect(ofTurn(t).find((e) => e.type === 'error')).toMatchObject({ stage: 'tts', code: 'tts_unavailable', message: 'engine failed on sentence 1', task_id: t.task_id });
  });

  it('forwards errors as they come, each stage reporting a failure once', async () => {
    const t = newTurn();
    await reply(t, 'delta', { text: 'Let me ' });
    await event(t, 'error', { stage: 'llm', code: 'llm_unreachable', message: 'Cannot reach the LLM at http://127.0.0.1:1/v1: is Ollama running?' });
    const other = newTurn(t.session_id);
    await event(other, 'error', { stage: 'input', code: 'text_too_long', message: 'Text is longer than 4000 characters.' });
    await event(t, 'turn_end', { reason: 'error' });
    await waitDeliver((m) => m.type === 'turn_end' && m.turn_id === t.turn_id);
    await waitDeliver((m) => m.type === 'error' && m.turn_id === other.turn_id);
    expect(types(t)).toEqual(['reply_delta', 'error', 'turn_end']);
    expect(ofTurn(t)[1]).toMatchObject({ stage: 'llm', code: 'llm_unreachable', message: expect.stringMatching(/Ollama/) });
    expect(ofTurn(other)).toEqual([{ type: 'error', session_id: t.session_id, turn_id: other.turn_id, task_id: other.task_id, stage: 'input', code: 'text_too_long', message: 'Text is longer than 4000 characters.' }]);
    // An error that belongs to no turn yet goes out without ids.
    await redis.publish(Channels.events, JSON.stringify({ session_id: t.session_id, turn_id: '-', task_id: '-', event_id: newEventId(), ts: Date.now(), marks: {}, kind: 'error', stage: 'asr', code: 'asr_unavailable', message: 'no ASR engine' } satisfies TurnEvent));
    const e = await waitDeliver((m) => m.type === 'error' && m.code === 'asr_unavailable' && m.session_id === t.session_id);
    expect(e.msg).not.toHaveProperty('turn_id');
  });

  it('a merged input\'s turn_end (dialog typedPolicy merge) reaches its clients, naming the turn it joined', async () => {
    const t = newTurn();
    const into = newTurn(t.session_id);
    await event(t, 'turn_end', { reason: 'merged', merged_into: into.turn_id });
    const end = await waitDeliver((m) => m.type === 'turn_end' && m.turn_id === t.turn_id);
    expect(ClientEvent.parse(end.msg)).toEqual({ type: 'turn_end', session_id: t.session_id, turn_id: t.turn_id, task_id: t.task_id, reason: 'merged', merged_into: into.turn_id, marks: t.marks });
  });

  it('cancel: stop at once, then nothing of the turn but its turn_end; late chunks after turn_end are dropped', async () => {
    const t = newTurn();
    await reply(t, 'delta', { text: 'A long story.' });
    await chunk(t, 0, 0, false);
    await chunk(t, 1, 0, true); // waiting behind sentence 0
    await waitDeliver((m) => m.turn_id === t.turn_id && m.type === 'audio');
    await control(t.session_id, t.turn_id);
    await waitDeliver((m) => m.turn_id === t.turn_id && m.type === 'stop');
    // Everything after the cancel is dropped (the buffered sentence 1 too).
    await chunk(t, 0, 1, true);
    await reply(t, 'delta', { text: 'more' });
    await event(t, 'turn_state', { state: 'speaking' }); // dialog-engine's, published before it saw the cancel
    await event(t, 'emotion', { emotion: 'sad' });
    await reply(t, 'done', { text: 'A long story. more', sentences: 2 });
    await ttsEnd(t, 2);
    // dialog's turn_end cancelled: forwarded, with no second stop.
    await event(t, 'turn_end', { reason: 'cancelled' });
    await waitDeliver((m) => m.turn_id === t.turn_id && m.type === 'turn_end');
    await chunk(t, 2, 0, true);
    await reply(t, 'delta', { text: 'late' });
    await sleep(150);
    expect(types(t)).toEqual(['reply_delta', 'audio0.0#0', 'stop', 'turn_end']);
    expect(ofTurn(t).find((e) => e.type === 'stop')).toMatchObject({ task_id: t.task_id, reason: 'test' });
  });

  it("dialog's turn_end cancelled alone also stops the turn", async () => {
    const t = newTurn();
    await chunk(t, 0, 0, false);
    await event(t, 'turn_end', { reason: 'cancelled' });
    await waitDeliver((m) => m.turn_id === t.turn_id && m.type === 'turn_end');
    await chunk(t, 0, 1, true);
    await sleep(100);
    expect(types(t)).toEqual(['audio0.0#0', 'stop', 'turn_end']);
  });

  it('a turn-less stop stops every active turn of the session; a turn that started before it is dropped on sight', async () => {
    const session = `s-${randomUUID()}`;
    const a = newTurn(session);
    const b = newTurn(session);
    const old = newTurn(session); // started before the stop, first heard of after it
    const elsewhere = newTurn();
    for (const t of [a, b, elsewhere]) await chunk(t, 0, 0, false);
    await waitDeliver((m) => m.turn_id === elsewhere.turn_id && m.type === 'audio');
    await control(session, undefined, 'stop');
    await waitDeliver((m) => m.turn_id === a.turn_id && m.type === 'stop');
    await waitDeliver((m) => m.turn_id === b.turn_id && m.type === 'stop');
    await chunk(old, 0, 0, true);
    await reply(old, 'delta', { text: 'stale' });
    const fresh = newTurn(session);
    await chunk(fresh, 0, 0, true);
    await waitDeliver((m) => m.turn_id === fresh.turn_id && m.type === 'audio');
    expect(types(old)).toEqual([]);
    expect(types(elsewhere)).toEqual(['audio0.0#0']);
    // With nothing in flight, a stop still reaches clients (they may be playing the last turn).
    const quiet = `s-${randomUUID()}`;
    await control(quiet, undefined, 'stop');
    const stop = await waitDeliver((m) => m.session_id === quiet && m.type === 'stop');
    expect(stop.msg.turn_id).toBe('-');
  });

  it('skips a sentence that never comes after the gap time, so the rest still plays', async () => {
    const t = newTurn();
    await chunk(t, 0, 0, true);
    await chunk(t, 2, 0, true);
    await ttsEnd(t, 3);
    const t0 = nowMs();
    const end = await waitDeliver((m) => m.turn_id === t.turn_id && m.type === 'audio_end', 3000);
    expect(end.at - t0).toBeGreaterThanOrEqual(350);
    expect(types(t)).toEqual(['audio0.0#0', 'audio2.0#1', 'audio_end']);
  });

  it('bounds the turns it tracks (max 5): the oldest is forgotten and its late events dropped', async () => {
    const first = newTurn();
    await reply(first, 'delta', { text: 'first' });
    await waitDeliver((m) => m.turn_id === first.turn_id);
    for (let i = 0; i < 6; i++) {
      const t = newTurn();
      await reply(t, 'delta', { text: `t${i}` });
    }
    const last = newTurn();
    await reply(last, 'delta', { text: 'last' });
    await waitDeliver((m) => m.turn_id === last.turn_id);
    await reply(first, 'delta', { text: 'late' });
    await reply(last, 'delta', { text: 'still here' });
    await waitDeliver((m) => m.turn_id === last.turn_id && m.text === 'still here');
    expect(ofTurn(first).map((e) => e.type === 'reply_delta' && e.text)).toEqual(['first']);
  });

  it('measures stop latency (ControlEvent publish -> stop on fav:deliver) and the audio hop (TtsChunk publish -> audio)', async () => {
    const stops: number[] = [];
    const hops: number[] = [];
    const bus: number[] = [];
    const pcm = randomBytes(9600).toString('base64'); // 200 ms at 24 kHz
    for (let n = 0; n < 60; n++) {
      const t = newTurn();
      for (let c = 0; c < 5; c++) {
        const from = tap.mark;
        const t0 = nowMs();
        await chunk(t, 0, c, false, { pcm_b64: pcm, sample_rate: 24000, envelope: Array(10).fill(0.3) });
        const got = await waitDeliver((m) => m.turn_id === t.turn_id && m.type === 'audio' && m.chunk === c, 3000, from);
        hops.push(got.at - t0);
      }
      // Baseline: the bus alone, a publish straight onto fav:deliver and back.
      const from = tap.mark;
      let t0 = nowMs();
      await redis.publish(Channels.deliver, JSON.stringify({ probe: t.turn_id }));
      bus.push((await waitDeliver((m) => m.probe === t.turn_id, 3000, from)).at - t0);
      t0 = nowMs();
      await control(t.session_id, t.turn_id);
      stops.push((await waitDeliver((m) => m.turn_id === t.turn_id && m.type === 'stop', 3000, from)).at - t0);
    }
    const fmt = (v: number[]) => `p50 ${percentile(v, 50).toFixed(2)} ms, p95 ${percentile(v, 95).toFixed(2)} ms (n=${v.length})`;
    console.log(`[${kind}] stop: ControlEvent publish -> stop ClientEvent: ${fmt(stops)}`);
    console.log(`[${kind}] audio: TtsChunk publish -> audio ClientEvent (9.6 KB PCM): ${fmt(hops)}`);
    console.log(`[${kind}] bus alone: publish -> receive on fav:deliver: ${fmt(bus)}`);
    // The median shows our work (about 1-5 ms; more with the embedded bus inside a busy test process);
    // the tail is the shared machine's scheduling. Both only
    // have to stay far from what a polling or blocked implementation would show.
    expect(percentile(stops, 50)).toBeLessThan(50);
    expect(percentile(hops, 50)).toBeLessThan(50);
    expect(percentile(stops, 95)).toBeLessThan(250);
    expect(percentile(hops, 95)).toBeLessThan(250);
  });
});
