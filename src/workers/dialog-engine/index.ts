/**
 * dialog-engine: the turn arbiter (see engine.ts for the state machine and its rules).
 * Inputs (the contract table's consumers):
 *   queue `fav:dialog:inputs` (UserInput)   acknowledged once its turn is on user_input_queue or
 *                                           it was queued/merged/dropped by policy
 *   channel `fav:events` (TurnEvent)         concurrent: handled the moment it arrives (barge-in)
 *   channel `fav:control` (ControlEvent)     concurrent: stop/cancel act at once
 *   channel `fav:status` (StatusEvent)       concurrent: a restarted chat-ai / output-handler ends
 *                                           the turns that were in flight
 * All three call the engine synchronously, so its per-session state changes in arrival order; what
 * it publishes goes out in that order on the command connection. Waiting inputs live in memory: a
 * restart of this service forgets them (the turn in flight is not lost: it is on user_input_queue).
 */
import { Bus } from '../../shared/contract.js';
import { channelInput, publish, push, queueInput, type ServiceDefinition, type WorkerContext } from '../runtime/index.js';
import { DialogEngine } from './engine.js';
import { knobsOf } from './knobs.js';

let engine: DialogEngine | undefined;

function createEngine(ctx: WorkerContext): DialogEngine {
  const knobs = knobsOf(ctx.settings.dialog);
  const { redis, log } = ctx;
  ctx.log.info({ dialog: ctx.settings.dialog, knobs }, 'dialog engine settings');
  return new DialogEngine(
    {
      log,
      publish(topic, msg) {
        publish(redis, topic, msg).catch((e: Error) => log.error({ channel: topic.name, err: e.message }, 'publish failed'));
      },
      async push(topic, msg) {
        await push(redis, topic, msg);
      },
    },
    ctx.settings.dialog,
    knobs,
  );
}

const service: ServiceDefinition = {
  name: 'dialog-engine',
  init(ctx) {
    engine = createEngine(ctx);
  },
  inputs: [
    queueInput({ topic: Bus.dialogInputs, handle: (input) => engine!.onInput(input) }),
    channelInput({ topic: Bus.events, concurrent: true, handle: async (ev) => engine!.onEvent(ev) }),
    channelInput({ topic: Bus.control, concurrent: true, handle: async (ev) => engine!.onControl(ev) }),
    channelInput({ topic: Bus.status, concurrent: true, handle: async (ev) => engine!.onServiceStatus(ev) }),
  ],
  dispose() {
    engine?.dispose();
    engine = undefined;
  },
};
export default service;
