/**
 * output-handler: ordered `ClientEvent`s per turn on `fav:deliver` (see delivery.ts).
 * Inputs (the contract table's consumers): `ai_responses` (AiResponse), pattern
 * `task_response:*` (TtsChunk), `fav:events` (TurnEvent), `fav:control` (ControlEvent).
 * Every input is concurrent: the handler runs synchronously the moment a message arrives, so the
 * events of all four inputs are processed in the order the bus delivered them, and a stop is
 * published before anything that arrives after its ControlEvent. Audio passes through as the same
 * base64 string (no decode/encode).
 */
import { Bus } from '../../shared/contract.js';
import { channelInput, publish, type ServiceDefinition } from '../runtime/index.js';
import { OutputHandler } from './delivery.js';

const service: ServiceDefinition = {
  name: 'output-handler',
  create(ctx) {
    const knobs = ctx.settings.output;
    const { redis, log } = ctx;
    log.info({ knobs }, 'output handler settings');
    const handler = new OutputHandler(
      {
        log,
        deliver(ev) {
          publish(redis, Bus.deliver, ev).catch((e: Error) => log.error({ type: ev.type, err: e.message }, 'deliver failed'));
        },
      },
      knobs,
    );
    return {
      inputs: [
        channelInput({ topic: Bus.aiResponses, concurrent: true, handle: async (r) => handler.onReply(r) }),
        channelInput({ topic: Bus.taskResponse, concurrent: true, handle: async (c) => handler.onChunk(c) }),
        channelInput({ topic: Bus.events, concurrent: true, handle: async (ev) => handler.onEvent(ev) }),
        channelInput({ topic: Bus.control, concurrent: true, handle: async (ev) => handler.onControl(ev) }),
      ],
      dispose: () => handler.dispose(),
    };
  },
};
export default service;
