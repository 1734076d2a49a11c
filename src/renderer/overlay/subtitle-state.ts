/**
 * Which sentence the subtitles layer shows, and when it goes. The layer is a view socket of the
 * session: it gets each audio chunk's `audio_timing` (duration, and the sentence's text on its
 * first chunk) while the voice plays in another window. Chunks are laid out back to back on this
 * page's clock the way the player schedules them (mouth-timeline.ts), and a sentence appears when
 * its first chunk starts, so the text keeps pace with the voice rather than running ahead with the
 * LLM's stream.
 *
 * The text clears `fadeMs` after the reply has ended (turn_end, once its laid-out audio is over) or
 * after a `stop` (whose sentences still to come are dropped). A reply with no spoken sentence at
 * all (the TTS said nothing) shows its whole text at turn_end, then clears the same way. A new
 * turn replaces what is shown at once; with `question` the viewer's final transcript shows above
 * the answer from the moment it is known.
 *
 * No DOM: time and timers are injected (seconds for `now`, like mouth-timeline.ts), so the rules are
 * tested with fake timers.
 */
import type { ClientEvent } from '../../shared/voice.js';
import { LEAD_S } from '../voice/mouth-timeline.js';

export interface SubtitleView {
  /** The turn the text belongs to. */
  turnId?: string;
  question?: string;
  sentence?: string;
}

export interface SubtitleClock {
  /** Seconds on a monotonic clock. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SubtitleRules {
  fadeMs: number;
  question: boolean;
}

interface Pending {
  turnId: string;
  end: number;
  timer: unknown;
}

const MAX_REMEMBERED = 64;

export class SubtitleState {
  private shown: SubtitleView = {};
  private pending: Pending[] = [];
  /** End of the last laid-out chunk (seconds). */
  private endTime = 0;
  private clearTimer: unknown;
  /** The turn whose text the scheduled clear removes. */
  private clearFor: string | undefined;
  /** Turns that showed at least one sentence, and the reply text of each turn (for a silent reply). */
  private readonly spoke = new Set<string>();
  private readonly replies = new Map<string, string>();
  private readonly stopped = new Set<string>();
  /** End of each turn's last laid-out chunk (seconds). */
  private readonly audioEnds = new Map<string, number>();

  constructor(
    private readonly rules: SubtitleRules,
    private readonly clock: SubtitleClock,
    private readonly onChange: (view: SubtitleView) => void,
  ) {}

  get view(): SubtitleView {
    return this.shown;
  }

  handle(ev: ClientEvent): void {
    switch (ev.type) {
      case 'transcript':
        if (this.rules.question && ev.final && ev.text.trim() !== '') this.show({ turnId: ev.turn_id, question: ev.text.trim() });
        break;
      case 'audio_timing':
        this.layOut(ev.turn_id, ev.duration_ms, ev.text);
        break;
      case 'reply_done':
        remember(this.replies, ev.turn_id, ev.text);
        break;
      case 'stop':
        this.dropPending(ev.turn_id);
        remember(this.stopped, ev.turn_id);
        if (this.shown.turnId === ev.turn_id) this.scheduleClear(ev.turn_id, this.clock.now());
        break;
      case 'turn_end':
        this.turnEnded(ev.turn_id);
        break;
      default:
        break;
    }
  }

  dispose(): void {
    for (const p of this.pending) this.clock.clearTimeout(p.timer);
    this.pending = [];
    this.clock.clearTimeout(this.clearTimer);
  }

  private layOut(turnId: string, durationMs: number, text: string | undefined): void {
    if (this.stopped.has(turnId)) return;
    const now = this.clock.now();
    const start = this.endTime < now + 0.005 ? now + LEAD_S : this.endTime;
    const end = start + durationMs / 1000;
    this.endTime = end;
    remember(this.audioEnds, turnId, end);
    const sentence = text?.trim();
    const p: Pending = { turnId, end, timer: undefined };
    p.timer = this.clock.setTimeout(() => {
      this.pending = this.pending.filter((x) => x !== p);
      if (!sentence) return;
      remember(this.spoke, turnId);
      const question = this.shown.turnId === turnId ? this.shown.question : undefined;
      this.show({ turnId, question, sentence });
    }, msUntil(start, now));
    this.pending.push(p);
  }

  private turnEnded(turnId: string): void {
    if (this.stopped.has(turnId)) return;
    const reply = this.replies.get(turnId)?.trim();
    if (!this.spoke.has(turnId) && !this.pending.some((p) => p.turnId === turnId) && reply) {
      const question = this.shown.turnId === turnId ? this.shown.question : undefined;
      this.show({ turnId, question, sentence: reply });
    }
    // Clear once this turn's laid-out audio is over, plus the fade delay.
    this.scheduleClear(turnId, Math.max(this.clock.now(), this.audioEnds.get(turnId) ?? 0));
  }

  private scheduleClear(turnId: string, from: number): void {
    this.clock.clearTimeout(this.clearTimer);
    const delay = msUntil(from, this.clock.now()) + this.rules.fadeMs;
    this.clearFor = turnId;
    this.clearTimer = this.clock.setTimeout(() => {
      this.clearTimer = undefined;
      this.clearFor = undefined;
      if (this.shown.turnId === turnId) this.show({});
    }, delay);
  }

  private dropPending(turnId: string): void {
    for (const p of this.pending) if (p.turnId === turnId) this.clock.clearTimeout(p.timer);
    this.pending = this.pending.filter((p) => p.turnId !== turnId);
    this.endTime = Math.max(0, ...this.pending.map((p) => p.end));
  }

  private show(view: SubtitleView): void {
    // Something of another turn cancels the clear scheduled for the old one.
    if (view.turnId !== undefined && view.turnId !== this.clearFor) {
      this.clock.clearTimeout(this.clearTimer);
      this.clearTimer = undefined;
      this.clearFor = undefined;
    }
    this.shown = Object.fromEntries(Object.entries(view).filter(([, v]) => v !== undefined)) as SubtitleView;
    this.onChange(this.shown);
  }
}

/** Whole milliseconds from `now` to `t` (seconds), so float sums never fire a timer a hair early. */
function msUntil(t: number, now: number): number {
  return Math.max(0, Math.round((t - now) * 1000));
}

function remember<K>(set: Set<K>, key: K): void;
function remember<K, V>(map: Map<K, V>, key: K, value: V): void;
function remember<K, V>(store: Set<K> | Map<K, V>, key: K, value?: V): void {
  if (store instanceof Map) store.set(key, value as V);
  else store.add(key);
  if (store.size > MAX_REMEMBERED) store.delete(store.keys().next().value as K);
}
