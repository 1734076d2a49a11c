/**
 * Shared helpers of the placeholder services (issue 2): build the next message of a turn from the
 * previous one, keeping session_id / turn_id / task_id so the turn can be traced end to end.
 */
import type { TaskMessage } from '../../shared/bus.js';

export function nextMessage(prev: TaskMessage, type: string, data: Record<string, unknown>): TaskMessage {
  return {
    session_id: prev.session_id,
    turn_id: prev.turn_id,
    task_id: prev.task_id,
    seq: prev.seq,
    ts: Date.now(),
    type,
    data,
  };
}

/** The text carried by a placeholder message (or a marker when there is none). */
export function textOf(msg: TaskMessage, fallback: string): string {
  return typeof msg.data.text === 'string' ? msg.data.text : fallback;
}
