/**
 * The tts service as a real worker process with flite, on each bus (redis-server and the embedded
 * bus): a turn's chunks in order with envelopes, visemes and marks, the end marker and events,
 * sentences with nothing to say, cancel (in flight and queued, by turn and by session) with the
 * cancel-to-abort time measured. Streaming engines and start-up failures: service-streaming.test.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels, Queues } from '../../../src/shared/bus.js';
import { ENVELOPE_FRAME_MS, TtsChunk, nowMs, type TtsAudio } from '../../../src/shared/voice.js';
import { BACKENDS, client, startBackend, type Backend } from '../../main/supervisor/helpers.js';
import { BusRecorder, pushRequests, startTtsWorker, ttsRequest, type TtsWorker } from './worker.js';

const newTurn = (session = `s-${randomUUID().slice(0, 6)}`) => ({ session_id: session, turn_id: `t-${randomUUID().slice(0, 8)}`, turn_start: nowMs() });
const cancel = (redis: Redis, session_id: string, turn_id?: string, action: 'cancel' | 'stop' = 'cancel') =>
  redis.publish(Channels.control, JSON.stringify({ action, session_id, ...(turn_id ? { turn_id } : {}), ts: Date.now() }));
const samplesOf = (c: TtsAudio) => Buffer.from(c.pcm_b64 ?? '', 'base64').length / 2;
/** The worker's pino records (JSON lines on stdout). */
const logRecords = (w: TtsWorker) =>
  w
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe.each(BACKENDS)('tts worker with flite (%s)', (kind) => {
  let bus: Backend;
  let redis: Redis;
  let rec: BusRecorder;
  let worker: TtsWorker;

  beforeAll(async () => {
    bus = await startBackend(kind);
    redis = await client(bus.url);
    rec = await BusRecorder.open(bus.url);
    worker = await startTtsWorker(bus.url, { engine: 'flite' });
    await worker.ready;
  }, 60_000);

  afterAll(async () => {
    expect(await worker?.stop()).toBe(0);
    await rec?.close();
    redis?.disconnect();
    await bus?.stop();
  }, 30_000);

  it('speaks a turn: ordered chunks with envelope, visemes and marks, then the end marker and events', async () => {
    const turn = newTurn();
    const texts = ['Hello there, **friend**! 😀', 'This is the second sentence.', '🎉🎉', 'And a third one.'];
    const reqs = texts.map((t, i) => ttsRequest(turn, i, t));
    reqs.push(ttsRequest(turn, texts.length, '', true));
    const t0 = nowMs();
    await pushRequests(redis, reqs);
    await rec.until(() => rec.eventsOf(turn.turn_id).find((e) => e.msg.kind === 'tts_done'), 'tts_done');
    const chunks = rec.of(turn.turn_id).map((c) => TtsChunk.parse(c.msg));
    const audio = chunks.filter((c) => c.kind === 'audio');
    // Order: by sentence, chunk counters from 0, final on each sentence's last chunk. Each chunk
    // has its own id and names the request it came of (the end marker: the `last` request).
    expect(new Set(chunks.map((c) => c.event_id)).size).toBe(chunks.length);
    expect(chunks.map((c) => c.parent_id)).toEqual(chunks.map((c) => reqs[c.index]!.event_id));
    for (const index of [0, 1, 3]) {
      const mine = audio.filter((c) => c.index === index);
      expect(mine.map((c) => c.chunk)).toEqual(mine.map((_, i) => i));
      expect(mine.map((c) => c.final)).toEqual(mine.map((_, i) => i === mine.length - 1));
      expect(mine.length).toBeGreaterThan(3);
      expect(mine[0]!.text).toBe(index === 0 ? 'Hello there, friend!' : texts[index]);
      expect(mine.slice(1).every((c) => c.text === undefined)).toBe(true);
      // First chunk ~100 ms, then ~200 ms; flite speaks at 16 kHz.
      expect(samplesOf(mine[0]!)).toBe(1600);
      expect(samplesOf(mine[1]!)).toBe(3200);
      let startMs = 0;
      for (const c of mine) {
        expect(c.sample_rate).toBe(16000);
        const ms = (samplesOf(c) / 16000) * 1000;
        expect(c.envelope.length).toBe(Math.ceil(ms / ENVELOPE_FRAME_MS));
        for (const v of c.visemes) {
          expect(v.t_ms).toBeGreaterThanOrEqual(startMs);
          expect(v.t_ms).toBeLessThan(startMs + ms);
        }
        startMs += ms;
      }
      expect(Math.max(...mine.flatMap((c) => c.envelope))).toBeGreaterThan(0.3);
      const vis = mine.flatMap((c) => c.visemes);
      expect(vis[0]).toMatchObject({ t_ms: 0, v: 'sil' });
      expect(vis.map((v) => v.t_ms)).toEqual([...vis.map((v) => v.t_ms)].sort((a, b) => a - b));
    }
    // The emoji-only sentence: one empty final chunk, so downstream ordering moves past it.
    const empty = audio.filter((c) => c.index === 2);
    expect(empty).toEqual([expect.objectContaining({ chunk: 0, final: true, text: '🎉🎉' })]);
    expect(empty[0]!.pcm_b64).toBeUndefined();
    const end = chunks.at(-1)!;
    expect(end).toMatchObject({ kind: 'end', index: 4, engine: 'flite' });
    if (end.kind !== 'end') throw new Error('the last chunk is not the end marker');
    const totalMs = audio.reduce((n, c) => n + (samplesOf(c) / 16000) * 1000, 0);
    expect(end.audio_ms).toBeCloseTo(totalMs, -1);
    // Marks: the request's are carried, tts adds its own; audio_start once, tts_done once.
    expect(audio[0]!.marks).toMatchObject({ turn_start: turn.turn_start, sentence_0: expect.any(Number), tts_start: expect.any(Number), first_audio: expect.any(Number), tts_engine_ms: expect.any(Number) });
    expect(end.marks.first_audio).toBe(audio[0]!.marks.first_audio);
    const events = rec.eventsOf(turn.turn_id).map((e) => e.msg);
    expect(events.map((e) => e.kind)).toEqual(['audio_start', 'tts_done']);
    expect(events[0]!.marks).toMatchObject({ first_audio: audio[0]!.marks.first_audio, tts_engine_ms: audio[0]!.marks.tts_engine_ms });
    expect(events[1]).toMatchObject({ sentences: 4, audio_ms: end.audio_ms });
    const firstMs = rec.of(turn.turn_id)[0]!.at - t0;
    console.info(`tts worker (flite): first chunk ${firstMs.toFixed(1)} ms after LPUSH; engine ${audio[0]!.marks.tts_engine_ms} ms; ${audio.length} chunks, ${Math.round(totalMs)} ms of audio`);
  });

  it('cancel by turn: the sentence in flight stops, queued ones are dropped, no end marker; the next turn speaks', async () => {
    const turn = newTurn();
    // About ten seconds of speech: flite needs a few hundred ms for it even on a fast machine.
    const long = (i: number) =>
      `Sentence ${i} is a rather long one. It goes on for a while, so that the cancel arrives while the engine is still working on it. ` +
      'And then it goes on a little more, just to be sure, with a few more words about nothing in particular, until it finally ends here.';
    await pushRequests(redis, [ttsRequest(turn, 0, 'Short first one.'), ...[1, 2, 3].map((i) => ttsRequest(turn, i, long(i), i === 3))]);
    // Sentence 0 is out; 30 ms later sentence 1 is being synthesised.
    await rec.until(() => rec.of(turn.turn_id).find((c) => c.msg.kind === 'audio' && c.msg.index === 0 && c.msg.final), 'sentence 0 done');
    await new Promise((r) => setTimeout(r, 30));
    const cancelWall = Date.now();
    await cancel(redis, turn.session_id, turn.turn_id);
    // The next turn of the same session is not affected.
    const next = newTurn(turn.session_id);
    await pushRequests(redis, [ttsRequest(next, 0, 'New turn.', true)]);
    await rec.until(() => rec.of(next.turn_id).find((c) => c.msg.kind === 'end'), 'next turn end');
    expect(rec.of(turn.turn_id).filter((c) => c.msg.index >= 1)).toEqual([]);
    expect(rec.of(turn.turn_id).some((c) => c.msg.kind === 'end')).toBe(false);
    expect(await redis.llen(Queues.ttsRequests)).toBe(0);
    const aborted = logRecords(worker).find((r) => r.msg === 'tts: sentence in flight aborted' && r.turn_id === turn.turn_id);
    expect(aborted).toMatchObject({ index: 1 });
    console.info(`tts worker (flite): cancel published -> synthesis aborted in the worker: ${(aborted!.time as number) - cancelWall} ms (ms clock; heard after ${aborted!.heard_ms} ms, engine stop ${aborted!.abort_ms} ms)`);
  });

  it('stop without turn_id drops the session turns that started before it, queued ones included', async () => {
    const turn = newTurn();
    const other = newTurn(); // another session: untouched
    await pushRequests(redis, [ttsRequest(turn, 0, 'First of the stopped turn, long enough to be in flight when the stop comes.')]);
    await rec.until(() => rec.of(turn.turn_id).length > 0, 'first chunk');
    await pushRequests(redis, [ttsRequest(turn, 1, 'Queued and never spoken.', true), ttsRequest(other, 0, 'Other session speaks.', true)]);
    await cancel(redis, turn.session_id, undefined, 'stop');
    await rec.until(() => rec.of(other.turn_id).find((c) => c.msg.kind === 'end'), 'other session end');
    expect(rec.of(turn.turn_id).some((c) => c.msg.index === 1 || c.msg.kind === 'end')).toBe(false);
  });
});
