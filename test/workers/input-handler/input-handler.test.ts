/**
 * The input-handler as a real worker process on a real bus (redis-server and the embedded bus):
 * InputTasks pushed to fav:input come out as UserInputs on fav:dialog:inputs (text) or AsrTasks on
 * asr_tasks (audio, 16 kHz s16le matching the source speech); every bad input is an error
 * TurnEvent on fav:events with its code and the turn's ids, and the service keeps serving
 * afterwards (nothing dead-lettered). What asr makes of a transcript: src/workers/asr/hand-off.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels, Queues, deadLetterList, newEventId } from '../../../src/shared/bus.js';
import { nowMs, type InputTask } from '../../../src/shared/voice.js';
import { floatToS16, s16ToFloat } from '../../../src/workers/audio/pcm.js';
import { QueueDrain, Tap, WorkerProcess, percentile, publishSettings } from '../dialog-engine/harness.js';
import { BACKENDS, client, startBackend, type Backend } from '../../main/supervisor/helpers.js';
import { envelopeSimilarity, fixture, sourceSpeech, tone } from '../audio/audio-helpers.js';

const LIMITS = { maxBytes: 100_000, maxDurationS: 5, maxTextChars: 50 };

function inputTask(extra: Partial<InputTask> & Pick<InputTask, 'type'>): InputTask {
  const id = randomUUID();
  return { session_id: `s-${randomUUID().slice(0, 8)}`, turn_id: id, task_id: id, event_id: newEventId(), ts: Date.now(), marks: { input: nowMs() }, source: 'upload', ...extra };
}

const audioTask = (bytes: Uint8Array, content_type?: string, extra: Partial<InputTask> = {}) =>
  inputTask({ type: 'audio', audio_b64: Buffer.from(bytes).toString('base64'), ...(content_type ? { content_type } : {}), ...extra });

describe.each(BACKENDS)('input-handler worker (%s)', (kind) => {
  let bus: Backend;
  let redis: Redis;
  let tap: Tap;
  let dialog: QueueDrain;
  let asr: QueueDrain;
  let worker: WorkerProcess;

  beforeAll(async () => {
    bus = await startBackend(kind);
    redis = await client(bus.url);
    tap = await Tap.open(bus.url, [Channels.events]);
    dialog = await QueueDrain.open(bus.url, Queues.dialogInputs);
    asr = await QueueDrain.open(bus.url, Queues.asrTasks);
    await publishSettings(redis, { input: LIMITS, asr: { language: 'en' } });
    worker = await WorkerProcess.start('input-handler', bus.url, { FAV_LOG_LEVEL: 'info' });
  }, 90_000);

  afterAll(async () => {
    await worker?.stop();
    await dialog?.close();
    await asr?.close();
    await tap?.close();
    redis?.disconnect();
    await bus?.stop();
  }, 30_000);

  const push = (t: InputTask) => redis.lpush(Queues.input, JSON.stringify(t));
  const errorFor = (t: { turn_id: string }, timeoutMs = 10_000) =>
    tap.next(Channels.events, (m) => m.turn_id === t.turn_id && m.kind === 'error', timeoutMs).then((r) => r.msg);

  it('typed text: cleaned, and forwarded as a UserInput with the turn ids, source, author and marks', async () => {
    const t = inputTask({ type: 'text', source: 'chat', text: '  Hello\u0000\t wo\u200brld \n\n cafe\u0301 \u202e ', author: ' viewer\u0007_1 ' });
    await push(t);
    const { msg } = await dialog.next((m) => m.turn_id === t.turn_id, 10_000);
    expect(msg).toMatchObject({ session_id: t.session_id, task_id: t.task_id, parent_id: t.event_id, source: 'chat', text: 'Hello world caf\u00e9', author: 'viewer_1' });
    expect((msg.marks as Record<string, number>).input).toBe(t.marks.input);
  });

  it('empty or too long text: text_empty / text_too_long errors with the ids', async () => {
    const empty = inputTask({ type: 'text', source: 'typed', text: ' \u200b\n\u0001 ' });
    const long = inputTask({ type: 'text', source: 'typed', text: 'x'.repeat(51) });
    await push(empty);
    await push(long);
    expect(await errorFor(empty)).toMatchObject({ session_id: empty.session_id, task_id: empty.task_id, stage: 'input', code: 'text_empty', source: 'typed' });
    const e = await errorFor(long);
    expect(e).toMatchObject({ stage: 'input', code: 'text_too_long' });
    expect(e.message).toBe('the text has 51 characters; the limit is 50 (settings input.maxTextChars)');
    expect(dialog.find((m) => m.turn_id === empty.turn_id || m.turn_id === long.turn_id)).toBeUndefined();
  });

  it.each([
    ['speech-16k.wav', 'audio/wav'],
    ['speech-24k.mp3', 'audio/mpeg'],
    ['speech-48k.webm', 'audio/webm;codecs=opus'],
    ['speech-48k.ogg', undefined],
  ])('an upload of %s becomes an AsrTask: 16 kHz s16le of the same speech, language from settings', async (name, ct) => {
    const t = audioTask(fixture(name), ct);
    const before = nowMs();
    await push(t);
    const { msg } = await asr.next((m) => m.turn_id === t.turn_id, 10_000);
    expect(msg).toMatchObject({ session_id: t.session_id, task_id: t.task_id, source: 'upload', sample_rate: 16000, language: 'en' });
    const source = sourceSpeech();
    const sourceMs = (source.samples.length / 16000) * 1000;
    expect(Math.abs((msg.duration_ms as number) - sourceMs) / sourceMs).toBeLessThan(0.03);
    const pcm = s16ToFloat(Buffer.from(msg.pcm_b64 as string, 'base64'));
    expect(Math.abs(pcm.length / 16 - (msg.duration_ms as number))).toBeLessThan(2);
    expect(envelopeSimilarity(source, { samples: pcm, sampleRate: 16000 })).toBeGreaterThan(0.95);
    const marks = msg.marks as Record<string, number>;
    expect(marks.input).toBe(t.marks.input);
    expect(marks.speech_end).toBeGreaterThanOrEqual(before);
  });

  it('takes a data: URL as the audio, with its MIME type as the content type', async () => {
    const pcm = floatToS16(tone([300], 8000, 1, 0.3));
    const t = inputTask({ type: 'audio', audio_b64: `data:audio/pcm;rate=8000;base64,${pcm.toString('base64')}` });
    await push(t);
    const { msg } = await asr.next((m) => m.turn_id === t.turn_id, 10_000);
    expect(msg.duration_ms).toBe(1000);
  });

  it('keeps a speech_end mark the gateway already set', async () => {
    const t = audioTask(fixture('speech-16k.wav'), 'audio/wav', { marks: { input: 1000, speech_end: 1234.5 } });
    await push(t);
    const { msg } = await asr.next((m) => m.turn_id === t.turn_id, 10_000);
    expect(msg.marks).toEqual({ input: 1000, speech_end: 1234.5 });
  });

  it.each([
    ['garbage in the middle of a WebM', () => audioTask(fixture('garbage-middle.webm'), 'audio/webm'), 'audio_corrupt'],
    ['a cut-off MP3', () => audioTask(fixture('truncated.mp3'), 'audio/mpeg'), 'audio_corrupt'],
    ['silence', () => audioTask(fixture('silent-16k.wav'), 'audio/wav'), 'audio_silent'],
    ['AAC in M4A', () => audioTask(fixture('speech.m4a'), 'audio/mp4'), 'audio_unsupported'],
    ['no audio at all', () => inputTask({ type: 'audio' }), 'audio_empty'],
    ['an upload over maxBytes', () => audioTask(new Uint8Array(120_000).fill(1), 'audio/pcm'), 'audio_too_large'],
    ['6 s of 8 kHz raw PCM (limit 5 s)', () => audioTask(floatToS16(tone([440], 8000, 6)), 'audio/pcm;rate=8000'), 'audio_too_long'],
    ['text that is not audio', () => audioTask(new TextEncoder().encode('<html>not audio</html>'), 'text/html'), 'audio_unsupported'],
  ])('%s: an error event (stage input) with the code and ids', async (_what, make, code) => {
    const t = make();
    await push(t);
    const e = await errorFor(t);
    expect(e).toMatchObject({ session_id: t.session_id, turn_id: t.turn_id, task_id: t.task_id, kind: 'error', stage: 'input', code, source: 'upload' });
    expect(typeof e.message).toBe('string');
    expect((e.message as string).length).toBeGreaterThan(10);
    expect(asr.find((m) => m.turn_id === t.turn_id)).toBeUndefined();
  });

  it('stays up after every rejection, keeps order, dead-letters nothing; text hop latency', async () => {
    const latencies: number[] = [];
    const turns: string[] = [];
    for (let i = 0; i < 30; i++) {
      const t = inputTask({ type: 'text', source: 'typed', text: `message ${i}` });
      turns.push(t.turn_id);
      const t0 = nowMs();
      await push(t);
      const r = await dialog.next((m) => m.turn_id === t.turn_id, 10_000);
      latencies.push(r.at - t0);
    }
    const order = dialog.items.filter((r) => turns.includes(r.msg.turn_id as string)).map((r) => r.msg.text);
    expect(order).toEqual(turns.map((_, i) => `message ${i}`));
    expect(await redis.llen(deadLetterList(Queues.input))).toBe(0);
    const p50 = percentile(latencies, 50);
    const p95 = percentile(latencies, 95);
    console.log(`input-handler (${kind}): typed text fav:input -> fav:dialog:inputs p50 ${p50.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms (includes the test's push and BRPOP)`);
    // The hop's own work is microseconds (text.test.ts); the figures are printed, not asserted:
    // on a shared machine the bus round trips and the scheduler dominate them.
  });
});
