/**
 * Which AsrTasks a ControlEvent stops. A cancel naming a turn drops that turn's task (queued or in
 * flight); a 'stop' drops every task of the session that was created before it. A cancel without a
 * turn is the dialog's barge-in, caused by the user starting to speak: recognising that speech is
 * the point, so it stops nothing here. Memory is bounded (the newest ids and sessions are kept).
 */
import type { ControlEvent } from '../../shared/bus.js';
import type { AsrTask } from '../../shared/voice.js';

const MAX_TURNS = 1000;
const MAX_SESSIONS = 1000;

export class TurnCancels {
  private readonly turns = new Set<string>();
  private readonly stops = new Map<string, number>();
  private readonly inFlight = new Map<string, { session: string; createdAt: number; ac: AbortController }>();

  /** Records the event; aborts the matching tasks in flight and returns how many. */
  onControl(ev: ControlEvent): number {
    if (ev.turn_id) {
      this.turns.add(ev.turn_id);
      if (this.turns.size > MAX_TURNS) this.turns.delete(this.turns.values().next().value!);
    } else if (ev.action === 'stop') {
      this.stops.delete(ev.session_id);
      this.stops.set(ev.session_id, ev.ts);
      if (this.stops.size > MAX_SESSIONS) this.stops.delete(this.stops.keys().next().value!);
    } else {
      return 0;
    }
    let n = 0;
    for (const [turn, t] of this.inFlight) {
      if (turn === ev.turn_id || (!ev.turn_id && t.session === ev.session_id && t.createdAt <= ev.ts)) {
        t.ac.abort(new Error(`turn ${ev.action === 'stop' ? 'stopped' : 'cancelled'}`));
        n++;
      }
    }
    return n;
  }

  isCancelled(task: AsrTask): boolean {
    if (this.turns.has(task.turn_id)) return true;
    const stop = this.stops.get(task.session_id);
    return stop !== undefined && createdAt(task) <= stop;
  }

  /** An AbortController for the task, aborted by a matching control event or by `signal`. */
  track(task: AsrTask, signal: AbortSignal): AbortController {
    const ac = new AbortController();
    if (signal.aborted) ac.abort(signal.reason);
    else signal.addEventListener('abort', () => ac.abort(signal.reason), { once: true, signal: ac.signal });
    this.inFlight.set(task.turn_id, { session: task.session_id, createdAt: createdAt(task), ac });
    return ac;
  }

  untrack(task: AsrTask): void {
    this.inFlight.delete(task.turn_id);
  }
}

/** When the input was accepted (the gateway's mark), else when the task was created. */
function createdAt(task: AsrTask): number {
  return task.marks.input ?? task.ts;
}
