/**
 * The chat arbiter: which waiting chat message the avatar answers next, and when. Pure logic on an
 * injected clock; the live-chat service feeds it (`offer`), tells it about the mic and the session's
 * turns, and asks it (`next`) when `wakeAt` says something may be due.
 *
 * Order: a manual "answer this" first; then paid messages (by rough USD value, then oldest); then one
 * thank-you for every waiting gift/sub/membership once the oldest has waited `thanksBatchMs`; then
 * (optional) the LLM's pick among the ordinary messages; then messages that name the persona or ask
 * a question, then the rest, oldest first. Nothing is picked while the mic is active or a turn runs,
 * and nothing but a manual pick within `minGapMs` after a turn ends. A pick counts as a turn started:
 * the service calls `setTurnActive(false)` when that turn ends (or fails to start).
 *
 * Refused on offer: a replayed id or the same normalised text within DUPLICATE_WINDOW_MS
 * ('duplicate'), spam ('spam'), an author over `perUserMax` per `perUserWindowMs` ('rate_limited'), a
 * message below everything in a full queue ('overflow'). Paid messages and thanks are never refused
 * for these (money is always acknowledged). Dropped later (`takeDropped`): the oldest of the lowest
 * tier when the queue is full ('overflow'), unpaid ones waiting over `maxAgeMs` ('aged_out'), earlier
 * messages carrying a link that is posted again ('spam').
 */
import type { Config } from '../../shared/config.js';
import type { ChatDropReason, ChatKind, ChatPickReason, ChatPlatform, LiveChatMessage } from '../../shared/live-chat.js';
import type { Logger } from '../runtime/index.js';
import { Priority, fold, nameMatcher, rank, type PriorityTier, type RuleReason } from './arbiter-priority.js';
import { DUPLICATE_WINDOW_MS, LINK_WINDOW_MS, RateLimiter, RecentKeys, duplicateKey, linksOf, spamReason } from './arbiter-spam.js';
import { thanksNote } from './arbiter-thanks.js';

export { createOpenAiPicker } from './arbiter-llm-pick.js';

export interface LlmPicker {
  /** Chooses up to k of the candidates to answer; returns their keys, best first. May throw or hang (the arbiter bounds it). */
  pick(candidates: PickCandidate[], k: number, signal: AbortSignal): Promise<string[]>;
}
export interface PickCandidate {
  key: string;
  author: string;
  text: string;
  kind: ChatKind;
  paid?: string;
}
export type Offer = { accepted: true; priority: number } | { accepted: false; reason: ChatDropReason };
export interface ChatPick {
  messages: LiveChatMessage[];
  reason: ChatPickReason;
  note?: string;
}
export interface ArbiterStats {
  waiting: number;
  /** Waiting messages by the reason they would be picked for: paid, thanks, addressed, question, rest. */
  byPriority: Record<string, number>;
  /** Rough bytes held: the waiting messages and the duplicate / rate tables. */
  heldBytes?: number;
  /** LLM consultations since start, and how many fell back to the rule order (slow, failed, empty). */
  llm?: { consulted: number; fallbacks: number };
}
export interface ChatArbiterOptions {
  settings: Config['liveChat']['arbiter'];
  personaName: string;
  /** Other names the avatar answers to (a nickname, the name in another script). */
  aliases?: string[];
  now?: () => number;
  picker?: LlmPicker;
  log?: Logger;
  /** Default DUPLICATE_WINDOW_MS. */
  duplicateWindowMs?: number;
}

/** Most candidates sent to the LLM in one consultation (rule order; the prompt stays small and fast). */
export const MAX_LLM_CANDIDATES = 30;
/** Most drop notices kept for `takeDropped` (the service drains them after every offer / next). */
const MAX_DROPPED = 10_000;

interface Entry {
  m: LiveChatMessage;
  /** Arbiter clock when accepted (restored: when received, if earlier). */
  at: number;
  priority: PriorityTier;
  reason: RuleReason;
  usd: number;
  links: string[];
  bytes: number;
}

export class ChatArbiter {
  private readonly s: Config['liveChat']['arbiter'];
  private readonly now: () => number;
  private readonly picker: LlmPicker | undefined;
  private readonly log: Logger | undefined;
  private readonly addressed: (folded: string) => boolean;
  private readonly byId = new Map<string, Entry>();
  /** One map per tier (index = priority), each in acceptance order: the front is the oldest. */
  private readonly tiers: Array<Map<string, Entry>> = [new Map(), new Map(), new Map(), new Map()];
  private readonly ids: RecentKeys;
  private readonly texts: RecentKeys;
  private readonly linkSeen = new RecentKeys(LINK_WINDOW_MS);
  private readonly rate: RateLimiter;
  private dropped: Array<{ id: string; reason: ChatDropReason }> = [];
  private manual: string[] = [];
  private llmQueue: string[] = [];
  private llmAt = -Infinity;
  private readonly llmCount = { consulted: 0, fallbacks: 0 };
  private micActive = false;
  private turnActive = false;
  private gapEnd = -Infinity;
  private waitingBytes = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(o: ChatArbiterOptions) {
    this.s = o.settings;
    this.now = o.now ?? Date.now;
    this.picker = o.picker;
    this.log = o.log;
    this.addressed = nameMatcher([o.personaName, ...(o.aliases ?? [])]);
    const dupMs = o.duplicateWindowMs ?? DUPLICATE_WINDOW_MS;
    this.texts = new RecentKeys(dupMs);
    this.ids = new RecentKeys(Math.max(dupMs, this.s.maxAgeMs));
    this.rate = new RateLimiter(this.s.perUserMax, this.s.perUserWindowMs);
  }

  offer(m: LiveChatMessage): Offer {
    const now = this.now();
    this.expire(now);
    if (this.byId.has(m.id) || this.ids.touch(m.id, now)) return { accepted: false, reason: 'duplicate' };
    const folded = fold(m.text);
    const r = rank(m, this.addressed, folded);
    let links: string[] = [];
    if (r.priority < Priority.thanks) {
      if (spamReason(m.text)) return { accepted: false, reason: 'spam' };
      links = linksOf(m.text);
      if (links.some((l) => this.linkSeen.has(l, now))) {
        for (const l of links) this.linkSeen.touch(l, now);
        this.dropCarrying(links);
        return { accepted: false, reason: 'spam' };
      }
      const key = duplicateKey(m.text, folded);
      if (key && this.texts.touch(key, now)) return { accepted: false, reason: 'duplicate' };
      if (this.full() && this.victim()!.priority > r.priority) return { accepted: false, reason: 'overflow' };
      if (!this.rate.allow(`${m.platform}:${m.author.id}`, now)) return { accepted: false, reason: 'rate_limited' };
      for (const l of links) this.linkSeen.touch(l, now);
    }
    if (!this.insert(m, now, r, links)) return { accepted: false, reason: 'overflow' };
    return { accepted: true, priority: r.priority };
  }

  setMicActive(active: boolean): void {
    this.micActive = active;
  }

  setTurnActive(active: boolean): void {
    if (!active && this.turnActive) this.gapEnd = this.now() + this.s.minGapMs;
    this.turnActive = active;
  }

  /** What to answer now, if anything. Calls are served one at a time (an LLM consultation may be in flight). */
  next(): Promise<ChatPick | undefined> {
    const run = this.chain.then(() => this.decide());
    this.chain = run.catch(() => undefined);
    return run;
  }

  wakeAt(): number | undefined {
    const now = this.now();
    this.expire(now);
    if (this.byId.size === 0) return undefined;
    let t = Infinity;
    for (let p = 0; p < Priority.paid; p++) {
      const front = first(this.tiers[p]!);
      if (front) t = Math.min(t, front.at + this.s.maxAgeMs);
    }
    if (!this.micActive && !this.turnActive) {
      if (this.manual.some((id) => this.byId.has(id))) return now;
      const ready = Math.max(now, this.gapEnd);
      const thanks = first(this.tiers[Priority.thanks]!);
      if (this.tiers[Priority.paid]!.size || this.tiers[Priority.addressed]!.size || this.tiers[Priority.rest]!.size) t = Math.min(t, ready);
      else if (thanks) t = Math.min(t, Math.max(ready, thanks.at + this.s.thanksBatchMs));
    }
    return t === Infinity ? undefined : t;
  }

  answerNow(id: string): boolean {
    if (!this.byId.has(id)) return false;
    this.manual = [...this.manual.filter((x) => x !== id), id];
    return true;
  }

  removeAuthor(platform: ChatPlatform, userId: string): string[] {
    const gone: string[] = [];
    for (const e of [...this.byId.values()]) {
      if (e.m.platform === platform && e.m.author.id === userId) {
        this.remove(e);
        gone.push(e.m.id);
      }
    }
    return gone;
  }

  takeDropped(): Array<{ id: string; reason: ChatDropReason }> {
    this.expire(this.now());
    const out = this.dropped;
    this.dropped = [];
    return out;
  }

  snapshot(): LiveChatMessage[] {
    return [...this.byId.values()].sort((a, b) => a.at - b.at).map((e) => e.m);
  }

  /** Puts back the waiting messages of a previous run (accepted then: no spam / duplicate / rate check again). */
  restore(waiting: LiveChatMessage[]): void {
    const now = this.now();
    for (const m of [...waiting].sort((a, b) => a.received_at - b.received_at)) {
      if (this.byId.has(m.id)) continue;
      this.ids.touch(m.id, now);
      if (!this.insert(m, Math.min(m.received_at, now), rank(m, this.addressed), linksOf(m.text))) this.drop(m.id, 'overflow');
    }
    // Keep every tier ordered by `at` (restored ones may be older than messages already waiting).
    for (const tier of this.tiers) {
      const sorted = [...tier.values()].sort((a, b) => a.at - b.at);
      tier.clear();
      for (const e of sorted) tier.set(e.m.id, e);
    }
  }

  /** Waiting messages now (what stats().waiting says, without the breakdown). */
  get size(): number {
    return this.byId.size;
  }

  stats(): ArbiterStats {
    const byPriority: Record<string, number> = { paid: 0, thanks: 0, addressed: 0, question: 0, rest: 0 };
    for (const e of this.byId.values()) byPriority[e.reason] = (byPriority[e.reason] ?? 0) + 1;
    const tables = this.ids.bytes() + this.texts.bytes() + this.linkSeen.bytes() + this.rate.bytes();
    return { waiting: this.byId.size, byPriority, heldBytes: this.waitingBytes + tables, llm: { ...this.llmCount } };
  }

  // --- picking ---

  private async decide(): Promise<ChatPick | undefined> {
    if (this.shouldConsult(this.now())) await this.consult(this.now());
    return this.decideNow(this.now());
  }

  private blocked(): boolean {
    return this.micActive || this.turnActive || this.byId.size === 0;
  }

  private decideNow(now: number): ChatPick | undefined {
    this.expire(now);
    if (this.blocked()) return undefined;
    while (this.manual.length) {
      const e = this.byId.get(this.manual.shift()!);
      if (e) return this.take([e], 'manual');
    }
    if (now < this.gapEnd) return undefined;
    const paid = this.bestPaid();
    if (paid) return this.take([paid], 'paid', paid.m.paid?.display ?? (paid.m.paid ? `${paid.m.paid.amount} ${paid.m.paid.currency}` : undefined));
    const thanks = this.tiers[Priority.thanks]!;
    const oldest = first(thanks);
    if (oldest && now >= oldest.at + this.s.thanksBatchMs) {
      const batch = [...thanks.values()];
      return this.take(batch, 'thanks', thanksNote(batch.map((e) => e.m)));
    }
    while (this.llmQueue.length) {
      const e = this.byId.get(this.llmQueue.shift()!);
      if (e && e.priority <= Priority.addressed) return this.take([e], 'llm');
    }
    const e = first(this.tiers[Priority.addressed]!) ?? first(this.tiers[Priority.rest]!);
    return e ? this.take([e], e.reason) : undefined;
  }

  private bestPaid(): Entry | undefined {
    let best: Entry | undefined;
    // Ties keep the earlier (older) one: the tier is in acceptance order.
    for (const e of this.tiers[Priority.paid]!.values()) if (!best || e.usd > best.usd) best = e;
    return best;
  }

  private take(entries: Entry[], reason: ChatPickReason, note?: string): ChatPick {
    for (const e of entries) this.remove(e);
    this.turnActive = true;
    return { messages: entries.map((e) => e.m), reason, ...(note ? { note } : {}) };
  }

  /** The LLM is asked only when its pick would be used now: nothing manual, paid or thanks is due first. */
  private shouldConsult(now: number): boolean {
    const o = this.s.llmPick;
    if (!o.enabled || !this.picker || this.blocked() || now < this.gapEnd || now - this.llmAt < o.everyMs) return false;
    if (this.manual.some((id) => this.byId.has(id)) || this.tiers[Priority.paid]!.size) return false;
    const thanks = first(this.tiers[Priority.thanks]!);
    if (thanks && now >= thanks.at + this.s.thanksBatchMs) return false;
    if (this.llmQueue.some((id) => this.byId.has(id))) return false;
    return this.tiers[Priority.addressed]!.size + this.tiers[Priority.rest]!.size >= 2;
  }

  private async consult(now: number): Promise<void> {
    const o = this.s.llmPick;
    this.llmAt = now;
    this.llmCount.consulted++;
    const pool: Entry[] = [];
    for (const p of [Priority.addressed, Priority.rest]) {
      for (const e of this.tiers[p]!.values()) {
        if (pool.length >= MAX_LLM_CANDIDATES) break;
        pool.push(e);
      }
    }
    const candidates: PickCandidate[] = pool.map((e, i) => ({
      key: String(i + 1),
      author: e.m.author.name,
      text: e.m.text,
      kind: e.m.kind,
      ...(e.m.paid ? { paid: e.m.paid.display ?? `${e.m.paid.amount} ${e.m.paid.currency}` } : {}),
    }));
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), o.timeoutMs);
    });
    let outcome: string[] | 'timeout' | Error;
    try {
      outcome = await Promise.race([
        this.picker!.pick(candidates, o.maxPicks, ac.signal).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))),
        timedOut,
      ]);
    } finally {
      clearTimeout(timer);
      ac.abort();
    }
    const ids: string[] = [];
    if (Array.isArray(outcome)) {
      for (const key of outcome) {
        const e = pool[Number(key) - 1];
        if (e && String(Number(key)) === key && !ids.includes(e.m.id) && ids.length < o.maxPicks) ids.push(e.m.id);
      }
    }
    if (ids.length === 0) {
      this.llmCount.fallbacks++;
      const why = outcome === 'timeout' ? `no answer within ${o.timeoutMs} ms` : outcome instanceof Error ? outcome.message : `no valid key in ${JSON.stringify(outcome).slice(0, 200)}`;
      this.log?.warn({ candidates: candidates.length }, `chat LLM pick failed (${why}): the rule order picks instead`);
      return;
    }
    this.llmQueue = ids;
  }

  // --- the queue ---

  private full(): boolean {
    return this.byId.size >= this.s.maxWaiting;
  }

  /** The oldest message of the lowest non-empty tier: the one a full queue gives up first. */
  private victim(): Entry | undefined {
    for (const tier of this.tiers) {
      const e = first(tier);
      if (e) return e;
    }
    return undefined;
  }

  private insert(m: LiveChatMessage, at: number, r: ReturnType<typeof rank>, links: string[]): boolean {
    if (this.full()) {
      const v = this.victim()!;
      if (v.priority > r.priority) return false;
      this.remove(v);
      this.drop(v.m.id, 'overflow');
    }
    const bytes = 2 * (m.id.length + m.text.length + m.author.name.length + m.author.id.length + m.channel.length + m.connection.length) + 240;
    const e: Entry = { m, at, priority: r.priority, reason: r.reason, usd: r.usd, links, bytes };
    this.byId.set(m.id, e);
    this.tiers[r.priority]!.set(m.id, e);
    this.waitingBytes += bytes;
    return true;
  }

  private remove(e: Entry): void {
    if (!this.byId.delete(e.m.id)) return;
    this.tiers[e.priority]!.delete(e.m.id);
    this.waitingBytes -= e.bytes;
  }

  private drop(id: string, reason: ChatDropReason): void {
    this.dropped.push({ id, reason });
    if (this.dropped.length > MAX_DROPPED) this.dropped.splice(0, this.dropped.length - MAX_DROPPED);
  }

  /** Unpaid messages past maxAgeMs go ('aged_out'); each tier is in acceptance order, so only fronts are looked at. */
  private expire(now: number): void {
    for (let p = 0; p < Priority.paid; p++) {
      for (const e of this.tiers[p]!.values()) {
        if (now - e.at < this.s.maxAgeMs) break;
        this.remove(e);
        this.drop(e.m.id, 'aged_out');
      }
    }
  }

  /** A link posted again: the waiting messages that carried it are link spam too. */
  private dropCarrying(links: string[]): void {
    for (const e of [...this.byId.values()]) {
      if (e.priority < Priority.thanks && e.links.some((l) => links.includes(l))) {
        this.remove(e);
        this.drop(e.m.id, 'spam');
      }
    }
  }
}

function first<V>(map: Map<string, V>): V | undefined {
  return map.values().next().value;
}
