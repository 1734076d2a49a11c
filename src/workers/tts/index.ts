/**
 * tts: speaks each sentence of a turn (`tts_requests`, one `TtsRequest` per sentence) with the
 * engine named by `tts.engine` (flite offline by default; espeak-ng, an OpenAI-compatible speech
 * server, GPT-SoVITS, Edge) and publishes the audio in chunks with lip-sync data on
 * `task_response:{task_id}`; `fav:control` cancels a turn's speech at once. See speaker.ts for the
 * message flow. An engine that cannot work (not installed, server unreachable, bad voice) fails
 * the worker at start-up with a message that names the fix.
 */
import { Bus } from '../../shared/contract.js';
import { channelInput, queueInput, type ServiceDefinition } from '../runtime/index.js';
import { createEngine, defaultVoice } from './engine.js';
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
      ],
      dispose: () => engine.dispose(),
    };
  },
};
export default service;
