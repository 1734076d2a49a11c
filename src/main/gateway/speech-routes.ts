/**
 * The studio's speech endpoints (SettingsPaths.tts*, speechModels): voice previews and the voice
 * list from the tts worker, the sherpa-onnx model admin from the asr worker, both asked over the bus
 * (bus-ask.ts; the gateway cannot reach into the workers). Every failure is a ProbeFailure-shaped
 * JSON body: a stable `code` the page translates, the English `error` and the `fix`.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { SettingsPaths, type ProbeFailure, type SpeechModelView, type TtsVoicesView } from '../../shared/settings-api.js';
import { AsrModelsReply, SpeechChannels, TtsAdminReply, TtsPreviewBody } from '../../shared/speech-admin.js';
import { requireToken } from './auth.js';
import { BusAsk, type Asked } from './bus-ask.js';

export interface SpeechRoutesOptions {
  /** The bus URL, password included. */
  busUrl: string;
  /** How long a preview may take before the page is told so, ms (the worker gives up at 20 s). */
  previewTimeoutMs?: number;
  /** How long the voice list and the model actions may take, ms. */
  adminTimeoutMs?: number;
}

const NameParams = z.object({ name: z.string().min(1).max(100) });

/** HTTP status of a worker's failure code. */
const STATUS: Record<string, number> = { unknown_model: 404, in_use: 409, downloading: 409, broken: 409, timeout: 504 };

/** ProbeFailure's shape with the speech services' own codes (tts_failed, asr_not_running, ...). */
type SpeechFailure = Omit<ProbeFailure, 'ok' | 'code'> & { code: string };

function failure(reply: FastifyReply, status: number, f: SpeechFailure): FastifyReply {
  return reply.code(status).send({ ok: false, ...f });
}

/** A question that got no answer: the service is not running, is too slow, or the bus is down. */
function unanswered(reply: FastifyReply, service: 'tts' | 'asr', r: Exclude<Asked<unknown>, { status: 'ok' }>): FastifyReply {
  if (r.status === 'no_receiver') {
    return failure(reply, 503, {
      code: `${service}_not_running`,
      error: `the ${service} service is not running`,
      fix: `start it on the Manager page, or read its error there (a failed ${service} engine stops it)`,
    });
  }
  if (r.status === 'timeout') {
    return failure(reply, 504, { code: 'timeout', error: `the ${service} service did not answer in time`, fix: `check the ${service} service on the Manager page and try again` });
  }
  return failure(reply, 503, { code: 'bus_unreachable', error: `the bus cannot be reached: ${r.error ?? 'unknown error'}`, fix: 'check the bus settings and restart the app' });
}

export function speechPlugin(opts: SpeechRoutesOptions, token: string) {
  const auth = requireToken(token);
  const previewTimeoutMs = opts.previewTimeoutMs ?? 25_000;
  const adminTimeoutMs = opts.adminTimeoutMs ?? 10_000;

  return async (app: FastifyInstance): Promise<void> => {
    const bus = new BusAsk(opts.busUrl, 'gateway-speech');
    app.addHook('onClose', () => bus.close());

    app.post(SettingsPaths.ttsPreview, { preHandler: auth }, async (req, reply) => {
      const body = TtsPreviewBody.safeParse(req.body);
      if (!body.success) {
        const why = body.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
        return failure(reply, 400, { code: 'bad_request', error: why, fix: 'send {"engine", "voice", "text", "rate"} with a text of 1 to 300 characters' });
      }
      const r = await bus.ask(SpeechChannels.ttsAdmin, { action: 'preview', ...body.data }, { timeoutMs: previewTimeoutMs, reply: TtsAdminReply });
      if (r.status !== 'ok') return unanswered(reply, 'tts', r);
      const a = r.reply;
      if (!a.ok || !a.wav_b64) {
        return failure(reply, STATUS[a.code ?? ''] ?? 422, { code: a.code ?? 'tts_failed', error: a.error ?? 'the preview failed', fix: a.fix ?? 'try another voice' });
      }
      reply.header('x-duration-ms', String(a.duration_ms ?? 0));
      if (a.truncated) reply.header('x-truncated', '1');
      return reply.type('audio/wav').header('cache-control', 'no-store').send(Buffer.from(a.wav_b64, 'base64'));
    });

    app.get(SettingsPaths.ttsVoices, { preHandler: auth }, async (_req, reply) => {
      const r = await bus.ask(SpeechChannels.ttsAdmin, { action: 'voices' }, { timeoutMs: adminTimeoutMs, reply: TtsAdminReply });
      if (r.status !== 'ok') return unanswered(reply, 'tts', r);
      return { engines: r.reply.engines ?? [] } satisfies TtsVoicesView;
    });

    const models = async (reply: FastifyReply, action: 'list' | 'download' | 'cancel' | 'delete', name?: string) => {
      const r = await bus.ask(SpeechChannels.asrModels, { action, ...(name ? { name } : {}) }, { timeoutMs: adminTimeoutMs, reply: AsrModelsReply });
      if (r.status !== 'ok') return unanswered(reply, 'asr', r);
      const a = r.reply;
      if (!a.ok) return failure(reply, STATUS[a.code ?? ''] ?? 500, { code: a.code ?? 'failed', error: a.error ?? 'the model action failed', fix: a.fix ?? '' });
      return reply.send({ models: (a.models ?? []) as SpeechModelView[] });
    };
    const nameOf = (params: unknown) => NameParams.parse(params).name;

    app.get(SettingsPaths.speechModels, { preHandler: auth }, (_req, reply) => models(reply, 'list'));
    app.post(`${SettingsPaths.speechModels}/:name/download`, { preHandler: auth }, (req, reply) => models(reply, 'download', nameOf(req.params)));
    app.delete(`${SettingsPaths.speechModels}/:name/download`, { preHandler: auth }, (req, reply) => models(reply, 'cancel', nameOf(req.params)));
    app.delete(`${SettingsPaths.speechModels}/:name`, { preHandler: auth }, (req, reply) => models(reply, 'delete', nameOf(req.params)));
  };
}
