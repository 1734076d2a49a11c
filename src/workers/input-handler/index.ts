/**
 * input-handler: turns what users send into pipeline inputs.
 *
 *   fav:input (InputTask)
 *     text  -> cleaned (NFC, whitespace collapsed, control characters removed), limits checked
 *              -> UserInput LPUSHed to fav:dialog:inputs
 *     audio -> decoded in memory (WAV, WebM/Ogg Opus, MP3, raw PCM), limits checked, 16 kHz mono
 *              -> AsrTask LPUSHed to asr_tasks (marks.speech_end = now unless the gateway set it);
 *              asr hands its transcript to the dialog engine itself
 *
 * Every rejected input becomes a TurnEvent `error` on fav:events (stage 'input', the code, the
 * session/turn/task ids) and the task is acknowledged: the service stays up and moves on.
 */
import { Bus } from '../../shared/contract.js';
import { ErrorCodes, follow, nowMs, type AsrTask, type ErrorCode, type InputTask, type Stage, type TurnMessage, type UserInput } from '../../shared/voice.js';
import { freeDecoders, initDecoders, normaliseAudio, sniffAudio } from '../audio/decode.js';
import { AudioFormatError, floatToS16 } from '../audio/pcm.js';
import { publish, push, queueInput, type JobContext, type ServiceDefinition } from '../runtime/index.js';
import { TextInputError, cleanAndCut, normaliseText } from './text.js';

const DATA_URL = /^data:([^,]*?)(?:;base64)?,/i;

/** Authors (live-chat names) are cut to this many characters. */
const MAX_AUTHOR_CHARS = 100;

async function publishError(job: JobContext, msg: TurnMessage & Pick<InputTask, 'source'>, stage: Stage, code: ErrorCode, message: string): Promise<void> {
  await publish(job.redis, Bus.events, { ...follow(msg), kind: 'error', stage, code, message, source: msg.source });
  job.log.info({ session_id: msg.session_id, turn_id: msg.turn_id, task_id: msg.task_id, stage, code, reason: message }, 'input rejected');
}

async function handleText(task: InputTask, job: JobContext): Promise<void> {
  const text = normaliseText(task.text, job.settings.input.maxTextChars);
  const author = task.author !== undefined ? cleanAndCut(task.author, MAX_AUTHOR_CHARS) : '';
  const input: UserInput = { ...follow(task), source: task.source, text, ...(author ? { author } : {}) };
  await push(job.redis, Bus.dialogInputs, input);
}

/** Decoded base64 size without decoding (for the size limit before allocating). */
function base64Bytes(b64: string): number {
  let pad = 0;
  if (b64.endsWith('==')) pad = 2;
  else if (b64.endsWith('=')) pad = 1;
  return Math.floor((b64.length * 3) / 4) - pad;
}

async function handleAudio(task: InputTask, job: JobContext): Promise<void> {
  const limits = job.settings.input;
  let b64 = task.audio_b64 ?? '';
  let contentType = task.content_type;
  // A browser's FileReader.readAsDataURL gives "data:audio/webm;codecs=opus;base64,...": take it as it comes.
  const dataUrl = DATA_URL.exec(b64.slice(0, 200));
  if (dataUrl) {
    b64 = b64.slice(dataUrl[0].length);
    contentType ??= dataUrl[1] || undefined;
  }
  if (b64.length === 0) {
    throw new AudioFormatError('the upload carries no audio (audio_b64 is missing or empty)', ErrorCodes.audioEmpty);
  }
  if (base64Bytes(b64) > limits.maxBytes) {
    const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
    throw new AudioFormatError(`the upload is ${mb(base64Bytes(b64))}; the limit is ${mb(limits.maxBytes)} (settings input.maxBytes)`, ErrorCodes.audioTooLarge);
  }
  const bytes = Buffer.from(b64, 'base64');
  const t0 = performance.now();
  const { pcm16k, durationMs } = await normaliseAudio(bytes, contentType, { maxBytes: limits.maxBytes, maxDurationS: limits.maxDurationS });
  const decodeMs = performance.now() - t0;
  const marks = { ...task.marks };
  marks.speech_end ??= nowMs();
  const asr: AsrTask = {
    ...follow(task, marks),
    source: task.source,
    pcm_b64: floatToS16(pcm16k.samples).toString('base64'),
    sample_rate: 16000,
    duration_ms: Math.round(durationMs),
    language: job.settings.asr.language,
  };
  job.signal.throwIfAborted(); // shutdown past its drain deadline: the runtime requeues the task
  await push(job.redis, Bus.asrTasks, asr);
  job.log.info(
    {
      session_id: task.session_id,
      turn_id: task.turn_id,
      format: sniffAudio(bytes) ?? contentType ?? 'unknown',
      bytes: bytes.length,
      duration_ms: Math.round(durationMs),
      decode_ms: Math.round(decodeMs * 10) / 10,
    },
    'audio normalised',
  );
}

async function onInput(task: InputTask, job: JobContext): Promise<void> {
  try {
    if (task.type === 'text') await handleText(task, job);
    else await handleAudio(task, job);
  } catch (e) {
    if (job.signal.aborted) throw e;
    if (e instanceof AudioFormatError || e instanceof TextInputError) {
      await publishError(job, task, 'input', e.code, e.message);
      return;
    }
    // Anything else is our bug or a decoder failure we did not foresee: still an answer, not a crash.
    job.log.error({ err: (e as Error).stack ?? String(e), task_id: task.task_id }, 'input failed unexpectedly');
    await publishError(job, task, 'input', ErrorCodes.inputFailed, `the ${task.type} input could not be processed: ${(e as Error).message}`);
  }
}

const service: ServiceDefinition = {
  name: 'input-handler',
  async create(ctx) {
    // Loaded up front so the first upload does not wait; a failure here must not keep the text
    // path down: decoding retries lazily and a failing upload gets its error event.
    const t0 = performance.now();
    try {
      await initDecoders();
      ctx.log.debug({ ms: Math.round(performance.now() - t0) }, 'audio decoders loaded');
    } catch (e) {
      ctx.log.warn({ err: (e as Error).message }, 'audio decoders could not be loaded now; will retry on the first upload');
    }
    return {
      inputs: [queueInput({ topic: Bus.input, handle: onInput })],
      dispose: () => freeDecoders(),
    };
  },
};
export default service;
