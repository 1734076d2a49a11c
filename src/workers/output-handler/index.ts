/**
 * output-handler: ordered `ClientEvent`s per turn on `fav:deliver` (see delivery.ts).
 * Inputs per SERVICE_INPUTS['output-handler']: `ai_responses` (AiResponse), pattern
 * `task_response:*` (TtsChunk), `fav:events` (TurnEvent), `fav:control` (ControlEvent).
 * Every input is concurrent: the handler runs synchronously the moment a message arrives, so the
 * events of all four inputs are processed in the order the bus delivered them, and a stop is
 * published before anything that arrives after its ControlEvent. Audio passes through as the same
 * base64 string (no decode/encode).
 */
import { Channels, ControlEvent, TASK_RESPONSE_PATTERN } from '../../shared/bus.js';
import { AiResponse, TtsChunk, TurnEvent } from '../../shared/voice.js';
import { channelInput, type ServiceDefinition } from '../runtime/index.js';
import { OutputHandler } from './delivery.js';

let handler: OutputHandler | undefined;

const service: ServiceDefinition = {
  name: 'output-handler',
  init(ctx) {
    const knobs = ctx.settings.output;
    const { redis, log } = ctx;
    log.info({ knobs }, 'output handler settings');
    handler = new OutputHandler(
      {
        log,
        deliver(ev) {
          redis.publish(Channels.deliver, JSON.stringify(ev)).catch((e: Error) => log.error({ type: ev.type, err: e.message }, 'deliver failed'));
        },
      },
      knobs,
    );
  },
  inputs: [
    channelInput({ channels: [Channels.aiResponses], schema: AiResponse, concurrent: true, handle: async (r: AiResponse) => handler!.onReply(r) }),
    channelInput({ patterns: [TASK_RESPONSE_PATTERN], schema: TtsChunk, concurrent: true, handle: async (c: TtsChunk) => handler!.onChunk(c) }),
    channelInput({ channels: [Channels.events], schema: TurnEvent, concurrent: true, handle: async (ev: TurnEvent) => handler!.onEvent(ev) }),
    channelInput({ channels: [Channels.control], schema: ControlEvent, concurrent: true, handle: async (ev: ControlEvent) => handler!.onControl(ev) }),
  ],
  dispose() {
    handler?.dispose();
    handler = undefined;
  },
};
export default service;
