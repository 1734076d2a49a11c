/**
 * The seed's `POST /api/asr` {sessionId, audio (base64), contentType}: queues the recording as a
 * turn of that session and answers with its final transcript and reply text once the reply is
 * complete (the turn's audio still goes to the session's sockets):
 *   200 {sessionId, transcript, reply, stats, taskId}
 *   400 missing or invalid body (code audio_empty when the audio is ''); 413 audio over settings
 *       input.maxBytes (code audio_too_large)
 *   422 the audio could not be decoded or recognised (input/asr errors: empty, corrupt, silent, ...)
 *   409 the turn was stopped or cancelled (stop button, barge-in) before the reply was complete, or
 *       the input was merged into another waiting input (code merged; the error names that turn)
 *   429 the session is busy and its input policy dropped this input
 *   502 a later stage failed (LLM unreachable, ...)
 *   503 the bus is unreachable, or the studio is shutting down; 504 no reply in time (the turn is
 *       then cancelled)
 * Errors are {error, code?, stage?, sessionId, transcript?}.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Channels, Queues } from '../../../shared/bus.js';
import { StudioPaths } from '../../../shared/renderer-api.js';
import type { ClientEvent } from '../../../shared/voice.js';
import { ErrorCodes, nowMs } from '../../../shared/voice.js';
import { SEED_UNAUTHORIZED, seedAccessAllowed } from './access.js';
import type { VoiceBus } from './bus-link.js';
import type { Delivered, DeliveryRouter } from './delivery.js';
import { controlEvent, inputTask, newTaskId } from './messages.js';
import { SESSION_ID, type ResolvedVoiceOptions } from './options.js';

const Body = z.object({
  sessionId: z.string().regex(SESSION_ID, 'expected a session id (letters, digits, _ . : -, at most 128)'),
  audio: z.string().min(1, 'the audio is empty'),
  contentType: z.string().min(1).max(200).optional(),
});

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const DATA_URL = /^data:([^;,]+)?(?:;[^;,]*)*;base64,/;

interface Outcome {
  status: number;
  body: Record<string, unknown>;
}

/** Decoded size of a base64 string without decoding it. */
export function base64Bytes(b64: string): number {
  let pad = 0;
  if (b64.endsWith('==')) pad = 2;
  else if (b64.endsWith('=')) pad = 1;
  return Math.floor(((b64.length - pad) * 3) / 4);
}

export function registerAsrRoute(app: FastifyInstance, token: string, bus: VoiceBus, router: DeliveryRouter, o: ResolvedVoiceOptions): void {
  const maxBytes = o.input.maxBytes;
  const tooLarge = `audio too large: the limit is ${maxBytes} bytes (settings input.maxBytes)`;
  // Requests still waiting when the gateway closes are answered at once, so shutdown does not wait.
  const waiting = new Set<TurnWaiter>();
  app.addHook('preClose', async () => {
    for (const w of waiting) w.settle({ status: 503, body: { error: 'the studio is shutting down: the turn was not answered', sessionId: w.sessionId, transcript: w.transcript } });
  });
  app.post(StudioPaths.asr, {
    // base64 is 4/3 of the bytes; room for the JSON around it.
    bodyLimit: Math.ceil((maxBytes * 4) / 3) + 64 * 1024,
    errorHandler: (err: { statusCode?: number; code?: string; message: string }, _req, reply) => {
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ error: tooLarge, code: 'audio_too_large' });
      const code = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
      return reply.code(code).send({ error: code === 400 ? `invalid body: ${err.message}` : err.message });
    },
    handler: async (req: FastifyRequest, reply: FastifyReply) => {
      if (!seedAccessAllowed(req, token)) return reply.code(401).send({ error: SEED_UNAUTHORIZED });
      const parsed = Body.safeParse(req.body);
      if (!parsed.success) {
        const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
        const emptyAudio = parsed.error.issues.some((i) => i.path[0] === 'audio' && i.code === 'too_small');
        return reply.code(400).send({ error: `invalid body: ${why}; expected {"sessionId","audio":"<base64>","contentType"}`, ...(emptyAudio ? { code: ErrorCodes.audioEmpty } : {}) });
      }
      const { sessionId } = parsed.data;
      let audio = parsed.data.audio;
      let contentType = parsed.data.contentType;
      // Browsers' FileReader.readAsDataURL gives "data:audio/webm;base64,...": take it as it comes.
      const dataUrl = DATA_URL.exec(audio.slice(0, 300));
      if (dataUrl) {
        audio = audio.slice(dataUrl[0].length);
        contentType ??= dataUrl[1];
      }
      if (audio.length === 0) return reply.code(400).send({ error: 'invalid body: audio: the audio is empty', code: ErrorCodes.audioEmpty, sessionId });
      if (!BASE64.test(audio)) return reply.code(400).send({ error: 'invalid body: audio is not base64', sessionId });
      if (base64Bytes(audio) > maxBytes) return reply.code(413).send({ error: tooLarge, code: 'audio_too_large', sessionId });

      const taskId = newTaskId();
      const task = inputTask({ session_id: sessionId, task_id: taskId, type: 'audio', source: 'upload', audio_b64: audio, ...(contentType ? { content_type: contentType } : {}) });
      task.marks.speech_end = task.marks.input;
      const waiter = new TurnWaiter(sessionId, task.marks.input);
      const unroute = router.onTask(taskId, (d) => waiter.onEvent(d));
      waiting.add(waiter);
      let timer: NodeJS.Timeout | undefined;
      // The client went away: stop waiting (the turn goes on for the session's sockets).
      const onGone = () => waiter.settle({ status: 499, body: {} });
      reply.raw.on('close', onGone);
      try {
        await bus.push(Queues.input, task);
        timer = setTimeout(() => {
          waiter.settle({ status: 504, body: { error: `no reply within ${o.asrTimeoutMs} ms: the turn was cancelled (is the pipeline running? see /health)`, sessionId, transcript: waiter.transcript } });
          bus.publish(Channels.control, controlEvent('cancel', sessionId, 'api/asr timeout', taskId)).catch(() => {});
        }, o.asrTimeoutMs);
        const out = await waiter.done;
        if (out.status === 499) return reply; // nobody to answer
        out.body.taskId = taskId;
        return reply.code(out.status).send(out.body);
      } catch (err) {
        return reply.code(503).send({ error: `the pipeline is unreachable (bus: ${(err as Error).message}); nothing was queued`, sessionId });
      } finally {
        clearTimeout(timer);
        unroute();
        waiting.delete(waiter);
        reply.raw.off('close', onGone);
      }
    },
  });
}

/** Collects one turn's transcript and reply from its ClientEvents. */
class TurnWaiter {
  transcript = '';
  private marks: Record<string, number> = {};
  private transcriptAt: number | undefined;
  private resolve!: (o: Outcome) => void;
  private settled = false;
  readonly done = new Promise<Outcome>((r) => (this.resolve = r));

  constructor(
    readonly sessionId: string,
    private readonly startedAt: number,
  ) {}

  settle(o: Outcome): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve(o);
  }

  onEvent(d: Delivered): void {
    const e = d.event;
    // Marks ride on events where the contract carries them (turn_end), and loosely on others.
    const marks = (e as { marks?: Record<string, number> }).marks;
    if (marks && typeof marks === 'object') Object.assign(this.marks, marks);
    switch (e.type) {
      case 'transcript':
        if (e.final) {
          this.transcript = e.text;
          this.transcriptAt = nowMs();
        }
        return;
      case 'reply_done':
        return this.settle({ status: 200, body: { sessionId: this.sessionId, transcript: this.transcript, reply: e.text, stats: this.stats() } });
      case 'error':
        return this.onError(e);
      case 'stop':
        return this.fail(409, `the turn was stopped before its reply was complete (${e.reason})`, 'cancelled');
      case 'turn_end':
        if (e.reason === 'merged') return this.fail(409, `this input was merged into turn ${e.merged_into ?? '?'} (dialog input policy merge): that turn's reply answers it`, 'merged');
        if (e.reason === 'done') return this.settle({ status: 200, body: { sessionId: this.sessionId, transcript: this.transcript, reply: '', stats: this.stats() } });
        return this.fail(e.reason === 'cancelled' ? 409 : 502, `the turn ended (${e.reason}) before its reply was complete`, e.reason);
      default:
        return;
    }
  }

  private onError(e: Extract<ClientEvent, { type: 'error' }>): void {
    // A sentence TTS failed on, or a client-side delivery problem: the reply text still comes.
    if (e.stage === 'tts' || e.stage === 'output' || e.stage === 'gateway') return;
    const status = e.code === 'busy' ? 429 : e.stage === 'input' || e.stage === 'asr' ? 422 : 502;
    this.settle({ status, body: { error: e.message, code: e.code, stage: e.stage, sessionId: this.sessionId, transcript: this.transcript } });
  }

  private fail(status: number, error: string, code: string): void {
    this.settle({ status, body: { error, code, sessionId: this.sessionId, transcript: this.transcript } });
  }

  /** Timings in ms: the gateway's own clock, and the pipeline's marks relative to the input. */
  private stats(): Record<string, unknown> {
    const now = nowMs();
    const round = (v: number) => Math.round(v * 10) / 10;
    const stages: Record<string, number> = {};
    const base = this.marks.input ?? this.startedAt;
    for (const [k, v] of Object.entries(this.marks)) {
      if (typeof v === 'number') stages[k] = k.endsWith('_ms') ? round(v) : round(v - base);
    }
    return {
      total_ms: round(now - this.startedAt),
      ...(this.transcriptAt !== undefined ? { transcript_ms: round(this.transcriptAt - this.startedAt) } : {}),
      ...(Object.keys(stages).length > 0 ? { marks: stages } : {}),
    };
  }
}
