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
 * restart of this service forgets them. The turn in flight of each session is kept in a bus hash
 * (DIALOG_ACTIVE_KEY): a restarted engine ends those turns (worker_lost) instead of leaving them open.
 */
import { DIALOG_ACTIVE_KEY } from '../../shared/bus.js';
import { Bus } from '../../shared/contract.js';
import { z } from 'zod';
import { UserInput } from '../../shared/voice.js';
import { channelInput, publish, push, queueInput, type ServiceDefinition, type WorkerContext } from '../runtime/index.js';
import { DialogEngine, type KeptSession } from './engine.js';
import { knobsOf } from './knobs.js';

/** Turns kept for a restarted engine expire after this (no turn lasts an hour). */
const TRACK_TTL_MS = 3_600_000;

/** What a previous process kept per session (its turn in flight, its waiting inputs), taken off the bus at once. */
async function takeLostSessions(ctx: WorkerContext): Promise<KeptSession[]> {
  const [[, raw]] = (await ctx.redis.multi().hgetall(DIALOG_ACTIVE_KEY).del(DIALOG_ACTIVE_KEY).exec()) as [[Error | null, Record<string, string>]];
  return Object.entries(raw ?? {}).flatMap(([sessionId, json]) => {
    const kept = parseKept(json);
    if (!kept) ctx.log.warn({ session_id: sessionId }, 'unreadable state of the previous dialog engine: dropped');
    return kept ? [kept] : [];
  });
}

const Kept = z.object({ active: UserInput.optional(), waiting: z.array(UserInput) });

/** A kept session; a bare UserInput is the active turn as an older engine kept it. */
export function parseKept(json: string): KeptSession | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  const kept = Kept.safeParse(value);
  if (kept.success) return kept.data;
  const turn = UserInput.safeParse(value);
  return turn.success ? { active: turn.data, waiting: [] } : undefined;
}

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
      track(sessionId, kept) {
        const write = kept ? redis.multi().hset(DIALOG_ACTIVE_KEY, sessionId, JSON.stringify(kept)).pexpire(DIALOG_ACTIVE_KEY, TRACK_TTL_MS) : redis.multi().hdel(DIALOG_ACTIVE_KEY, sessionId);
        write.exec().catch((e: Error) => log.warn({ session_id: sessionId, err: e.message }, 'could not keep the turn in flight on the bus'));
      },
    },
    ctx.settings.dialog,
    knobs,
  );
}

const service: ServiceDefinition = {
  name: 'dialog-engine',
  async create(ctx) {
    const engine = createEngine(ctx);
    await engine.recover(await takeLostSessions(ctx));
    return {
      inputs: [
        queueInput({ topic: Bus.dialogInputs, handle: (input) => engine.onInput(input) }),
        channelInput({ topic: Bus.events, concurrent: true, handle: async (ev) => engine.onEvent(ev) }),
        channelInput({ topic: Bus.control, concurrent: true, handle: async (ev) => engine.onControl(ev) }),
        channelInput({ topic: Bus.status, concurrent: true, handle: async (ev) => engine.onServiceStatus(ev) }),
      ],
      dispose: () => engine.dispose(),
    };
  },
};
export default service;
