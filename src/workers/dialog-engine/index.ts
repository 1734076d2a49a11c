/**
 * dialog-engine — PLACEHOLDER handler (plumbing of issue 2). The real service will own the turn
 * state machine (listening, thinking, speaking, interrupted), decide barge-in and publish cancels.
 * Here it follows the control channel and keeps the last control action per session in memory.
 */
import { Channels, ControlEvent } from '../../shared/bus.js';
import { channelInput, type ServiceDefinition } from '../runtime/index.js';

/** session_id -> last control seen (bounded: the oldest session is forgotten first). */
const turns = new Map<string, { turn_id?: string; action: ControlEvent['action']; ts: number }>();
const MAX_SESSIONS = 1000;

const service: ServiceDefinition = {
  name: 'dialog-engine',
  inputs: [
    channelInput({
    channels: [Channels.control],
    schema: ControlEvent,
    async handle(ev: ControlEvent, job) {
      turns.delete(ev.session_id);
      turns.set(ev.session_id, { ...(ev.turn_id ? { turn_id: ev.turn_id } : {}), action: ev.action, ts: ev.ts });
      if (turns.size > MAX_SESSIONS) turns.delete(turns.keys().next().value!);
      job.log.info({ session_id: ev.session_id, turn_id: ev.turn_id, action: ev.action }, 'turn state updated');
    },
  }),
  ],
  dispose() {
    turns.clear();
  },
};
export default service;
