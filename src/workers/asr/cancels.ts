/**
 * Which AsrTasks a ControlEvent stops. A cancel naming a turn drops that turn's task (queued or in
 * flight); a 'stop' drops every task of the session accepted before it (the runtime's TurnLedger
 * rule). A cancel naming no turn stops nothing here: recognising the speech that interrupted a
 * reply is the point of listening.
 */
import type { ControlEvent } from '../../shared/bus.js';
import type { AsrTask } from '../../shared/voice.js';
import { TurnLedger } from '../runtime/index.js';

export class TurnCancels {
  private readonly ledger = new TurnLedger();
  private readonly inFlight = new Map<string, { task: AsrTask; ac: AbortController }>();

  /** Records the event; aborts the matching tasks in flight and returns how many. */
  onControl(ev: ControlEvent): number {
    if (!ev.turn_id && ev.action !== 'stop') return 0;
    this.ledger.onControl(ev);
    let n = 0;
    for (const t of this.inFlight.values()) {
      if (!t.ac.signal.aborted && this.isCancelled(t.task)) {
        t.ac.abort(new Error(`turn ${ev.action === 'stop' ? 'stopped' : 'cancelled'}`));
        n++;
      }
    }
    return n;
  }

  isCancelled(task: AsrTask): boolean {
    return !this.ledger.isLive(task);
  }

  /** An AbortController for the task, aborted by a matching control event or by `signal`. */
  track(task: AsrTask, signal: AbortSignal): AbortController {
    const ac = new AbortController();
    if (signal.aborted) ac.abort(signal.reason);
    else signal.addEventListener('abort', () => ac.abort(signal.reason), { once: true, signal: ac.signal });
    this.inFlight.set(task.turn_id, { task, ac });
    return ac;
  }

  untrack(task: AsrTask): void {
    this.inFlight.delete(task.turn_id);
  }
}
