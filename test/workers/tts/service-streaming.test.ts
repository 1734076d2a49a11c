/**
 * The tts service as a real worker process with a streaming engine (the OpenAI-compatible
 * stand-in) on redis-server: chunks published while the engine streams, cancel mid-sentence
 * (nothing published after it, the HTTP request closed), an engine failing mid-turn (error chunk
 * and event, the next sentence still speaks), a stream breaking mid-sentence; and a start-up
 * failure that names the fix.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels } from '../../../src/shared/bus.js';
import { nowMs, type TtsAudio } from '../../../src/shared/voice.js';
import { defaultSpeech, startOpenAiServer, type OpenAiServer } from '../../helpers/openai-server.js';
import { freePort } from '../../helpers/redis-server.js';
import { client, startBackend, type Backend } from '../../main/supervisor/helpers.js';
import { BusRecorder, pushRequests, startTtsWorker, ttsRequest, type TtsWorker } from './worker.js';

const newTurn = (session = `s-${randomUUID().slice(0, 6)}`) => ({ session_id: session, turn_id: `t-${randomUUID().slice(0, 8)}`, turn_start: nowMs() });
const cancel = (redis: Redis, session_id: string, turn_id?: string) =>
  redis.publish(Channels.control, JSON.stringify({ action: 'cancel', session_id, ...(turn_id ? { turn_id } : {}), ts: Date.now() }));
const samplesOf = (c: TtsAudio) => Buffer.from(c.pcm_b64 ?? '', 'base64').length / 2;
const logRecords = (w: TtsWorker) =>
  w
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('tts worker with a streaming engine (OpenAI-compatible stand-in, redis-server)', () => {
  let bus: Backend;
  let redis: Redis;
  let rec: BusRecorder;
  let worker: TtsWorker;
  let ai: OpenAiServer;

  beforeAll(async () => {
    ai = await startOpenAiServer({
      speech: (text) => {
        if (text.includes('REFUSE')) throw new Error('This voice refuses that sentence.');
        return defaultSpeech(text);
      },
    });
    bus = await startBackend('redis-server');
    redis = await client(bus.url);
    rec = await BusRecorder.open(bus.url);
    worker = await startTtsWorker(bus.url, { engine: 'openai', openai: { baseUrl: ai.url, model: 'kokoro' } });
    await worker.ready;
  }, 60_000);

  afterAll(async () => {
    expect(await worker?.stop()).toBe(0);
    await rec?.close();
    redis?.disconnect();
    await bus?.stop();
    await ai?.close();
  }, 30_000);

  it('publishes chunks while the engine streams, and cancel mid-sentence stops them within a few ms', async () => {
    // 100 ms of audio every 40 ms: a sentence of ~5 s streams for ~2 s.
    ai.setOptions({ speechChunkBytes: 4800, speechChunkIntervalMs: 40 });
    const turn = newTurn();
    const text = 'A sentence long enough to stream for a couple of seconds, so that it can be cut off in the middle by the test.';
    const t0 = nowMs();
    await pushRequests(redis, [ttsRequest(turn, 0, text), ttsRequest(turn, 1, 'Never spoken.', true)]);
    await rec.until(() => rec.of(turn.turn_id).length >= 4, 'four chunks');
    const firstMs = rec.of(turn.turn_id)[0]!.at - t0;
    const cancelAt = nowMs();
    await cancel(redis, turn.session_id, turn.turn_id);
    const cancelWall = Date.now();
    const req = await ai.waitFor((r) => r.body?.input === text && r.aborted, 5000);
    // Nothing is published once the worker heard the cancel: the worker logs how many chunks it had
    // published, exactly that many arrive, and the next turn's end (published after them) proves no more came.
    await expect.poll(() => logRecords(worker).find((r) => r.msg === 'tts: sentence cancelled' && r.turn_id === turn.turn_id)).toBeDefined();
    const cancelled = logRecords(worker).find((r) => r.msg === 'tts: sentence cancelled' && r.turn_id === turn.turn_id)!;
    const later = newTurn(turn.session_id);
    await pushRequests(redis, [ttsRequest(later, 0, 'Later.', true)]);
    await rec.until(() => rec.of(later.turn_id).find((c) => c.msg.kind === 'end'), 'the later turn end');
    const mine = rec.of(turn.turn_id);
    const after = mine.filter((c) => c.at > cancelAt);
    const lateMs = after.length ? after.at(-1)!.at - cancelAt : 0;
    expect(mine.length).toBe(cancelled.chunks);
    expect(mine.every((c) => c.msg.kind === 'audio' && c.msg.index === 0 && !c.msg.final)).toBe(true);
    expect(req.completed).toBe(false);
    expect(ai.requests.some((r) => r.body?.input === 'Never spoken.')).toBe(false);
    const aborted = logRecords(worker).find((r) => r.msg === 'tts: sentence in flight aborted' && r.turn_id === turn.turn_id);
    expect(aborted).toMatchObject({ index: 0 });
    console.info(`tts worker (openai stand-in): cancel published -> aborted in the worker: ${(aborted!.time as number) - cancelWall} ms (ms clock; heard after ${aborted!.heard_ms} ms, engine stop ${aborted!.abort_ms} ms)`);
    console.info(`tts worker (openai stand-in): first chunk ${firstMs.toFixed(1)} ms after LPUSH; after cancel ${after.length} chunk(s), last ${lateMs.toFixed(2)} ms after the cancel; HTTP request closed ${(req.endedAt! + performance.timeOrigin - cancelAt).toFixed(1)} ms after it`);
    ai.setOptions({ speechChunkBytes: undefined, speechChunkIntervalMs: undefined });
  });

  it('an engine failing mid-turn gives one error chunk (its only report), and the next sentence still speaks', async () => {
    const turn = newTurn();
    await pushRequests(redis, [ttsRequest(turn, 0, 'First one speaks.'), ttsRequest(turn, 1, 'Please REFUSE this.'), ttsRequest(turn, 2, 'Third one speaks too.', true)]);
    await rec.until(() => rec.eventsOf(turn.turn_id).find((e) => e.msg.kind === 'tts_done'), 'tts_done');
    const chunks = rec.of(turn.turn_id).map((c) => c.msg);
    const err = chunks.find((c) => c.kind === 'error')!;
    expect(err).toMatchObject({ index: 1, engine: 'openai', code: 'tts_failed', error: expect.stringContaining('refused the sentence (400): This voice refuses that sentence.') });
    expect(chunks.filter((c) => c.kind === 'audio' && c.index === 2).at(-1)).toMatchObject({ final: true, sample_rate: 24000 });
    expect(chunks.at(-1)).toMatchObject({ kind: 'end', index: 3 });
    const events = rec.eventsOf(turn.turn_id).map((e) => e.msg);
    // tts_done came after the failure: no error event was published for it.
    expect(events.map((e) => e.kind)).toEqual(['audio_start', 'tts_done']);
    expect(events.at(-1)).toMatchObject({ kind: 'tts_done', sentences: 3 });
  });

  it('a stream that breaks mid-sentence: the audio that came is closed with a final chunk, then the error', async () => {
    ai.setOptions({ speechChunkBytes: 9600, speechChunkIntervalMs: 20, brokenStreamAfter: 3 });
    const turn = newTurn();
    await pushRequests(redis, [ttsRequest(turn, 0, 'This sentence breaks after three chunks of the stream.', true)]);
    await rec.until(() => rec.of(turn.turn_id).find((c) => c.msg.kind === 'end'), 'end chunk');
    ai.setOptions({ speechChunkBytes: undefined, speechChunkIntervalMs: undefined, brokenStreamAfter: undefined });
    const chunks = rec.of(turn.turn_id).map((c) => c.msg);
    const audio = chunks.filter((c) => c.kind === 'audio');
    expect(audio.reduce((n, c) => n + samplesOf(c), 0)).toBe((3 * 9600) / 2);
    expect(audio.at(-1)!.final).toBe(true);
    expect(chunks.map((c) => c.kind).slice(-2)).toEqual(['error', 'end']);
    expect(chunks.find((c) => c.kind === 'error')!.error).toMatch(/broke after 28800 bytes/);
  });
});

describe('tts worker start-up', () => {
  it('fails with the fix when its engine cannot work', async () => {
    const bus = await startBackend('redis-server');
    try {
      const url = `http://127.0.0.1:${await freePort()}`;
      const w = await startTtsWorker(bus.url, { engine: 'gpt-sovits', gptSovits: { url, refAudioPath: '/ref.wav' } });
      expect(await w.exited).toBe(1);
      expect(w.output()).toContain(`tts: initialisation failed: the GPT-SoVITS server at ${url} is not reachable (ECONNREFUSED): start api_v2.py or set tts.gptSovits.url`);
    } finally {
      await bus.stop();
    }
  }, 30_000);
});
