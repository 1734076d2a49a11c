/**
 * dialog-engine: the turn arbiter (see engine.ts for the state machine and its rules).
 * Inputs per SERVICE_INPUTS['dialog-engine']:
 *   queue `fav:dialog:inputs` (UserInput)   acknowledged once its turn is on user_input_queue or
 *                                           it was queued/merged/dropped by policy
 *   channel `fav:events` (TurnEvent)         concurrent: handled the moment it arrives (barge-in)
 *   channel `fav:control` (ControlEvent)     concurrent: stop/cancel act at once
 * All three call the engine synchronously, so its per-session state changes in arrival order; what
 * it publishes goes out in that order on the command connection. Waiting inputs live in memory: a
 * restart of this service forgets them (the turn in flight is not lost: it is on user_input_queue).
 */
import { Channels, ControlEvent, Queues } from '../../shared/bus.js';
import { TurnEvent, UserInput } from '../../shared/voice.js';
import { channelInput, queueInput, type ServiceDefinition, type WorkerContext } from '../runtime/index.js';
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
      publish(channel, msg) {
        redis.publish(channel, JSON.stringify(msg)).catch((e: Error) => log.error({ channel, err: e.message }, 'publish failed'));
      },
      async push(queue, msg) {
        await redis.lpush(queue, JSON.stringify(msg));
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
    queueInput({
      queue: Queues.dialogInputs,
      schema: UserInput,
      handle: (input: UserInput) => engine!.onInput(input),
    }),
    channelInput({
      channels: [Channels.events],
      schema: TurnEvent,
      concurrent: true,
      handle: async (ev: TurnEvent) => engine!.onEvent(ev),
    }),
    channelInput({
      channels: [Channels.control],
      schema: ControlEvent,
      concurrent: true,
      handle: async (ev: ControlEvent) => engine!.onControl(ev),
    }),
  ],
  dispose() {
    engine?.dispose();
    engine = undefined;
  },
};
export default service;
