/**
 * tts: speaks each sentence of a turn (`tts_requests`, one `TtsRequest` per sentence) with the
 * engine named by `tts.engine` (flite offline by default; espeak-ng, an OpenAI-compatible speech
 * server, GPT-SoVITS, Edge) and publishes the audio in chunks with lip-sync data on
 * `task_response:{task_id}`; `fav:control` cancels a turn's speech at once. See speaker.ts for the
 * message flow. An engine that cannot work (not installed, server unreachable, bad voice) fails
 * the worker at start-up with a message that names the fix. `fav:tts:admin` answers the studio's
 * voice previews and voice list (preview.ts).
 */
import { Bus } from '../../shared/contract.js';
import { channelInput, queueInput, serveRequests, type ServiceDefinition } from '../runtime/index.js';
import { createEngine, defaultVoice } from './engine.js';
import { listVoices, preview } from './preview.js';
import { TtsSpeaker } from './speaker.js';

const service: ServiceDefinition = {
  name: 'tts',
  async create(ctx) {
    const { tts } = ctx.settings;
    const started = performance.now();
    const engine = await createEngine(ctx.settings);
    await engine.init();
    const speaker = new TtsSpeaker({ engine, redis: ctx.redis, log: ctx.log, tts });
    ctx.log.info({ engine: engine.name, voice: defaultVoice(tts), rate: tts.rate, init_ms: Math.round(performance.now() - started) }, 'tts engine ready');
    return {
      inputs: [
        queueInput({ topic: Bus.ttsRequests, handle: (req, job) => speaker.handleRequest(req, job.signal) }),
        channelInput({ topic: Bus.control, concurrent: true, handle: async (ev) => speaker.handleControl(ev) }),
        serveRequests({
          topic: Bus.ttsAdmin,
          reply: Bus.ttsAdminReply,
          // The page gave up on it by then (the gateway waits less).
          staleMs: 60_000,
          async handle(req, job) {
            if (req.action === 'voices') return { ok: true, engines: await listVoices(job.settings) };
            const started = performance.now();
            const answer = await preview(job.settings, req);
            job.log.info({ engine: req.engine, voice: req.voice, chars: req.text.length, ok: answer.ok, code: answer.code, ms: Math.round(performance.now() - started) }, 'tts preview');
            return answer;
          },
        }),
      ],
      dispose: () => engine.dispose(),
    };
  },
};
export default service;
