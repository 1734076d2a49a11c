/**
 * The turn arbiter: one state machine per session (idle | listening | thinking | speaking), the
 * session's active turn and its waiting inputs.
 *
 * Every handler here is synchronous: the service calls it the moment a message arrives, so state
 * transitions happen in arrival order without locks, and every outgoing message is issued in
 * order on the one command connection (ioredis keeps that order). Nothing awaits between reading
 * the state and changing it.
 *
 *   input (UserInput)     mic: starts at once, cancelling an active turn. typed/chat/upload/seed:
 *                         starts when the session is idle, else waits or is dropped per policy;
 *                         one merged into a waiting input ends at once (turn_end merged).
 *   speech_start          barge-in: cancel the active turn (ControlEvent first), then listening.
 *   speech_end            listening until the utterance's input arrives, or noise -> idle.
 *   audio_start           -> speaking.
 *   tts_done              the audio is all produced: the turn ends at playback_done, or when the
 *                         audio would have finished playing (+ a margin).
 *   error (terminal)      llm / memory / input / asr for the active turn -> turn_end error.
 *   control cancel/stop   end the active turn cancelled; stop also clears the waiting inputs.
 *   watchdog              no progress for watchdogMs -> error worker_lost, turn_end error.
 *   status ready of a     a new process of a service that holds a turn's state in memory only
 *   turn-holding service  (chat-ai, output-handler) came up: the turns that started before it
 *                         lost their reply -> error worker_lost, turn_end error, within seconds of
 *                         the crash instead of at the watchdog.
 * A turn that ended makes the session idle and starts the next waiting input.
 */
import { newEventId, type ControlEvent, type ServiceName, type StatusEvent } from '../../shared/bus.js';
import { Bus, type Payload } from '../../shared/contract.js';
import { ErrorCodes, nowMs, type Body, type Marks, type Stage, type TurnEvent, type TurnState, type UserInput } from '../../shared/voice.js';
import { TurnLedger, type Logger } from '../runtime/index.js';
import type { PublishTopic, QueueTopic } from '../runtime/publish.js';
import type { DialogKnobs, DialogSettings } from './knobs.js';
import { admit, policyFor, type Waiting } from './waiting.js';

/** How the engine talks to the bus. Both keep call order. */
/** What a restarted engine needs of a session: its turn in flight and the inputs waiting behind it. */
export interface KeptSession {
  active?: UserInput;
  waiting: UserInput[];
}

export interface DialogIo {
  publish<T extends PublishTopic>(topic: T, msg: Payload<T>): void;
  push<T extends QueueTopic>(topic: T, msg: Payload<T>): Promise<void>;
  /** Keeps the session's turn in flight where a restarted engine finds it (undefined: none). */
  track?(sessionId: string, kept: KeptSession | undefined): void;
  log: Logger;
}

/**
 * Services whose part of a turn lives only in their memory: when one of them restarts, the turns in
 * flight lost it (output-handler's ordering and client delivery). The others recover theirs from
 * reliable queues (asr, tts, memory, input-handler; chat-ai ends a turn it finds cut mid-reply when
 * its context comes back from the queue) or are best-effort (recall).
 */
const TURN_HOLDERS: ReadonlySet<ServiceName> = new Set<ServiceName>(['output-handler']);

/** Error stages after which the turn cannot go on (tts errors skip one sentence only). */
const TERMINAL_STAGES: ReadonlySet<Stage> = new Set<Stage>(['llm', 'memory', 'input', 'asr']);

interface ActiveTurn {
  input: UserInput;
  marks: Marks;
  /** Epoch ms (Date.now, the clock of StatusEvent.ts) when the turn started here. */
  startedAt: number;
  audioStartAt?: number;
  watchdog?: NodeJS.Timeout;
  endTimer?: NodeJS.Timeout;
}

interface Session {
  id: string;
  state: TurnState;
  /** Turn id the last turn_state was published with. */
  stateTurn: string;
  active?: ActiveTurn;
  waiting: Waiting[];
  listenTimer?: NodeJS.Timeout;
  /** speech_end was seen for the current listening period. */
  heardEnd: boolean;
}

export class DialogEngine {
  private readonly sessions = new Map<string, Session>();
  /**
   * Turns that ended here or were cancelled before their input arrived (a cancel raced it), and
   * session stops: an input created before a stop was meant to be stopped too.
   */
  private readonly ledger = new TurnLedger({ max: 1000 });

  constructor(
    private readonly io: DialogIo,
    private readonly settings: DialogSettings,
    private readonly knobs: DialogKnobs,
  ) {}

  // ---------------------------------------------------------------------------------------------
  // Inputs (fav:dialog:inputs)

  /** Resolves once the input's turn (if it starts now) is on user_input_queue. */
  onInput(input: UserInput): Promise<void> {
    // By id only (no time given): the turn ended here already, or was cancelled before it came.
    if (!this.ledger.isLive({ session_id: input.session_id, turn_id: input.turn_id })) {
      this.io.log.info({ session_id: input.session_id, turn_id: input.turn_id }, 'input of a cancelled turn dropped');
      return Promise.resolve();
    }
    const s = this.session(input.session_id);
    if (this.ledger.isCancelled(input)) {
      this.endUnstarted(s, input, 'stopped before it could start');
      return Promise.resolve();
    }
    if (input.source === 'mic') {
      // Mic always wins: the user is talking to the avatar now.
      if (s.active) this.cancelActive(s, 'mic-input');
      this.clearListen(s);
      return this.start(s, input);
    }
    if (!s.active && s.state !== 'listening') return this.start(s, input);
    const policy = policyFor(input.source, this.settings);
    if (policy === 'drop') {
      this.busy(s, input, `The avatar is busy with another turn; this ${input.source} input was dropped (${input.source === 'chat' ? 'chatPolicy' : 'typedPolicy'}: drop).`);
      return Promise.resolve();
    }
    const { merged, into, evicted } = admit(s.waiting, input, policy, this.settings.maxQueue);
    // Its own turn never starts: end it now, so whoever waits on it (a seed task, /api/asr) is answered.
    if (merged) this.io.publish(Bus.events, this.event(s.id, input, input.marks, { kind: 'turn_end', reason: 'merged', merged_into: into }));
    for (const old of evicted) this.busy(s, old, `Too many inputs waiting (maxQueue ${this.settings.maxQueue}); the oldest ${old.source} input was dropped.`);
    this.keep(s);
    this.io.log.info({ session_id: s.id, turn_id: input.turn_id, source: input.source, policy, merged, waiting: s.waiting.length }, 'input waits');
    return Promise.resolve();
  }

  // ---------------------------------------------------------------------------------------------
  // Turn events (fav:events)

  onEvent(ev: TurnEvent): void {
    switch (ev.kind) {
      case 'speech_start':
        return this.onSpeechStart(ev);
      case 'speech_end': {
        const s = this.sessions.get(ev.session_id);
        if (s?.state === 'listening' && !s.active) {
          s.heardEnd = true;
          this.armListen(s, this.knobs.noiseMs);
        }
        return;
      }
      case 'transcript': {
        const s = this.sessions.get(ev.session_id);
        if (!s || s.state !== 'listening' || s.active || !ev.final) return;
        // A final transcript: its input follows; an empty one was noise.
        if (ev.text?.trim()) this.armListen(s, this.knobs.noiseMs);
        else this.stopListening(s);
        return;
      }
      case 'turn_state':
      case 'turn_end':
        return; // our own
      default:
        return this.onTurnProgress(ev);
    }
  }

  private onSpeechStart(ev: TurnEvent): void {
    const s = this.session(ev.session_id);
    if (s.active) {
      if (!this.settings.bargeIn) return;
      this.cancelActive(s, 'barge-in');
    }
    s.heardEnd = false;
    this.setState(s, 'listening');
    this.armListen(s, this.knobs.listenMaxMs);
  }

  private onTurnProgress(ev: TurnEvent): void {
    const s = this.sessions.get(ev.session_id);
    const t = s?.active;
    if (!s || !t || t.input.turn_id !== ev.turn_id) {
      // An asr/input error for the utterance we are listening to: nothing will come of it.
      if (ev.kind === 'error' && s?.state === 'listening' && s.heardEnd && (ev.stage === 'asr' || ev.stage === 'input')) this.stopListening(s);
      return;
    }
    Object.assign(t.marks, ev.marks);
    switch (ev.kind) {
      case 'error':
        if (ev.stage && TERMINAL_STAGES.has(ev.stage)) return this.finish(s, 'error');
        return this.touch(s, t);
      case 'audio_start':
        t.audioStartAt ??= Date.now();
        this.setState(s, 'speaking');
        return this.touch(s, t);
      case 'tts_done': {
        const remaining = t.audioStartAt === undefined ? 0 : t.audioStartAt + (ev.audio_ms ?? 0) + this.knobs.playbackMarginMs - Date.now();
        if (remaining <= 0) return this.finish(s, 'done');
        clearTimeout(t.watchdog);
        t.watchdog = undefined;
        clearTimeout(t.endTimer);
        t.endTimer = setTimeout(() => {
          if (s.active === t) this.finish(s, 'done');
        }, remaining);
        return;
      }
      case 'playback_done':
        return this.finish(s, 'done');
      default:
        return this.touch(s, t);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Control (fav:control): the gateway's stop button, our own barge-in cancels coming back.

  /**
   * At start: what a previous process of this engine kept (it was killed). The turns it had in
   * flight lost their state, so they end now (error worker_lost, cancel, turn_end error) instead of
   * never; the inputs that were waiting behind them are taken in again, in order, so none is lost.
   */
  async recover(lost: readonly KeptSession[]): Promise<void> {
    for (const { active: input } of lost) {
      if (!input) continue;
      this.io.log.warn({ session_id: input.session_id, turn_id: input.turn_id }, 'a turn of the previous dialog engine: ending it');
      this.io.publish(
        Bus.events,
        this.event(input.session_id, input, input.marks, {
          kind: 'error',
          stage: 'dialog',
          code: ErrorCodes.workerLost,
          message: 'dialog-engine restarted in the middle of this reply (it had stopped unexpectedly), so the turn was ended. Send it again; if it keeps happening, check dialog-engine\'s log.',
        }),
      );
      const cancel: ControlEvent = { action: 'cancel', session_id: input.session_id, turn_id: input.turn_id, ts: Date.now(), reason: 'dialog-engine restarted' };
      this.io.publish(Bus.control, cancel);
      this.ledger.end(input.turn_id);
      this.io.publish(Bus.events, this.event(input.session_id, input, input.marks, { kind: 'turn_end', reason: 'error' }));
      this.io.publish(Bus.events, this.event(input.session_id, undefined, {}, { kind: 'turn_state', state: 'idle' }));
    }
    for (const { waiting } of lost) {
      if (waiting.length > 0) this.io.log.warn({ session_id: waiting[0]!.session_id, waiting: waiting.length }, 'inputs that waited under the previous dialog engine: taken in again');
      for (const input of waiting) await this.onInput(input);
    }
  }

  /** A service's lifecycle event (fav:status): a restarted turn holder ends the turns it lost. */
  onServiceStatus(ev: StatusEvent): void {
    if (ev.state !== 'ready' || !TURN_HOLDERS.has(ev.service as ServiceName)) return;
    for (const s of this.sessions.values()) {
      const t = s.active;
      if (!t || t.startedAt >= ev.ts) continue;
      this.io.log.warn({ session_id: s.id, turn_id: t.input.turn_id, service: ev.service, instance: ev.instance }, 'a service restarted during the turn: ending it');
      this.io.publish(
        Bus.events,
        this.event(s.id, t.input, t.marks, {
          kind: 'error',
          stage: 'dialog',
          code: ErrorCodes.workerLost,
          message: `${ev.service} restarted in the middle of this reply (it had stopped unexpectedly), so the reply was lost. Send it again; if it keeps happening, check ${ev.service}'s log.`,
        }),
      );
      const cancel: ControlEvent = { action: 'cancel', session_id: s.id, turn_id: t.input.turn_id, ts: Date.now(), reason: `${ev.service} restarted` };
      this.io.publish(Bus.control, cancel);
      this.finish(s, 'error');
    }
  }

  onControl(ev: ControlEvent): void {
    this.ledger.onControl(ev);
    const s = this.sessions.get(ev.session_id) ?? (ev.action === 'stop' ? this.session(ev.session_id) : undefined);
    if (!s) return;
    if (ev.action === 'stop') {
      for (const w of s.waiting.splice(0)) this.endUnstarted(s, w.input, 'cleared by stop');
      this.keep(s);
    }
    if (ev.turn_id) {
      if (s.active?.input.turn_id === ev.turn_id) {
        this.finish(s, 'cancelled');
        return;
      }
      const i = s.waiting.findIndex((w) => w.input.turn_id === ev.turn_id);
      if (i >= 0) {
        this.endUnstarted(s, s.waiting.splice(i, 1)[0]!.input, 'cancelled while waiting');
        this.keep(s);
      }
      return;
    }
    if (s.active) this.finish(s, 'cancelled');
  }

  dispose(): void {
    for (const s of this.sessions.values()) {
      this.clearListen(s);
      if (s.active) this.clearTurnTimers(s.active);
    }
    this.sessions.clear();
  }

  /** For health views and tests. */
  snapshot(sessionId: string): { state: TurnState; active?: string; waiting: string[] } | undefined {
    const s = this.sessions.get(sessionId);
    if (!s) return undefined;
    return { state: s.state, ...(s.active ? { active: s.active.input.turn_id } : {}), waiting: s.waiting.map((w) => w.input.text) };
  }

  // ---------------------------------------------------------------------------------------------
  // Transitions

  private start(s: Session, input: UserInput): Promise<void> {
    const marks: Marks = { ...input.marks, turn_start: nowMs() };
    const turn: UserInput = {
      session_id: input.session_id,
      turn_id: input.turn_id,
      task_id: input.task_id,
      event_id: newEventId(),
      parent_id: input.event_id,
      ts: Date.now(),
      marks,
      source: input.source,
      text: input.text,
      ...(input.author ? { author: input.author } : {}),
    };
    const t: ActiveTurn = { input, marks: { ...marks }, startedAt: Date.now() };
    s.active = t;
    this.keep(s);
    // The turn first (the critical path), then the state for the UI.
    const pushed = this.io.push(Bus.userInput, turn);
    this.setState(s, 'thinking');
    this.touch(s, t);
    this.io.log.info({ session_id: s.id, turn_id: input.turn_id, source: input.source, waiting: s.waiting.length }, 'turn started');
    return pushed;
  }

  /** Barge-in / mic input: tell every stage to drop the turn at once, then end it. */
  private cancelActive(s: Session, reason: string): void {
    const t = s.active!;
    const cancel: ControlEvent = { action: 'cancel', session_id: s.id, turn_id: t.input.turn_id, ts: Date.now(), reason };
    this.io.publish(Bus.control, cancel);
    this.endTurn(s, 'cancelled');
  }

  /** Ends the active turn and moves the session on (idle, or the next waiting input). */
  private finish(s: Session, reason: 'done' | 'cancelled' | 'error'): void {
    this.endTurn(s, reason);
    this.settle(s);
  }

  private endTurn(s: Session, reason: 'done' | 'cancelled' | 'error'): void {
    const t = s.active;
    if (!t) return;
    this.clearTurnTimers(t);
    s.active = undefined;
    this.keep(s);
    this.ledger.end(t.input.turn_id);
    this.io.publish(Bus.events, this.event(s.id, t.input, t.marks, { kind: 'turn_end', reason }));
    this.io.log.info({ session_id: s.id, turn_id: t.input.turn_id, reason }, 'turn ended');
  }

  /** No active turn and not listening: start the next waiting input, else idle. */
  private settle(s: Session): void {
    if (s.active || s.state === 'listening') return;
    const next = s.waiting.shift();
    if (!next) return this.setState(s, 'idle');
    this.start(s, next.input).catch((e: Error) => this.io.log.error({ session_id: s.id, turn_id: next.input.turn_id, err: e.message }, 'could not start turn'));
  }

  private stopListening(s: Session): void {
    this.clearListen(s);
    s.heardEnd = false;
    if (s.waiting.length === 0) return this.setState(s, 'idle');
    // Straight into the next waiting input: published as thinking, not idle then thinking.
    s.state = 'idle';
    this.settle(s);
  }

  private armListen(s: Session, ms: number): void {
    this.clearListen(s);
    s.listenTimer = setTimeout(() => {
      s.listenTimer = undefined;
      if (s.state === 'listening' && !s.active) this.stopListening(s);
    }, ms);
  }

  private clearListen(s: Session): void {
    clearTimeout(s.listenTimer);
    s.listenTimer = undefined;
  }

  /** Progress on the active turn: the watchdog starts over. */
  private touch(s: Session, t: ActiveTurn): void {
    if (t.endTimer) return; // the end is already scheduled
    clearTimeout(t.watchdog);
    t.watchdog = setTimeout(() => {
      if (s.active !== t) return;
      const secs = Math.round(this.knobs.watchdogMs / 1000);
      this.io.log.warn({ session_id: s.id, turn_id: t.input.turn_id, watchdogMs: this.knobs.watchdogMs }, 'turn made no progress: ending it');
      this.io.publish(
        Bus.events,
        this.event(s.id, t.input, t.marks, {
          kind: 'error',
          stage: 'dialog',
          code: ErrorCodes.workerLost,
          message: `No progress on this turn for ${secs} s: a service may have stopped. The turn was ended; check the service status and try again.`,
        }),
      );
      const cancel: ControlEvent = { action: 'cancel', session_id: s.id, turn_id: t.input.turn_id, ts: Date.now(), reason: 'watchdog' };
      this.io.publish(Bus.control, cancel);
      this.finish(s, 'error');
    }, this.knobs.watchdogMs);
  }

  private clearTurnTimers(t: ActiveTurn): void {
    clearTimeout(t.watchdog);
    clearTimeout(t.endTimer);
    t.watchdog = t.endTimer = undefined;
  }

  private setState(s: Session, state: TurnState): void {
    const turn = s.active?.input.turn_id ?? '-';
    if (s.state === state && s.stateTurn === turn) return;
    s.state = state;
    s.stateTurn = turn;
    this.publishState(s);
  }

  private publishState(s: Session): void {
    const t = s.active;
    this.io.publish(Bus.events, this.event(s.id, t?.input, t?.marks ?? {}, { kind: 'turn_state', state: s.state }));
  }

  /** An input refused by policy or bound: a busy error the client can show. */
  /** Hands the session's turn in flight and waiting inputs to io.track (kept for a restarted engine). */
  private keep(s: Session): void {
    if (!this.io.track) return;
    this.io.track(s.id, s.active || s.waiting.length > 0 ? { ...(s.active ? { active: s.active.input } : {}), waiting: s.waiting.map((w) => w.input) } : undefined);
  }

  private busy(s: Session, input: UserInput, message: string): void {
    this.io.publish(Bus.events, this.event(s.id, input, input.marks, { kind: 'error', stage: 'dialog', code: ErrorCodes.busy, message }));
    this.io.log.info({ session_id: s.id, turn_id: input.turn_id, source: input.source }, 'input dropped: busy');
  }

  /** An input that will never start (stop, cancel): its turn ends cancelled so its clients stop waiting. */
  private endUnstarted(s: Session, input: UserInput, why: string): void {
    this.io.publish(Bus.events, this.event(s.id, input, input.marks, { kind: 'turn_end', reason: 'cancelled', message: why }));
    this.io.log.info({ session_id: s.id, turn_id: input.turn_id, why }, 'waiting input ended');
  }

  private event(sessionId: string, input: UserInput | undefined, marks: Marks, body: Body<TurnEvent>): TurnEvent {
    return {
      session_id: sessionId,
      turn_id: input?.turn_id ?? '-',
      task_id: input?.task_id ?? '-',
      event_id: newEventId(),
      ...(input ? { parent_id: input.event_id, source: input.source } : {}),
      ts: Date.now(),
      marks,
      ...body,
    };
  }

  private session(id: string): Session {
    let s = this.sessions.get(id);
    if (s) return s;
    s = { id, state: 'idle', stateTurn: '-', waiting: [], heardEnd: false };
    this.sessions.set(id, s);
    if (this.sessions.size > this.knobs.maxSessions) this.forgetIdleSession();
    return s;
  }

  /** Forgets the oldest session with nothing going on (none: keep them all, they are busy). */
  private forgetIdleSession(): void {
    for (const [id, s] of this.sessions) {
      if (s.state === 'idle' && !s.active && s.waiting.length === 0 && !s.listenTimer) {
        this.sessions.delete(id);
        return;
      }
    }
  }
}
