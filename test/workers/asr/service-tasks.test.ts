/**
 * The asr service as a real worker process on a real bus (redis-server and the embedded bus), with
 * the pocketsphinx engine and the Silero VAD: AsrTasks made from flite speech, turn cancels and
 * stops, and a start-up failure that names its fix. Live microphone streams: service-mic.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '../../helpers/worker.js';
import { Channels, Queues, type ControlEvent } from '../../../src/shared/bus.js';
import type { UserInput } from '../../../src/shared/voice.js';
import { publishSettings } from '../dialog-engine/harness.js';
import { BACKENDS, client, startBackend } from '../../main/supervisor/helpers.js';
import { AsrRig, installed, makeTask } from './service-harness.js';
import { SENTENCES, concat, mostlyHeard, say, silence, wordErrors } from './speech.js';

describe.skipIf(!installed).each(BACKENDS)('asr service: tasks (%s)', (kind) => {
  let rig: AsrRig;
  beforeAll(async () => {
    rig = await AsrRig.start(kind);
  }, 90_000);
  afterAll(async () => {
    await rig?.stop();
  });

  it('transcribes AsrTasks of flite speech; silence gives ""; marks are carried and added', async () => {
    const a = makeTask('s-task', say(SENTENCES[0], 'slt'));
    // Two sentences with a long pause: the pause is cut, the engine hears one utterance.
    const b = makeTask('s-task', concat(say(SENTENCES[5], 'slt'), silence(2500), say(SENTENCES[7], 'slt')));
    const quiet = makeTask('s-task', silence(1500));
    for (const t of [a, b, quiet]) await rig.push(t);
    const [ra, rb, rq] = await Promise.all([rig.resultOf(a.turn_id), rig.resultOf(b.turn_id), rig.resultOf(quiet.turn_id)]);
    expect(mostlyHeard(SENTENCES[0], ra.msg.text as string), ra.msg.text as string).toBe(true);
    // Both sentences, not only the first: at most 4 word errors in 15.
    expect(wordErrors(`${SENTENCES[5]} ${SENTENCES[7]}`, rb.msg.text as string).errors, rb.msg.text as string).toBeLessThanOrEqual(4);
    expect(rq.msg).toMatchObject({ text: '', engine: 'pocketsphinx' });
    expect(rq.msg.error).toBeUndefined();
    expect(ra.msg).toMatchObject({ session_id: 's-task', task_id: a.task_id, source: 'upload', engine: 'pocketsphinx', language: 'en' });
    const m = ra.msg.marks as Record<string, number>;
    expect(m.input).toBe(a.marks.input);
    expect(m.transcript).toBeGreaterThan(m.input!);
    expect(m.asr_engine_ms).toBeGreaterThan(0);
    console.log(`asr task (${kind}): queue -> result ${Math.round(m.transcript! - m.input!)} ms, engine ${Math.round(m.asr_engine_ms!)} ms for ${Math.round(a.duration_ms)} ms of audio`);
  }, 90_000);

  it('hands each transcript straight to the dialog engine as a UserInput; silence is an audio_silent error', async () => {
    const spoken = makeTask('s-hand', say(SENTENCES[2], 'slt'));
    const quiet = makeTask('s-hand', silence(1200));
    for (const t of [spoken, quiet]) await rig.push(t);
    const err = await rig.tap.next(Channels.events, (m) => m.turn_id === quiet.turn_id && m.kind === 'error', 30_000);
    expect(err.msg).toMatchObject({ stage: 'asr', code: 'audio_silent', task_id: quiet.task_id, source: 'upload' });
    const heard = await rig.resultOf(spoken.turn_id);
    const inputs = (await rig.redis.lrange(Queues.dialogInputs, 0, -1)).map((r) => JSON.parse(r) as UserInput).filter((i) => i.session_id === 's-hand');
    expect(inputs).toEqual([
      expect.objectContaining({ turn_id: spoken.turn_id, task_id: spoken.task_id, source: 'upload', text: (heard.msg.text as string).trim(), parent_id: heard.msg.event_id }),
    ]);
  }, 90_000);


  it('a cancelled turn is skipped, a stop drops the session\'s older tasks; other work goes on', async () => {
    const cancelled = makeTask('s-ctl', say(SENTENCES[1], 'slt'));
    await rig.redis.publish(Channels.control, JSON.stringify({ action: 'cancel', session_id: 's-ctl', turn_id: cancelled.turn_id, ts: Date.now() } satisfies ControlEvent));
    // The stop's time lies between the two tasks' starts, set here rather than waited for.
    const stopAt = Date.now();
    const old = makeTask('s-stop', say(SENTENCES[3], 'slt'), { marks: { input: stopAt - 1 } });
    await rig.redis.publish(Channels.control, JSON.stringify({ action: 'stop', session_id: 's-stop', ts: stopAt } satisfies ControlEvent));
    const after = makeTask('s-stop', say(SENTENCES[4], 'slt'), { marks: { input: stopAt + 1 } });
    const other = makeTask('s-other', say(SENTENCES[6], 'slt'));
    for (const t of [cancelled, old, after, other]) await rig.push(t);
    const [ra, ro] = await Promise.all([rig.resultOf(after.turn_id), rig.resultOf(other.turn_id)]);
    expect(mostlyHeard(SENTENCES[4], ra.msg.text as string), ra.msg.text as string).toBe(true);
    expect(mostlyHeard(SENTENCES[6], ro.msg.text as string), ro.msg.text as string).toBe(true);
    expect(rig.tap.on(Channels.asrResults, (m) => m.turn_id === cancelled.turn_id || m.turn_id === old.turn_id)).toEqual([]);
    // A turn-less cancel (barge-in) stops nothing here: the new speech must be recognised.
    const next = makeTask('s-stop', say(SENTENCES[8], 'slt'));
    await rig.redis.publish(Channels.control, JSON.stringify({ action: 'cancel', session_id: 's-stop', ts: Date.now() + 1000 } satisfies ControlEvent));
    await rig.push(next);
    expect(mostlyHeard(SENTENCES[8], (await rig.resultOf(next.turn_id)).msg.text as string)).toBe(true);
  }, 90_000);

});

describe('asr service start-up failure', () => {
  it('a sherpa-onnx model that cannot be downloaded stops the worker with the fix on stderr', async () => {
    const bus = await startBackend('redis-server');
    const redis = await client(bus.url);
    try {
      await publishSettings(redis, { asr: { engine: 'sherpa-onnx', sherpa: { modelsBaseUrl: 'http://127.0.0.1:9/asr-models' } } });
      const worker = await Worker.spawn('asr', bus.url, { instanceId: 'asr@test#fail', env: { FAV_LOG_LEVEL: 'fatal' } });
      const code = await worker.exited;
      const stderr = worker.stderr;
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
