/**
 * Turns the pipeline's messages into the ordered `ClientEvent`s of each turn on `fav:deliver`.
 *
 * Every handler is synchronous and publishes on the one command connection, so events leave in
 * the order their causes arrived (ioredis keeps command order); nothing awaits on the hot path.
 *
 * Per turn: transcript, emotion, reply_delta, reply_done, audio (in sentence/chunk order with a
 * gap-free seq, see turn-audio.ts), error, audio_end, turn_end. turn_state is the session's state
 * and is forwarded, except a late one naming a turn that was cancelled or has ended.
 * Cancel (ControlEvent cancel/stop, or dialog's turn_end cancelled): `stop` for the turn at once,
 * then nothing more of it but its turn_end. A cancel without turn_id stops every active turn of
 * the session (or, with none active, the session's last turn: a client may still be playing it).
 * Every failure is reported once by its stage (llm: a TurnEvent error; tts: an error chunk, which
 * also moves the audio order past the sentence), so each error goes to clients as it comes.
 * Bounds: a turn is forgotten at its turn_end (its id is remembered so late chunks are dropped);
 * at most maxTurns are tracked; a cancelled turn whose turn_end never comes is forgotten later.
 */
import type { ControlEvent } from '../../shared/bus.js';
import {
  ENVELOPE_FRAME_MS,
  nowMs,
  type AiResponse,
  type ClientEvent,
  type ErrorCode,
  type Marks,
  type Stage,
  type TtsChunk,
  type TurnEvent,
  type TurnEventOf,
} from '../../shared/voice.js';
import { TurnLedger, type Logger } from '../runtime/index.js';
import type { OutputKnobs } from './knobs.js';
import { TurnAudio } from './turn-audio.js';

export interface OutputIo {
  /** Publishes one ClientEvent on fav:deliver (in call order). */
  deliver(ev: ClientEvent): void;
  log: Logger;
}

interface TurnRec {
  key: string;
  session_id: string;
  turn_id: string;
  task_id: string;
  audio: TurnAudio;
  marks: Marks;
  cancelled: boolean;
  gapTimer?: NodeJS.Timeout;
  forgetTimer?: NodeJS.Timeout;
}

interface SessionRec {
  turns: Set<TurnRec>;
  lastTurn?: { turn_id: string; task_id: string };
}

const MAX_SESSIONS = 1000;
const turnKey = (sessionId: string, turnId: string) => `${sessionId}\u0000${turnId}`;

export class OutputHandler {
  private readonly turns = new Map<string, TurnRec>();
  private readonly sessions = new Map<string, SessionRec>();
  /** Ended turns and session cancels: what arrives late for them is dropped. */
  private readonly ledger: TurnLedger;

  constructor(
    private readonly io: OutputIo,
    private readonly knobs: OutputKnobs,
  ) {
    this.ledger = new TurnLedger({ max: knobs.maxClosed });
  }

  /** `ai_responses`. */
  onReply(r: AiResponse): void {
    const rec = this.turn(r);
    if (!rec || rec.cancelled) return;
    const ids = { session_id: r.session_id, turn_id: r.turn_id, task_id: r.task_id };
    switch (r.kind) {
      case 'delta':
        if (r.text) this.io.deliver({ type: 'reply_delta', ...ids, text: r.text });
        return;
      case 'done':
        this.io.deliver({ type: 'reply_done', ...ids, text: r.text, marks: r.marks });
        return;
      default:
        return; // sentence: tts speaks it; cancelled: the control event already stopped the turn
    }
  }

  /** `task_response:{task_id}`. */
  onChunk(c: TtsChunk): void {
    const rec = this.turn(c);
    if (!rec || rec.cancelled) return;
    const a = rec.audio;
    if (c.kind === 'audio') {
      if (c.chunk === 0) keepFirst(rec.marks, c.marks);
      if (!a.add(c)) return;
    } else if (c.kind === 'error') {
      a.fail(c.index);
      this.error(rec, 'tts', c.code, c.error || `Speech synthesis failed on sentence ${c.index + 1}; the reply goes on with the next one.`);
    } else {
      keepFirst(rec.marks, c.marks);
      a.end(c.index);
    }
    this.flush(rec);
  }

  /** `fav:events`. */
  onEvent(ev: TurnEvent): void {
    switch (ev.kind) {
      case 'turn_state':
        // A state dialog-engine published for a turn before it saw the turn's cancel (e.g.
        // 'speaking' on audio_start while the stop button's ControlEvent was on its way) is stale:
        // after `stop` nothing more of the turn; the session's next state follows its turn_end.
        if (this.isDropped(ev)) return;
        this.io.deliver({ type: 'turn_state', session_id: ev.session_id, turn_id: ev.turn_id, state: ev.state });
        return;
      case 'transcript':
      case 'emotion': {
        // Looked up, not tracked: an utterance that turns out to be noise never gets a turn_end.
        if (this.isDropped(ev)) return;
        if (ev.kind === 'emotion') {
          this.io.deliver({ type: 'emotion', session_id: ev.session_id, turn_id: ev.turn_id, emotion: ev.emotion });
        } else {
          this.io.deliver({ type: 'transcript', session_id: ev.session_id, turn_id: ev.turn_id, task_id: ev.task_id, text: ev.text, final: ev.final, marks: ev.marks });
        }
        return;
      }
      case 'error': {
        if (this.isDropped(ev)) return;
        this.error(undefined, ev.stage, ev.code, ev.message, ev);
        return;
      }
      case 'turn_end':
        return this.onTurnEnd(ev);
      default:
        return; // speech_start/end, audio_start, tts_done, playback_done: not for clients
    }
  }

  /** `fav:control`. */
  onControl(ev: ControlEvent): void {
    const reason = ev.reason ?? ev.action;
    if (ev.turn_id) {
      if (this.ledger.isEnded(ev.turn_id)) return;
      const rec = this.turns.get(turnKey(ev.session_id, ev.turn_id)) ?? this.track(ev.session_id, ev.turn_id, ev.turn_id);
      if (!rec.cancelled) this.cancel(rec, reason);
      return;
    }
    this.ledger.onControl(ev);
    const s = this.session(ev.session_id);
    let stopped = 0;
    for (const rec of s.turns) {
      if (rec.cancelled) continue;
      this.cancel(rec, reason);
      stopped++;
    }
    if (stopped === 0) {
      // Nothing in flight here, but a client may still be playing the last turn's audio.
      const last = s.lastTurn;
      this.io.deliver({ type: 'stop', session_id: ev.session_id, turn_id: last?.turn_id ?? '-', ...(last ? { task_id: last.task_id } : {}), reason });
    }
  }

  dispose(): void {
    for (const rec of this.turns.values()) this.clearTimers(rec);
    this.turns.clear();
    this.sessions.clear();
  }

  // ---------------------------------------------------------------------------------------------

  private onTurnEnd(ev: TurnEventOf<'turn_end'>): void {
    if (this.ledger.isEnded(ev.turn_id)) return;
    const rec = this.turns.get(turnKey(ev.session_id, ev.turn_id));
    if (ev.reason === 'cancelled' && rec && !rec.cancelled) this.cancel(rec, 'cancelled');
    const marks = rec ? { ...ev.marks, ...rec.marks } : ev.marks;
    const merged = ev.merged_into ? { merged_into: ev.merged_into } : {};
    this.io.deliver({ type: 'turn_end', session_id: ev.session_id, turn_id: ev.turn_id, task_id: ev.task_id, reason: ev.reason, ...merged, marks });
    if (rec) this.forget(rec);
    else this.ledger.end(ev.turn_id);
  }

  /** Emits what is next in order; audio_end once complete; watches for a gap that does not fill. */
  private flush(rec: TurnRec): void {
    const a = rec.audio;
    a.drain((c, seq) => {
      if (seq === 0) rec.marks.delivered = nowMs();
      this.io.deliver({
        type: 'audio',
        session_id: rec.session_id,
        turn_id: rec.turn_id,
        task_id: rec.task_id,
        seq,
        index: c.index,
        chunk: c.chunk,
        format: 'pcm_s16le',
        sample_rate: c.sample_rate!,
        envelope: c.envelope,
        envelope_frame_ms: ENVELOPE_FRAME_MS,
        visemes: c.visemes,
        ...(c.text !== undefined ? { text: c.text } : {}),
        pcm_b64: c.pcm_b64!,
      });
    });
    if (a.complete) {
      a.endSent = true;
      this.io.deliver({ type: 'audio_end', session_id: rec.session_id, turn_id: rec.turn_id, task_id: rec.task_id, chunks: a.seq });
    }
    // Anything new for the turn restarts the gap clock.
    clearTimeout(rec.gapTimer);
    rec.gapTimer = undefined;
    if (a.stalled) rec.gapTimer = setTimeout(() => this.onGap(rec), this.knobs.gapMs);
  }

  private onGap(rec: TurnRec): void {
    rec.gapTimer = undefined;
    if (rec.cancelled || this.turns.get(rec.key) !== rec) return;
    const skipped = rec.audio.skipGap();
    this.io.log.warn({ turn_id: rec.turn_id, ...skipped, gapMs: this.knobs.gapMs }, 'audio gap did not fill: skipping the missing sentence(s)');
    this.flush(rec);
  }

  private cancel(rec: TurnRec, reason: string): void {
    rec.cancelled = true;
    rec.audio.clear();
    clearTimeout(rec.gapTimer);
    rec.gapTimer = undefined;
    this.io.deliver({ type: 'stop', session_id: rec.session_id, turn_id: rec.turn_id, task_id: rec.task_id, reason });
    // Its turn_end normally follows at once; if it never does, do not keep the turn forever.
    rec.forgetTimer = setTimeout(() => this.forget(rec), this.knobs.cancelKeepMs);
    rec.forgetTimer.unref?.();
  }

  /** An error for clients, of a tracked turn (rec) or as the event names it. */
  private error(rec: TurnRec | undefined, stage: Stage, code: ErrorCode, message: string, ev?: TurnEvent): void {
    const session_id = rec?.session_id ?? ev!.session_id;
    const turn_id = rec?.turn_id ?? (ev && ev.turn_id !== '-' ? ev.turn_id : undefined);
    const task_id = rec?.task_id ?? (ev && ev.task_id !== '-' ? ev.task_id : undefined);
    this.io.deliver({ type: 'error', session_id, ...(turn_id ? { turn_id } : {}), ...(task_id ? { task_id } : {}), stage, code, message });
  }

  /** A message of a turn that ended, was cancelled, or predates a turn-less cancel of its session. */
  private isDropped(m: { session_id: string; turn_id: string; marks: Marks }): boolean {
    if (m.turn_id === '-') return false;
    const rec = this.turns.get(turnKey(m.session_id, m.turn_id));
    if (rec) return rec.cancelled;
    return !this.ledger.isLive(m);
  }

  /**
   * The turn's record, created on first sight; null when the turn already ended (late message).
   * A turn first seen after a turn-less cancel that it predates starts out cancelled.
   */
  private turn(m: { session_id: string; turn_id: string; task_id: string; marks: Marks }): TurnRec | null {
    const rec = this.turns.get(turnKey(m.session_id, m.turn_id));
    if (rec) return rec;
    if (this.ledger.isEnded(m.turn_id)) return null;
    const created = this.track(m.session_id, m.turn_id, m.task_id);
    if (this.ledger.isCancelled(m)) {
      created.cancelled = true;
      created.forgetTimer = setTimeout(() => this.forget(created), this.knobs.cancelKeepMs);
      created.forgetTimer.unref?.();
    }
    return created;
  }

  private track(session_id: string, turn_id: string, task_id: string): TurnRec {
    const key = turnKey(session_id, turn_id);
    const rec: TurnRec = { key, session_id, turn_id, task_id, audio: new TurnAudio(), marks: {}, cancelled: false };
    this.turns.set(key, rec);
    const s = this.session(session_id);
    s.turns.add(rec);
    s.lastTurn = { turn_id, task_id };
    if (this.turns.size > this.knobs.maxTurns) {
      const oldest = this.turns.values().next().value!;
      this.io.log.warn({ turn_id: oldest.turn_id, maxTurns: this.knobs.maxTurns }, 'too many turns tracked: forgetting the oldest');
      this.forget(oldest);
    }
    return rec;
  }

  private forget(rec: TurnRec): void {
    if (this.turns.get(rec.key) !== rec) return;
    this.clearTimers(rec);
    this.turns.delete(rec.key);
    this.sessions.get(rec.session_id)?.turns.delete(rec);
    this.ledger.end(rec.turn_id);
  }

  private clearTimers(rec: TurnRec): void {
    clearTimeout(rec.gapTimer);
    clearTimeout(rec.forgetTimer);
    rec.gapTimer = rec.forgetTimer = undefined;
  }

  private session(id: string): SessionRec {
    let s = this.sessions.get(id);
    if (s) return s;
    s = { turns: new Set() };
    this.sessions.set(id, s);
    if (this.sessions.size > MAX_SESSIONS) {
      for (const [sid, other] of this.sessions) {
        if (other.turns.size === 0 && sid !== id) {
          this.sessions.delete(sid);
          break;
        }
      }
    }
    return s;
  }
}

/** Marks name the first time a stage did something: the first value of a key wins. */
function keepFirst(into: Marks, from: Marks): void {
  for (const [k, v] of Object.entries(from)) into[k] ??= v;
}
