/**
 * The asr service as a real worker process on a real bus (redis-server and the embedded bus), with
 * the pocketsphinx engine and the Silero VAD: AsrTasks made from flite speech, live microphone
 * frames sent in real time (event order, end-of-speech timing, transcript), turn cancels and stops,
 * a mic session owned by another instance, and a start-up failure that names its fix.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeProcessHost } from '../../src/main/supervisor/index.js';
import { Channels, Queues, type ControlEvent } from '../../src/shared/bus.js';
import { nowMs, type AsrTask, type MicFrame } from '../../src/shared/voice.js';
import { floatToS16 } from '../../src/workers/audio/pcm.js';
import { ownerKey } from '../../src/workers/asr/mic.js';
import { findOnPath } from '../../src/workers/asr/pocketsphinx.js';
import { Tap, WorkerProcess, publishSettings, sleep, type Received } from '../dialog/harness.js';
import { BACKENDS, client, startBackend, type Backend } from '../supervisor/helpers.js';
import { RATE, SENTENCES, concat, say, silence, speechSpan, wordErrors } from './speech.js';

const installed = Boolean(findOnPath('pocketsphinx_continuous'));
const FRAME = 320; // 20 ms

describe.skipIf(!installed).each(BACKENDS)('asr service (%s)', (kind) => {
  let bus: Backend;
  let redis: Redis;
  let tap: Tap;
  let worker: WorkerProcess | undefined;
  let seq = 0;

  const task = (session: string, pcm: Float32Array, extra: Partial<AsrTask> = {}): AsrTask => {
    const id = randomUUID();
    return {
      session_id: session,
      turn_id: id,
      task_id: id,
      seq: seq++,
      ts: Date.now(),
      marks: { input: nowMs() },
      source: 'upload',
      pcm_b64: floatToS16(pcm).toString('base64'),
      sample_rate: 16000,
      duration_ms: (pcm.length / RATE) * 1000,
      ...extra,
    };
  };
  const push = (t: AsrTask) => redis.lpush(Queues.asrTasks, JSON.stringify(t));
  const resultOf = (turnId: string, timeoutMs = 30_000) => tap.next(Channels.asrResults, (m) => m.turn_id === turnId, timeoutMs);
  const frame = (session: string, n: number, kindOf: MicFrame['kind'], pcm?: Float32Array): MicFrame => ({
    session_id: session,
    seq: n,
    ts: Date.now(),
    kind: kindOf,
    sample_rate: 16000,
    ...(pcm ? { pcm_b64: floatToS16(pcm).toString('base64') } : {}),
  });
  /** Sends audio as a live mic: 20 ms frames on a real-time schedule. Returns when each frame was sent. */
  const stream = async (session: string, audio: Float32Array): Promise<number[]> => {
    await redis.publish(Channels.mic, JSON.stringify(frame(session, 0, 'start')));
    const sentAt: number[] = [];
    const t0 = nowMs();
    for (let i = 0, n = 1; i < audio.length; i += FRAME, n++) {
      const due = t0 + (i / RATE) * 1000;
      const wait = due - nowMs();
      if (wait > 1) await sleep(wait);
      await redis.publish(Channels.mic, JSON.stringify(frame(session, n, 'audio', audio.subarray(i, i + FRAME))));
      sentAt.push(nowMs());
    }
    return sentAt;
  };
  const events = (session: string) => tap.on(Channels.events, (m) => m.session_id === session);

  beforeAll(async () => {
    bus = await startBackend(kind);
    redis = await client(bus.url);
    await publishSettings(redis, { asr: { engine: 'pocketsphinx' } });
    tap = await Tap.open(bus.url, [Channels.asrResults, Channels.events]);
    worker = await WorkerProcess.start('asr', bus.url, { FAV_LOG_LEVEL: 'warn' });
  }, 90_000);
  afterAll(async () => {
    await worker?.stop();
    await tap?.close();
    redis?.disconnect();
    await bus?.stop();
  });

  it('transcribes AsrTasks of flite speech; silence gives ""; marks are carried and added', async () => {
    const a = task('s-task', say(SENTENCES[0], 'slt'));
    // Two sentences with a long pause: the pause is cut, the engine hears one utterance.
    const b = task('s-task', concat(say(SENTENCES[5], 'kal16'), silence(2500), say(SENTENCES[7], 'kal16')));
    const quiet = task('s-task', silence(1500));
    for (const t of [a, b, quiet]) await push(t);
    const [ra, rb, rq] = await Promise.all([resultOf(a.turn_id), resultOf(b.turn_id), resultOf(quiet.turn_id)]);
    expect(wordErrors(SENTENCES[0], ra.msg.text as string).errors, ra.msg.text as string).toBeLessThanOrEqual(2);
    expect(wordErrors(`${SENTENCES[5]} ${SENTENCES[7]}`, rb.msg.text as string).errors, rb.msg.text as string).toBeLessThanOrEqual(3);
    expect(rq.msg).toMatchObject({ text: '', engine: 'pocketsphinx' });
    expect(rq.msg.error).toBeUndefined();
    expect(ra.msg).toMatchObject({ session_id: 's-task', task_id: a.task_id, source: 'upload', engine: 'pocketsphinx', language: 'en' });
    const m = ra.msg.marks as Record<string, number>;
    expect(m.input).toBe(a.marks.input);
    expect(m.transcript).toBeGreaterThan(m.input!);
    expect(m.asr_engine_ms).toBeGreaterThan(0);
    console.log(`asr task (${kind}): queue -> result ${Math.round(m.transcript! - m.input!)} ms, engine ${Math.round(m.asr_engine_ms!)} ms for ${Math.round(a.duration_ms)} ms of audio`);
  }, 90_000);

  it('live mic: speech_start at once, speech_end ~300 ms after the speech, then the transcript', async () => {
    const session = `mic-${randomUUID().slice(0, 6)}`;
    const speech = say(SENTENCES[2], 'slt');
    const span = speechSpan(speech, 0.01);
    const lead = silence(600);
    const audio = concat(lead, speech, silence(1200));
    const sentAt = await stream(session, audio);
    await redis.publish(Channels.mic, JSON.stringify(frame(session, sentAt.length + 1, 'end')));
    const result = await tap.next(Channels.asrResults, (m) => m.session_id === session, 30_000);
    const final = await tap.next(Channels.events, (m) => m.session_id === session && m.kind === 'transcript' && m.final === true, 10_000);
    const evs = events(session);
    expect(evs.filter((e) => e.msg.kind !== 'transcript' || e.msg.final).map((e) => e.msg.kind)).toEqual(['speech_start', 'speech_end', 'transcript']);
    const [start, end] = evs as [Received, Received];
    expect(start.msg.turn_id).toBe('-');
    const turn = end.msg.turn_id as string;
    expect(turn).toMatch(/^[0-9a-f-]{36}$/);
    expect(end.msg.task_id).toBe(turn);
    expect(result.msg).toMatchObject({ turn_id: turn, task_id: turn, source: 'mic', engine: 'pocketsphinx' });
    expect(final.msg.turn_id).toBe(turn);
    expect(final.msg.text).toBe(result.msg.text);
    expect(wordErrors(SENTENCES[2], result.msg.text as string).errors, result.msg.text as string).toBeLessThanOrEqual(2);
    // Timing against the frames that carried the speech's first and last sample.
    const onsetSent = sentAt[Math.floor((lead.length + span.start) / FRAME)]!;
    const endSent = sentAt[Math.floor((lead.length + span.end) / FRAME)]!;
    const startLag = start.at - onsetSent;
    const endLag = end.at - endSent;
    const marks = result.msg.marks as Record<string, number>;
    console.log(
      `asr mic (${kind}): speech_start ${Math.round(startLag)} ms after the onset was sent (minSpeechMs 150), ` +
        `speech_end ${Math.round(endLag)} ms after the last speech was sent (minSilenceMs 300), ` +
        `transcript ${Math.round(marks.transcript! - marks.speech_end!)} ms after speech_end (engine ${Math.round(marks.asr_engine_ms!)} ms)`,
    );
    expect(startLag).toBeLessThan(150 + 64 + 150);
    expect(endLag).toBeGreaterThan(250);
    expect(endLag).toBeLessThan(300 + 32 + 150);
    expect(marks.speech_end).toBeGreaterThan(endSent);
  }, 60_000);

  it('two utterances in one mic stream make two turns, in order', async () => {
    const session = `mic2-${randomUUID().slice(0, 6)}`;
    const audio = concat(silence(300), say(SENTENCES[9], 'slt'), silence(900), say(SENTENCES[10], 'slt'), silence(900));
    const sentAt = await stream(session, audio);
    await redis.publish(Channels.mic, JSON.stringify(frame(session, sentAt.length + 1, 'end')));
    const results = await waitCount(() => tap.on(Channels.asrResults, (m) => m.session_id === session), 2, 30_000);
    expect(wordErrors(SENTENCES[9], results[0]!.msg.text as string).errors).toBeLessThanOrEqual(2);
    expect(wordErrors(SENTENCES[10], results[1]!.msg.text as string).errors).toBeLessThanOrEqual(2);
    const evs = events(session);
    expect(evs.filter((e) => e.msg.kind === 'speech_start' || e.msg.kind === 'speech_end').map((e) => e.msg.kind)).toEqual(['speech_start', 'speech_end', 'speech_start', 'speech_end']);
    // Transcripts follow their own speech_end (the first may come after the second utterance began)
    // and keep the utterances' order, as do the results.
    const ends = evs.filter((e) => e.msg.kind === 'speech_end');
    const finals = await waitCount(() => events(session).filter((e) => e.msg.kind === 'transcript' && e.msg.final), 2, 10_000);
    expect(finals.map((e) => e.msg.turn_id)).toEqual(ends.map((e) => e.msg.turn_id));
    expect(results.map((r) => r.msg.turn_id)).toEqual(ends.map((e) => e.msg.turn_id));
    for (let i = 0; i < 2; i++) expect(finals[i]!.at).toBeGreaterThan(ends[i]!.at);
  }, 60_000);

  it('a cancelled turn is skipped, a stop drops the session\'s older tasks; other work goes on', async () => {
    const cancelled = task('s-ctl', say(SENTENCES[1], 'slt'));
    await redis.publish(Channels.control, JSON.stringify({ action: 'cancel', session_id: 's-ctl', turn_id: cancelled.turn_id, ts: Date.now() } satisfies ControlEvent));
    const old = task('s-stop', say(SENTENCES[3], 'slt'));
    await sleep(5);
    await redis.publish(Channels.control, JSON.stringify({ action: 'stop', session_id: 's-stop', ts: Date.now() } satisfies ControlEvent));
    await sleep(5);
    const after = task('s-stop', say(SENTENCES[4], 'slt'));
    const other = task('s-other', say(SENTENCES[6], 'slt'));
    for (const t of [cancelled, old, after, other]) await push(t);
    const [ra, ro] = await Promise.all([resultOf(after.turn_id), resultOf(other.turn_id)]);
    expect(wordErrors(SENTENCES[4], ra.msg.text as string).errors).toBeLessThanOrEqual(2);
    expect(wordErrors(SENTENCES[6], ro.msg.text as string).errors).toBeLessThanOrEqual(2);
    expect(tap.on(Channels.asrResults, (m) => m.turn_id === cancelled.turn_id || m.turn_id === old.turn_id)).toEqual([]);
    // A turn-less cancel (barge-in) stops nothing here: the new speech must be recognised.
    const next = task('s-stop', say(SENTENCES[8], 'slt'));
    await redis.publish(Channels.control, JSON.stringify({ action: 'cancel', session_id: 's-stop', ts: Date.now() + 1000 } satisfies ControlEvent));
    await push(next);
    expect(wordErrors(SENTENCES[8], (await resultOf(next.turn_id)).msg.text as string).errors).toBeLessThanOrEqual(2);
  }, 90_000);

  it('leaves a mic session claimed by another instance alone', async () => {
    const session = `mic-other-${randomUUID().slice(0, 6)}`;
    await redis.set(ownerKey(session), 'asr@elsewhere#1', 'PX', 60_000);
    const sentAt = await stream(session, concat(silence(300), say(SENTENCES[11], 'slt'), silence(800)));
    await redis.publish(Channels.mic, JSON.stringify(frame(session, sentAt.length + 1, 'end')));
    await sleep(1500);
    expect(events(session)).toEqual([]);
    expect(tap.on(Channels.asrResults, (m) => m.session_id === session)).toEqual([]);
    expect(await redis.get(ownerKey(session))).toBe('asr@elsewhere#1');
    // Our own claim is released at the end of a stream.
    const mine = `mic-mine-${randomUUID().slice(0, 6)}`;
    const sent = await stream(mine, silence(400));
    expect(await redis.get(ownerKey(mine))).toBe(worker!.instanceId);
    await redis.publish(Channels.mic, JSON.stringify(frame(mine, sent.length + 1, 'end')));
    await waitCount(async () => ((await redis.get(ownerKey(mine))) === null ? [1] : []), 1, 5000);
  }, 30_000);
});

/** Polls a list until it has n items (the tap and the bus answer quickly). */
async function waitCount<T>(get: () => T[] | Promise<T[]>, n: number, timeoutMs: number): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const items = await get();
    if (items.length >= n) return items;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} items (have ${items.length})`);
    await sleep(50);
  }
}

describe('asr service start-up failure', () => {
  it('a sherpa-onnx model that cannot be downloaded stops the worker with the fix on stderr', async () => {
    const bus = await startBackend('redis-server');
    const redis = await client(bus.url);
    try {
      await publishSettings(redis, { asr: { engine: 'sherpa-onnx', sherpa: { modelsBaseUrl: 'http://127.0.0.1:9/asr-models' } } });
      const proc = new NodeProcessHost().spawn({ service: 'asr', instanceId: 'asr@test#fail', args: ['--redis', bus.url], env: { FAV_LOG_LEVEL: 'fatal' } });
      let stderr = '';
      proc.onStderr((c) => (stderr += c));
      const code = await new Promise<number | null>((r) => proc.onExit((c) => r(c)));
      expect(code).toBe(1);
      expect(stderr).toMatch(/asr: initialisation failed: sherpa-onnx model sense-voice is not downloaded and the download failed: .*set asr\.sherpa\.modelsBaseUrl, or download http:\/\/127\.0\.0\.1:9\/asr-models\/\S+\.tar\.bz2 and unpack it into \S+/);
      // One line, no stack trace.
      expect(stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      redis.disconnect();
      await bus.stop();
    }
  }, 60_000);
});
