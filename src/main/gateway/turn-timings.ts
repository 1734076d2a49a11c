/**
 * The timing marks of the last turns, for the manager's latency chart. Fed by the gateway: each
 * `turn_end` delivered on fav:deliver (its marks are the turn's whole timeline, collected by
 * output-handler) and each `heard` report of a session's audio socket (when its player started the
 * turn's first audio), and its recall status from the turn's memory context (memory_updates, seen
 * before the turn ends). They arrive in any order, so a turn is kept from whichever comes first
 * and listed once it has ended. Plain data: the caller says when `heard` happened.
 */
import type { TurnRecall, TurnTiming } from '../../shared/manager-api.js';

export interface TurnEndView {
  session_id: string;
  turn_id: string;
  reason?: string;
  marks?: Record<string, number>;
}

interface Entry {
  session_id: string;
  turn_id: string;
  reason?: string;
  marks: Record<string, number>;
  recall?: TurnRecall;
  ended: boolean;
}

export class TurnTimings {
  /** Insertion order is age: the first entry is the oldest. */
  private readonly entries = new Map<string, Entry>();

  /** `capacity` ended turns are listed; as many again may wait for their turn_end. */
  constructor(readonly capacity = 20) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`TurnTimings capacity must be a positive integer, got ${capacity}`);
  }

  turnEnd(ev: TurnEndView): void {
    const e = this.entry(ev.session_id, ev.turn_id);
    // The pipeline's marks, and a heard the page reported first (the pipeline never sets heard).
    e.marks = { ...(ev.marks ?? {}), ...(e.marks.heard !== undefined ? { heard: e.marks.heard } : {}) };
    if (ev.reason !== undefined) e.reason = ev.reason;
    e.ended = true;
    this.trim();
  }

  /** The page started playing the turn's first audio at `at` (epoch ms); later reports of it are ignored. */
  heard(sessionId: string, turnId: string, at: number): void {
    if (!Number.isFinite(at)) return;
    const e = this.entry(sessionId, turnId);
    e.marks.heard ??= at;
    this.trim();
  }

  /** How the turn's long-term recall went (its memory context); the last report counts. */
  recall(sessionId: string, turnId: string, info: TurnRecall): void {
    const e = this.entry(sessionId, turnId);
    e.recall = { ...info };
    this.trim();
  }

  /** The ended turns, oldest first, at most `capacity`. */
  list(): TurnTiming[] {
    const out: TurnTiming[] = [];
    for (const e of this.entries.values()) {
      if (!e.ended) continue;
      out.push({
        session_id: e.session_id,
        turn_id: e.turn_id,
        ...(e.reason !== undefined ? { reason: e.reason } : {}),
        marks: clampHeard(e.marks),
        ...(e.recall ? { recall: e.recall } : {}),
      });
    }
    return out.slice(-this.capacity);
  }

  private entry(session_id: string, turn_id: string): Entry {
    const key = `${session_id}\u0000${turn_id}`;
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = { session_id, turn_id, marks: {}, ended: false }));
    return e;
  }

  /** Keeps `capacity` ended turns and at most `capacity` waiting ones, dropping the oldest. */
  private trim(): void {
    let ended = 0;
    let waiting = 0;
    for (const e of this.entries.values()) {
      if (e.ended) ended++;
      else waiting++;
    }
    for (const [key, e] of this.entries) {
      if (ended <= this.capacity && waiting <= this.capacity) break;
      if (e.ended && ended > this.capacity) {
        this.entries.delete(key);
        ended--;
      } else if (!e.ended && waiting > this.capacity) {
        this.entries.delete(key);
        waiting--;
      }
    }
  }
}

/**
 * The page's `heard` is its own clock's estimate (now less how long ago the player started), sent
 * over a socket: a page stalled by a busy machine can report an `ago` longer than the audio has
 * existed. Audio is not heard before the gateway delivered it, so heard is at least `delivered`
 * (or `first_audio` when the turn has no delivered mark).
 */
function clampHeard(marks: Record<string, number>): Record<string, number> {
  const out = { ...marks };
  const floor = out.delivered ?? out.first_audio;
  if (out.heard !== undefined && floor !== undefined && out.heard < floor) out.heard = floor;
  return out;
}
