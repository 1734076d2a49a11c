/**
 * Which turns are still live, for every service that must drop the work of a stopped turn.
 *
 * One rule: a turn is dead when its id was cancelled, when it ended, or when its session was
 * cancelled after the turn started. Everything is bounded: each set keeps its newest `max`
 * entries (insertion order; re-recording an entry makes it the newest).
 *
 * One time base: epoch milliseconds as the publishers stamp them. A session cancel is placed at
 * its event's `ts` (when the stop was pressed), not at the moment this process hears it: a busy
 * receiver would otherwise also stop a turn that began after the press. A turn is placed at its
 * first mark: `turn_start` (dialog-engine started it), else `input` (the gateway accepted it,
 * for messages that precede the turn's start), else the message's own `ts`; a message is always
 * published after its turn began, so `ts` can only place a turn later, never stop it wrongly.
 * A turn counts as started before the cancel only when strictly earlier: the cancel's `ts` is
 * whole milliseconds, so an input stamped in the same millisecond is given the benefit of it.
 * `now` (injectable) dates the cancels raised here without an event (`cancelSession` with no time).
 */
import type { ControlEvent } from '../../shared/bus.js';

/** What the ledger needs to know of a turn's message. */
export interface TurnRef {
  session_id: string;
  turn_id: string;
  marks?: Record<string, number>;
  ts?: number;
}

export interface TurnLedgerOptions {
  /** Entries kept per set (cancelled turns, ended turns, session cancels). Default 1024. */
  max?: number;
  /** The clock of cancels raised without an event time. Default Date.now (the clock of every `ts`). */
  now?: () => number;
}

export class TurnLedger {
  private readonly cancelled = new Set<string>();
  private readonly ended = new Set<string>();
  private readonly sessionCancels = new Map<string, number>();
  private readonly max: number;
  private readonly now: () => number;

  constructor(o: TurnLedgerOptions = {}) {
    this.max = o.max ?? 1024;
    this.now = o.now ?? Date.now;
  }

  /**
   * Records a ControlEvent: one naming a turn cancels that turn; a stop, or a cancel naming no
   * turn, cancels the session's turns that started before the event.
   */
  onControl(ev: Pick<ControlEvent, 'action' | 'session_id' | 'turn_id' | 'ts'>): void {
    if (ev.turn_id) this.cancelTurn(ev.turn_id);
    if (ev.action === 'stop' || !ev.turn_id) this.cancelSession(ev.session_id, ev.ts);
  }

  cancelTurn(turnId: string): void {
    remember(this.cancelled, turnId, this.max);
  }

  /** Cancels the session's turns that started before `at` (kept monotonic per session). */
  cancelSession(sessionId: string, at: number = this.now()): void {
    const prev = this.sessionCancels.get(sessionId);
    this.sessionCancels.delete(sessionId);
    this.sessionCancels.set(sessionId, prev === undefined ? at : Math.max(prev, at));
    while (this.sessionCancels.size > this.max) this.sessionCancels.delete(this.sessionCancels.keys().next().value!);
  }

  /** The turn is over (done, failed or cancelled): late messages of it are dropped. */
  end(turnId: string): void {
    remember(this.ended, turnId, this.max);
  }

  isLive(t: TurnRef): boolean {
    return !this.isCancelled(t) && !this.ended.has(t.turn_id);
  }

  /** Cancelled by id, or by a cancel of its session after it started (ended turns are not). */
  isCancelled(t: TurnRef): boolean {
    if (this.cancelled.has(t.turn_id)) return true;
    const at = this.sessionCancels.get(t.session_id);
    if (at === undefined) return false;
    const started = startOf(t);
    return started !== undefined && started < at;
  }

  isEnded(turnId: string): boolean {
    return this.ended.has(turnId);
  }

  /** Entries held, per set (to show that the ledger stays bounded). */
  get size(): { cancelled: number; ended: number; sessions: number } {
    return { cancelled: this.cancelled.size, ended: this.ended.size, sessions: this.sessionCancels.size };
  }
}

/** When a turn started, on the publishers' epoch-ms clock (see the header). */
export function startOf(t: Pick<TurnRef, 'marks' | 'ts'>): number | undefined {
  return t.marks?.turn_start ?? t.marks?.input ?? t.ts;
}

function remember(s: Set<string>, key: string, max: number): void {
  s.delete(key);
  s.add(key);
  while (s.size > max) s.delete(s.values().next().value!);
}
