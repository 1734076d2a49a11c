/**
 * The live-chat service's core: chat from the configured connections -> the inbound filter -> the
 * arbiter -> at the pace the arbiter allows, ONE user input per pick on fav:dialog:inputs; a feed of
 * everything that happened for the studio (fav:chat:feed); the statuses of the connections.
 *
 * Rules kept here (the arbiter and the filter are pure and know nothing of the bus):
 *   - Never twice: a pick's message ids go into CHAT_ANSWERED_KEY in the same MULTI as its push;
 *     a message whose id was answered (or was seen by this process) is ignored: a platform replay.
 *   - Nothing accepted is lost: the feed says a message was accepted only in the MULTI that also
 *     keeps it in the waiting list (CHAT_WAITING_KEY, a hash), and a restarted service restores it.
 *     Feed events and the changes to the waiting list are written together every `flushMs`, and at
 *     once with a pick. Changes, not the whole list: under a flood the list is full (maxWaiting) and
 *     rewriting it ten times a second cost more than everything else the service does.
 *     The whole list is rewritten after a restore, a failed write, and at stop.
 *   - A filtered message never reaches the arbiter, the feed says why it was dropped.
 * The bus is behind `LiveChatIo` (bus-io.ts), so these rules are tested with fake timers.
 */
import type { Config } from '../../shared/config.js';
import type { ChatCommand, ChatConnectionStatus, ChatDropReason, ChatFeedEvent, ChatPlatform, ChatPickReason, LiveChatMessage } from '../../shared/live-chat.js';
import type { AiResponse, TurnEvent, UserInput } from '../../shared/voice.js';
import type { Logger } from '../runtime/index.js';
import { Connections, type ChatSourceRegistry } from './connections.js';
import { Pace } from './pace.js';
import { pickInput } from './pick-input.js';
import { ReplyPoster } from './replies.js';

/** What the core needs of the arbiter (./arbiter.ts ChatArbiter). */
export interface Arbiter {
  offer(m: LiveChatMessage): { accepted: true; priority: number } | { accepted: false; reason: ChatDropReason };
  setMicActive(active: boolean): void;
  setTurnActive(active: boolean): void;
  next(): Promise<{ messages: LiveChatMessage[]; reason: ChatPickReason; note?: string } | undefined>;
  wakeAt(): number | undefined;
  answerNow(id: string): boolean;
  removeAuthor(platform: ChatPlatform, userId: string): string[];
  takeDropped(): Array<{ id: string; reason: ChatDropReason }>;
  snapshot(): LiveChatMessage[];
  restore(waiting: LiveChatMessage[]): void;
}

/** What the core needs of the inbound filter (./moderation.ts InboundFilter). */
export interface Filter {
  check(m: LiveChatMessage): ChatDropReason | undefined;
  ban(platform: ChatPlatform, userId: string, name?: string): void;
  unban(platform: ChatPlatform, userId: string): void;
}

/** One atomic write (MULTI): feed events in order, the waiting list's changes, a pick's answered ids and its push. */
export interface Commit {
  feed: ChatFeedEvent[];
  /** Messages accepted since the last write (kept), and ids no longer waiting (picked, dropped). */
  keep?: LiveChatMessage[];
  unkeep?: string[];
  /** The whole waiting list, replacing what was kept. */
  rewrite?: LiveChatMessage[];
  /** Ids answered now, and older answered ids to forget (past `answeredKeepMs`). */
  answered?: { ids: string[]; at: number; forget: string[] };
  push?: UserInput;
}

export interface LiveChatIo {
  log: Logger;
  commit(c: Commit): Promise<void>;
  /** The statuses where /health reads them (SET with a time to live). */
  saveStatus(statuses: ChatConnectionStatus[], ttlMs: number): Promise<void>;
  /** Answered ids since `sinceMs` with when, oldest first (older ones are removed), and the waiting list a previous process kept. */
  loadAnswered(sinceMs: number): Promise<Array<[id: string, at: number]>>;
  loadWaiting(): Promise<LiveChatMessage[]>;
  /** The turn the dialog engine runs now for `session`, if any (a restarted service must not talk over it). */
  loadActiveTurn(session: string): Promise<string | undefined>;
  notify(text: string | undefined): void;
}

export interface LiveChatOptions {
  settings: Config['liveChat'];
  arbiter: Arbiter;
  filter: Filter;
  registry: ChatSourceRegistry;
  io: LiveChatIo;
  now?: () => number;
  /** How often feed events and the waiting list are written, ms. */
  flushMs?: number;
  /** Status refresh (and its key's time to live: 3 of these), ms. */
  statusEveryMs?: number;
  /** How long answered ids are remembered (a platform replays minutes, not hours), ms. */
  answeredKeepMs?: number;
  /** Ids of this process's recent messages whose replay is ignored. */
  maxSeen?: number;
}

/** A wake-up that found nothing to pick while the arbiter still says "now": look again after this. */
const IDLE_RETRY_MS = 250;

export class LiveChatService {
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly connections: Connections;
  private readonly pace: Pace;
  private readonly replies: ReplyPoster;
  private readonly answered = new Map<string, number>();
  private readonly seen = new Set<string>();
  private outbox: ChatFeedEvent[] = [];
  /** Changes to the kept waiting list since the last write; `rewrite`: write it whole instead. */
  private readonly keepAdd = new Map<string, LiveChatMessage>();
  private readonly keepDel = new Set<string>();
  private rewrite = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt: number | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private picking = false;
  private stopped = false;
  private writes: Promise<void> = Promise.resolve();
  private readonly flushMs: number;
  private readonly statusEveryMs: number;
  private readonly answeredKeepMs: number;
  private readonly maxSeen: number;
  readonly counters = { messages: 0, filtered: 0, accepted: 0, refused: 0, replays: 0, picks: 0 };

  constructor(private readonly o: LiveChatOptions) {
    this.now = o.now ?? Date.now;
    this.log = o.io.log;
    this.flushMs = o.flushMs ?? 100;
    this.statusEveryMs = o.statusEveryMs ?? 2000;
    this.answeredKeepMs = o.answeredKeepMs ?? 3_600_000;
    this.maxSeen = o.maxSeen ?? 5000;
    this.connections = new Connections(o.settings.connections, o.registry, { message: (_c, m) => this.onMessage(m), statusChanged: () => this.onStatusChanged() }, this.log, this.now);
    this.pace = new Pace(o.arbiter, { session: o.settings.session, log: this.log, onChange: () => this.arm() });
    this.replies = new ReplyPoster({ canPost: (c) => this.connections.canPost(c), post: (c, t) => this.connections.post(c, t) }, this.log);
  }

  /** Restores what a previous process kept, then connects. With no connection it stays idle. */
  async start(): Promise<void> {
    const since = this.now() - this.answeredKeepMs;
    for (const [id, at] of await this.o.io.loadAnswered(since)) this.answered.set(id, at);
    const waiting = (await this.o.io.loadWaiting()).filter((m) => !this.answered.has(m.id));
    if (waiting.length > 0) {
      this.o.arbiter.restore(waiting);
      for (const m of waiting) this.remember(m.id);
      this.rewrite = true;
      this.log.info({ waiting: waiting.length }, 'restored the chat messages that were waiting');
    }
    this.log.info({ connections: this.connections.enabled, answered: this.answered.size, session: this.o.settings.session }, 'live chat starting');
    await this.o.io.saveStatus(this.connections.statuses(), this.statusEveryMs * 3);
    if (this.connections.enabled === 0 && waiting.length === 0) return;
    this.feed({ type: 'status', connections: this.connections.statuses() });
    // A turn in flight (maybe our previous process's chat answer): the next pick waits for its end.
    const active = await this.o.io.loadActiveTurn(this.o.settings.session);
    if (active) this.pace.pending(active);
    this.statusTimer = setInterval(() => void this.saveStatus(), this.statusEveryMs);
    await this.connections.start();
    this.arm();
  }

  // ---------------------------------------------------------------------------------------------
  // Messages

  private onMessage(m: LiveChatMessage): void {
    if (this.stopped) return;
    this.counters.messages++;
    if (this.answered.has(m.id) || this.seen.has(m.id)) {
      this.counters.replays++;
      this.log.debug({ id: m.id }, 'chat message seen before (a replay): ignored');
      return;
    }
    this.remember(m.id);
    const filtered = this.o.filter.check(m);
    if (filtered) {
      this.counters.filtered++;
      this.feed({ type: 'message', message: m, dropped: filtered });
      return;
    }
    const offer = this.o.arbiter.offer(m);
    if (offer.accepted) {
      this.counters.accepted++;
      this.kept(m);
      this.feed({ type: 'message', message: m, priority: offer.priority });
    } else {
      this.counters.refused++;
      this.feed({ type: 'message', message: m, dropped: offer.reason });
    }
    this.takeDropped();
    this.arm();
  }

  private kept(m: LiveChatMessage): void {
    this.keepAdd.set(m.id, m);
    this.keepDel.delete(m.id);
  }

  /** No longer waiting: a message accepted since the last write is simply never written. */
  private unkept(id: string): void {
    if (!this.keepAdd.delete(id)) this.keepDel.add(id);
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > this.maxSeen) this.seen.delete(this.seen.values().next().value!);
  }

  /** Evictions and age-outs since the last look, as feed events. */
  private takeDropped(): void {
    const dropped = this.o.arbiter.takeDropped();
    for (const d of dropped) {
      this.unkept(d.id);
      this.feed({ type: 'dropped', id: d.id, reason: d.reason });
    }
  }

  private feed(ev: ChatFeedEvent): void {
    this.outbox.push(ev);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      void this.write({ feed: [] });
    }, this.flushMs);
  }

  /** Writes `c` with everything in the outbox (in order) and the waiting list's changes. */
  private write(c: Commit): Promise<boolean> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const commit: Commit = { ...c, feed: [...this.outbox, ...c.feed] };
    this.outbox = [];
    if (this.rewrite) {
      commit.rewrite = this.o.arbiter.snapshot();
      this.rewrite = false;
    } else {
      if (this.keepAdd.size > 0) commit.keep = [...this.keepAdd.values()];
      if (this.keepDel.size > 0) commit.unkeep = [...this.keepDel];
    }
    this.keepAdd.clear();
    this.keepDel.clear();
    if (commit.feed.length === 0 && !commit.rewrite && !commit.keep && !commit.unkeep && !commit.push) return this.writes.then(() => true);
    // One write at a time, in order: a later snapshot never lands before an earlier one.
    const done = this.writes.then(() =>
      this.o.io.commit(commit).then(
        () => true,
        (e: Error) => {
          this.log.error({ err: e.message, feed: commit.feed.length, push: commit.push?.turn_id }, 'could not write live chat state to the bus');
          // What the bus holds is unknown now: the next write puts the whole list.
          this.rewrite = true;
          return false;
        },
      ),
    );
    this.writes = done.then(() => undefined);
    return done;
  }

  // ---------------------------------------------------------------------------------------------
  // The pace: wake up when the arbiter may have something, pick, push

  /** Re-arms the wake-up at the arbiter's next moment. */
  private arm(): void {
    if (this.stopped) return;
    const at = this.o.arbiter.wakeAt();
    // wakeAt ages messages out as it looks: say so now, not with the next message.
    this.takeDropped();
    if (at === this.wakeAt && this.wakeTimer) return;
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakeAt = at;
    if (at === undefined || this.picking) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeAt = undefined;
      void this.wake();
    }, Math.max(0, at - this.now()));
  }

  private async wake(): Promise<void> {
    if (this.picking || this.stopped) return;
    this.picking = true;
    let picked = false;
    try {
      const pick = await this.o.arbiter.next();
      this.takeDropped();
      if (pick && pick.messages.length > 0 && !this.stopped) {
        picked = true;
        await this.answer(pick.messages, pick.reason, pick.note);
      }
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'picking a chat message failed');
    } finally {
      this.picking = false;
    }
    if (this.stopped) return;
    const at = this.o.arbiter.wakeAt();
    // Nothing came although the arbiter says "now" (e.g. its LLM pick is between rounds): do not spin.
    if (!picked && at !== undefined && at <= this.now()) {
      clearTimeout(this.wakeTimer);
      this.wakeAt = this.now() + IDLE_RETRY_MS;
      this.wakeTimer = setTimeout(() => {
        this.wakeTimer = undefined;
        this.wakeAt = undefined;
        void this.wake();
      }, IDLE_RETRY_MS);
      return;
    }
    this.arm();
  }

  private async answer(messages: LiveChatMessage[], reason: ChatPickReason, note: string | undefined): Promise<void> {
    const now = this.now();
    const { input, ids } = pickInput(messages, reason, this.o.settings.session, now);
    const forget = this.forgetOldAnswers(now);
    for (const id of ids) this.answered.set(id, now);
    // The turn counts from now: no second pick before the dialog engine announces it.
    this.pace.pending(input.turn_id);
    this.replies.remember(
      input.turn_id,
      messages.map((m) => m.connection),
    );
    for (const id of ids) this.unkept(id);
    this.counters.picks++;
    this.log.info({ turn_id: input.turn_id, ids, reason, note }, 'chat message picked');
    const ok = await this.write({
      feed: [{ type: 'picked', ids, reason, turn_id: input.turn_id, ...(note ? { note } : {}) }],
      answered: { ids, at: now, forget },
      push: input,
    });
    if (ok) return;
    // Neither pushed nor marked answered (one MULTI): the messages wait again instead of being lost.
    for (const id of ids) this.answered.delete(id);
    this.o.arbiter.restore(messages);
    this.pace.settled(input.turn_id);
  }

  /** Drops answered ids older than answeredKeepMs; returns them (the bus forgets them too). */
  private forgetOldAnswers(now: number): string[] {
    const before = now - this.answeredKeepMs;
    const gone: string[] = [];
    for (const [id, at] of this.answered) {
      if (at >= before) break; // insertion order is time order
      this.answered.delete(id);
      gone.push(id);
    }
    return gone;
  }

  // ---------------------------------------------------------------------------------------------
  // Bus inputs

  onTurnEvent(ev: TurnEvent): void {
    if (ev.kind === 'turn_end' && ev.reason !== 'done') this.replies.forget(ev.turn_id);
    this.pace.onEvent(ev);
  }

  async onAiResponse(r: AiResponse): Promise<void> {
    if (r.kind === 'done') await this.replies.done(r.turn_id, r.text);
    else if (r.kind === 'cancelled') this.replies.forget(r.turn_id);
  }

  async onCommand(c: ChatCommand): Promise<void> {
    switch (c.action) {
      case 'answer': {
        const ok = this.o.arbiter.answerNow(c.id);
        this.log.info({ id: c.id, ok }, ok ? 'answer now: picked next' : 'answer now: the message is not waiting (answered, dropped or unknown)');
        this.arm();
        break;
      }
      case 'ban': {
        this.o.filter.ban(c.platform, c.user_id, c.name || undefined);
        const ids = this.o.arbiter.removeAuthor(c.platform, c.user_id);
        for (const id of ids) {
          this.unkept(id);
          this.feed({ type: 'dropped', id, reason: 'banned_user' });
        }
        this.log.info({ platform: c.platform, user_id: c.user_id, removed: ids.length }, 'chat author banned');
        await this.write({ feed: [] });
        this.arm();
        break;
      }
      case 'unban':
        this.o.filter.unban(c.platform, c.user_id);
        this.log.info({ platform: c.platform, user_id: c.user_id }, 'chat author unbanned');
        break;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Status

  private onStatusChanged(): void {
    if (this.stopped) return;
    this.feed({ type: 'status', connections: this.connections.statuses() });
    void this.saveStatus();
  }

  private async saveStatus(): Promise<void> {
    this.o.io.notify(this.connections.errorSummary());
    try {
      await this.o.io.saveStatus(this.connections.statuses(), this.statusEveryMs * 3);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'could not save the chat connection statuses');
    }
  }

  statuses(): ChatConnectionStatus[] {
    return this.connections.statuses();
  }

  /** Closes the connections, writes what is pending (the last statuses and the waiting list). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.connections.stop();
    this.stopped = true;
    clearTimeout(this.wakeTimer);
    clearInterval(this.statusTimer);
    this.pace.dispose();
    this.rewrite = true;
    await this.write({ feed: [] });
    await this.saveStatus();
  }
}
