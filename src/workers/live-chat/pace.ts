/**
 * The pace of chat answers, as the session's turn events tell it: whether the microphone holds the
 * floor and whether a turn of the session runs. It only reports changes (to the arbiter); when to
 * answer next is the arbiter's rule (minGapMs after a turn ends, nothing while the mic is active).
 *
 *   speech_start, turn_state listening    the mic holds the floor (the streamer talks; they always win)
 *   turn_state thinking / speaking        a turn runs (any source: mic, typed or a chat answer)
 *   turn_state idle                       neither
 *   turn_end of the chat turn we pushed   that turn is no longer pending (also an error 'busy' for it:
 *                                         the dialog engine dropped it, no turn_end follows)
 *
 * A chat answer is pending from the moment it is pushed on fav:dialog:inputs until its turn ends:
 * the dialog engine announces the turn (turn_state thinking) a moment after the push, and no second
 * pick may slip into that moment. Two safety nets for events that never come (the dialog engine was
 * down while they would have been sent): the mic is released `micHoldMs` after the last speech_end
 * without any turn_state, and a pending turn is given up after `pendingMaxMs`.
 */
import type { TurnEvent } from '../../shared/voice.js';
import type { Logger } from '../runtime/index.js';

export interface PaceTarget {
  setMicActive(active: boolean): void;
  setTurnActive(active: boolean): void;
}

export interface PaceOptions {
  session: string;
  /** Called after every change the arbiter was told about (the service re-arms its wake-up). */
  onChange(): void;
  log: Logger;
  micHoldMs?: number;
  pendingMaxMs?: number;
}

export class Pace {
  private mic = false;
  private running = false;
  private pendingTurn: string | undefined;
  private micTimer: NodeJS.Timeout | undefined;
  private pendingTimer: NodeJS.Timeout | undefined;
  private told = { mic: false, turn: false };
  private readonly micHoldMs: number;
  private readonly pendingMaxMs: number;

  constructor(
    private readonly target: PaceTarget,
    private readonly o: PaceOptions,
  ) {
    this.micHoldMs = o.micHoldMs ?? 15_000;
    this.pendingMaxMs = o.pendingMaxMs ?? 180_000;
  }

  /** The chat turn just pushed: a turn is active from now until its turn_end. */
  pending(turnId: string): void {
    this.pendingTurn = turnId;
    clearTimeout(this.pendingTimer);
    this.pendingTimer = setTimeout(() => {
      this.o.log.warn({ turn_id: turnId, after_ms: this.pendingMaxMs }, 'no turn_end came for the chat answer; chat goes on without it');
      this.pendingTurn = undefined;
      this.apply();
    }, this.pendingMaxMs);
    this.apply();
  }

  /** The pending chat turn ended (or was never pushed). */
  settled(turnId: string): void {
    if (turnId !== this.pendingTurn) return;
    this.pendingTurn = undefined;
    clearTimeout(this.pendingTimer);
    this.apply();
  }

  get state(): { mic: boolean; turn: boolean; pending?: string } {
    return { mic: this.told.mic, turn: this.told.turn, ...(this.pendingTurn ? { pending: this.pendingTurn } : {}) };
  }

  onEvent(ev: TurnEvent): void {
    if (ev.session_id !== this.o.session) return;
    switch (ev.kind) {
      case 'speech_start':
        this.setMic(true);
        break;
      case 'speech_end':
        // The utterance's turn (or noise -> idle) comes next as a turn_state; if none ever does, let go.
        clearTimeout(this.micTimer);
        this.micTimer = setTimeout(() => {
          this.setMic(false);
          this.apply();
        }, this.micHoldMs);
        break;
      case 'turn_state':
        this.setMic(ev.state === 'listening');
        this.running = ev.state === 'thinking' || ev.state === 'speaking';
        break;
      case 'turn_end':
        this.settled(ev.turn_id);
        return;
      case 'error':
        // The dialog engine refused the input (busy, chatPolicy drop): its turn never starts nor ends.
        if (ev.code === 'busy') this.settled(ev.turn_id);
        return;
      default:
        return;
    }
    this.apply();
  }

  private setMic(active: boolean): void {
    clearTimeout(this.micTimer);
    this.micTimer = undefined;
    this.mic = active;
  }

  private apply(): void {
    const turn = this.running || this.pendingTurn !== undefined;
    const changed = this.told.mic !== this.mic || this.told.turn !== turn;
    if (this.told.mic !== this.mic) this.target.setMicActive(this.mic);
    if (this.told.turn !== turn) this.target.setTurnActive(turn);
    this.told = { mic: this.mic, turn };
    if (changed) this.o.onChange();
  }

  dispose(): void {
    clearTimeout(this.micTimer);
    clearTimeout(this.pendingTimer);
  }
}
