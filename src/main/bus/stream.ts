/**
 * The stream data type of the embedded bus (Redis 7.0 semantics): the entries (stream-log.ts) plus
 * consumer groups and their pending-entries lists (stream-pel.ts), entries-read and lag. Argument
 * parsing and replies live in the X* command glue; this module holds the state and the rules, and
 * throws RedisError with Redis 7.0.15's texts. Its JSON snapshot format is in stream-snapshot.ts.
 */
import { RedisError } from './errors.js';
import {
  BUSYGROUP, compareId, COUNT_NOT_POSITIVE, formatId, incrId, isZero, MAX_ID, MIN_ID, type Field, type PendingEntry, type StreamEntry, type StreamId,
} from './stream-id.js';
import { StreamLog } from './stream-log.js';
import { NoGroupError, PelIndex, type Consumer, type GroupCommand, type Group, type Nack } from './stream-pel.js';

export * from './stream-id.js';
export { noGroup, NoGroupError, type GroupCommand } from './stream-pel.js';

/** A stream's whole state as plain values (ids parsed, nothing shared with the live stream's PELs). */
export interface StreamState {
  last: StreamId;
  entriesAdded: number;
  maxDeletedId: StreamId;
  entries: StreamEntry[];
  groups: Array<{
    name: string;
    lastId: StreamId;
    /** null: unknown (Redis answers nil). */
    entriesRead: number | null;
    consumers: Array<{ name: string; seenTime: number }>;
    pending: Array<{ id: StreamId; consumer: string; deliveredAt: number; deliveryCount: number }>;
  }>;
}

export class RedisStream extends StreamLog {
  private readonly groups = new Map<string, Group>();

  // ------------------------------------------------------------------------------------ groups

  /** XGROUP CREATE. entriesRead: ENTRIESREAD, or unknown (-1 / undefined). */
  createGroup(_key: string, name: string, lastId: StreamId | '$', entriesRead?: number): void {
    if (this.groups.has(name)) throw new RedisError(BUSYGROUP);
    const id = lastId === '$' ? this.last : lastId;
    this.groups.set(name, {
      name,
      lastId: { ms: id.ms, seq: id.seq },
      entriesRead: entriesRead ?? -1,
      pel: new PelIndex(),
      consumers: new Map(),
    });
  }

  destroyGroup(name: string): boolean { return this.groups.delete(name); }
  hasGroup(name: string): boolean { return this.groups.has(name); }
  get groupCount(): number { return this.groups.size; }

  /** XGROUP SETID: moves the group's last-delivered-id; entries-read becomes entriesRead or unknown. */
  setGroupId(group: string, lastId: StreamId | '$', entriesRead?: number): void {
    const g = this.group(group, 'XGROUP');
    const id = lastId === '$' ? this.last : lastId;
    g.lastId = { ms: id.ms, seq: id.seq };
    g.entriesRead = entriesRead ?? -1;
  }

  /** XGROUP CREATECONSUMER: true when created. */
  createConsumer(group: string, consumer: string, nowMs = Date.now()): boolean {
    const g = this.group(group, 'XGROUP');
    if (g.consumers.has(consumer)) return false;
    g.consumers.set(consumer, { name: consumer, seenTime: nowMs, pel: new PelIndex() });
    return true;
  }

  /** XGROUP DELCONSUMER: returns the consumer's pending count (now dropped from the group PEL). */
  deleteConsumer(group: string, consumer: string): number {
    const g = this.group(group, 'XGROUP');
    const c = g.consumers.get(consumer);
    if (!c) return 0;
    const pending = c.pel.all();
    for (const n of pending) g.pel.remove(n.key);
    g.consumers.delete(consumer);
    return pending.length;
  }

  /**
   * XREADGROUP `>`: new entries past last-delivered-id; they enter the PEL unless noAck. An empty
   * result means nothing to serve (the glue replies nil or blocks); the consumer is then not created.
   */
  readGroupNew(group: string, consumer: string, count: number | undefined, noAck: boolean, nowMs: number): StreamEntry[] {
    const g = this.group(group, 'XREADGROUP');
    const entries = this.after(g.lastId, count);
    if (!entries.length) return entries; // Redis 7.0 creates (or touches) the consumer only when serving
    const c = this.consumer(g, consumer, nowMs);
    for (const e of entries) {
      this.advanceGroup(g, e.id);
      if (noAck) continue;
      const key = formatId(e.id);
      const nack = g.pel.get(key);
      if (!nack) {
        const n: Nack = { id: e.id, key, consumer: c, deliveredAt: nowMs, deliveryCount: 1 };
        g.pel.insert(n);
        c.pel.insert(n);
      } else {
        // Already pending (after SETID moved back): reassigned, as a first delivery.
        this.moveNack(nack, c);
        nack.deliveredAt = nowMs;
        nack.deliveryCount = 1;
      }
    }
    return entries;
  }

  /**
   * XREADGROUP with an id: the consumer's own pending entries with id > after. Entries deleted
   * since come back with fields null; the others count one more delivery at nowMs.
   */
  readGroupPending(group: string, consumer: string, after: StreamId, count: number | undefined, nowMs = Date.now()): Array<{ id: StreamId; fields: Field[] | null }> {
    const g = this.group(group, 'XREADGROUP');
    const c = this.consumer(g, consumer, nowMs);
    const start = incrId(after);
    const out: Array<{ id: StreamId; fields: Field[] | null }> = [];
    if (!start) return out;
    const max = count === undefined || count <= 0 ? Infinity : count;
    c.pel.scan(start, (n) => {
      const e = this.get(n.id);
      if (e) { n.deliveredAt = nowMs; n.deliveryCount++; }
      out.push({ id: n.id, fields: e ? e.fields : null });
      return out.length < max;
    });
    return out;
  }

  /** XACK: how many of ids were pending. A missing group acknowledges nothing. */
  ack(group: string, ids: StreamId[]): number {
    const g = this.groups.get(group);
    if (!g) return 0;
    let n = 0;
    for (const id of ids) {
      const nack = g.pel.remove(formatId(id));
      if (nack) { nack.consumer.pel.remove(nack.key); n++; }
    }
    return n;
  }

  /** XPENDING summary: consumers with pending entries, by name. */
  pendingSummary(group: string): { count: number; min?: StreamId; max?: StreamId; consumers: Array<{ name: string; count: number }> } {
    const g = this.group(group, 'XPENDING');
    if (!g.pel.size) return { count: 0, consumers: [] };
    const consumers = [...g.consumers.values()]
      .filter((c) => c.pel.size > 0)
      .map((c) => ({ name: c.name, count: c.pel.size }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { count: g.pel.size, min: g.pel.first()!.id, max: g.pel.last()!.id, consumers };
  }

  /** XPENDING extended: start <= id <= end, idle >= minIdleMs, at most count (after the filter). */
  pendingRange(group: string, start: StreamId, end: StreamId, count: number, consumer?: string, minIdleMs = 0, nowMs = Date.now()): PendingEntry[] {
    const g = this.group(group, 'XPENDING');
    const out: PendingEntry[] = [];
    const pel = consumer === undefined ? g.pel : g.consumers.get(consumer)?.pel;
    if (!pel || count <= 0) return out;
    pel.scan(start, (n) => {
      if (compareId(n.id, end) > 0) return false;
      if (minIdleMs > 0 && nowMs - n.deliveredAt < minIdleMs) return true;
      out.push({ id: n.id, consumer: n.consumer.name, deliveredAt: n.deliveredAt, deliveryCount: n.deliveryCount });
      return out.length < count;
    });
    return out;
  }

  /**
   * XAUTOCLAIM: walks the group PEL from start, at most count*10 entries; claims up to count idle
   * ones for consumer (created only when something is claimed). Entries deleted from the stream
   * leave the PEL, count against count and come back in `deleted`. next: the cursor, 0-0 at the end.
   */
  autoClaim(group: string, consumer: string, minIdleMs: number, start: StreamId, count: number, nowMs: number, justId = false): { next: StreamId; claimed: StreamEntry[]; deleted: StreamId[] } {
    const g = this.group(group, 'XAUTOCLAIM');
    if (!(count > 0)) throw new RedisError(COUNT_NOT_POSITIVE);
    let attempts = count * 10;
    const candidates: Nack[] = [];
    g.pel.scan(start, (n) => candidates.push(n) <= attempts);
    const claimed: StreamEntry[] = [];
    const deleted: StreamId[] = [];
    let c: Consumer | undefined;
    let i = 0;
    while (attempts > 0 && count > 0 && i < candidates.length) {
      attempts--;
      const n = candidates[i++];
      const e = this.get(n.id);
      if (!e) {
        this.dropNack(g, n);
        deleted.push(n.id);
        count--;
        continue;
      }
      if (minIdleMs > 0 && nowMs - n.deliveredAt < minIdleMs) continue;
      c ??= this.consumer(g, consumer, nowMs);
      this.moveNack(n, c);
      n.deliveredAt = nowMs;
      if (!justId) n.deliveryCount++;
      claimed.push(e);
      count--;
    }
    const next = candidates[i]?.id ?? { ms: 0, seq: 0 };
    return { next, claimed, deleted };
  }

  /**
   * XCLAIM: claims the listed pending ids idle >= minIdleMs for consumer. Options as Redis 7.0:
   * deliveryTime (from IDLE/TIME, clamped to [0, now]), retryCount, force (make a NACK for an
   * existing entry that is not pending; minIdle does not apply to it), justId (no count bump),
   * lastId (raises the group's last-delivered-id). Deleted entries leave the PEL unreported.
   */
  claim(group: string, consumer: string, minIdleMs: number, ids: StreamId[], nowMs: number,
    opts: { deliveryTime?: number; retryCount?: number; force?: boolean; justId?: boolean; lastId?: StreamId } = {}): StreamEntry[] {
    const g = this.group(group, 'XCLAIM');
    if (opts.lastId && compareId(opts.lastId, g.lastId) > 0) g.lastId = { ms: opts.lastId.ms, seq: opts.lastId.seq };
    let time = opts.deliveryTime ?? nowMs;
    if (time < 0 || time > nowMs) time = nowMs;
    const out: StreamEntry[] = [];
    let c: Consumer | undefined;
    for (const id of ids) {
      const key = formatId(id);
      let n = g.pel.get(key);
      const e = this.get(id);
      let forced = false;
      if (!n) {
        if (!opts.force || !e) continue;
        c ??= this.consumer(g, consumer, nowMs);
        n = { id: e.id, key, consumer: c, deliveredAt: nowMs, deliveryCount: 1 };
        g.pel.insert(n);
        c.pel.insert(n);
        forced = true;
      }
      if (!e) { this.dropNack(g, n); continue; }
      if (!forced && minIdleMs > 0 && nowMs - n.deliveredAt < minIdleMs) continue;
      c ??= this.consumer(g, consumer, nowMs);
      this.moveNack(n, c);
      n.deliveredAt = time;
      if (opts.retryCount !== undefined) n.deliveryCount = opts.retryCount;
      else if (!opts.justId) n.deliveryCount++;
      out.push(e);
    }
    return out;
  }

  /** XINFO GROUPS, by name. entriesRead and lag are null where Redis answers nil. */
  groupInfo(): Array<{ name: string; consumers: number; pending: number; lastDeliveredId: StreamId; entriesRead: number | null; lag: number | null }> {
    return [...this.groups.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((g) => ({
        name: g.name,
        consumers: g.consumers.size,
        pending: g.pel.size,
        lastDeliveredId: g.lastId,
        entriesRead: g.entriesRead >= 0 ? g.entriesRead : null,
        lag: this.lag(g),
      }));
  }

  /** XINFO CONSUMERS, by name; idle = now - seenTime. */
  consumersInfo(group: string): Array<{ name: string; pending: number; seenTime: number }> {
    const g = this.group(group, 'XINFO');
    return [...g.consumers.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((c) => ({ name: c.name, pending: c.pel.size, seenTime: c.seenTime }));
  }

  private group(name: string, cmd: GroupCommand): Group {
    const g = this.groups.get(name);
    if (!g) throw new NoGroupError(name, cmd);
    return g;
  }

  /** Looks a consumer up, creating it; either way it was seen now. */
  private consumer(g: Group, name: string, nowMs: number): Consumer {
    let c = g.consumers.get(name);
    if (!c) g.consumers.set(name, (c = { name, seenTime: nowMs, pel: new PelIndex() }));
    c.seenTime = nowMs;
    return c;
  }

  private moveNack(n: Nack, to: Consumer): void {
    if (n.consumer === to) return;
    n.consumer.pel.remove(n.key);
    n.consumer = to;
    to.pel.insert(n);
  }

  private dropNack(g: Group, n: Nack): void {
    g.pel.remove(n.key);
    n.consumer.pel.remove(n.key);
  }

  // ---------------------------------------------------------------- entries-read and lag (7.0)

  /** Whether an XDEL tombstone may lie in [start, end]: then counters past start can't be trusted. */
  private mayHaveTombstones(start: StreamId): boolean {
    if (!this.live || isZero(this.maxDeletedId)) return false;
    if (compareId(this.firstId, this.maxDeletedId) > 0) return false;
    return compareId(start, this.maxDeletedId) <= 0;
  }

  /** How many entries were added up to and including id, or -1 when that can't be known. */
  private estimateEntriesRead(id: StreamId): number {
    if (!this.entriesAdded) return 0;
    const cmpLast = compareId(id, this.last);
    if (!this.live && cmpLast <= 0) return this.entriesAdded;
    if (cmpLast === 0) return this.entriesAdded;
    if (cmpLast > 0) return -1;
    if (isZero(this.maxDeletedId) || compareId(this.maxDeletedId, this.firstId) < 0) {
      const cmpFirst = compareId(id, this.firstId);
      if (cmpFirst < 0) return this.entriesAdded - this.live;
      if (cmpFirst === 0) return this.entriesAdded - this.live + 1;
    }
    return -1;
  }

  /** Delivery of id moves the group's last-delivered-id and its entries-read counter. */
  private advanceGroup(g: Group, id: StreamId): void {
    if (compareId(id, g.lastId) <= 0) return;
    if (g.entriesRead >= 0 && !this.mayHaveTombstones(id)) g.entriesRead++;
    else if (this.entriesAdded) g.entriesRead = this.estimateEntriesRead(id);
    g.lastId = id;
  }

  private lag(g: Group): number | null {
    if (!this.entriesAdded) return 0;
    if (g.entriesRead >= 0 && !this.mayHaveTombstones(g.lastId)) return this.entriesAdded - g.entriesRead;
    const read = this.estimateEntriesRead(g.lastId);
    return read >= 0 ? this.entriesAdded - read : null;
  }

  // ------------------------------------------------------------------------------ whole state

  /** The state for a snapshot (stream-snapshot.ts turns it into JSON). */
  state(): StreamState {
    return {
      last: this.last,
      entriesAdded: this.entriesAdded,
      maxDeletedId: this.maxDeletedId,
      entries: this.range(MIN_ID, MAX_ID),
      groups: [...this.groups.values()].map((g) => ({
        name: g.name,
        lastId: g.lastId,
        entriesRead: g.entriesRead >= 0 ? g.entriesRead : null,
        consumers: [...g.consumers.values()].map((c) => ({ name: c.name, seenTime: c.seenTime })),
        pending: g.pel.all().map((n) => ({ id: n.id, consumer: n.consumer.name, deliveredAt: n.deliveredAt, deliveryCount: n.deliveryCount })),
      })),
    };
  }

  /**
   * A stream from a state already checked for consistency (stream-snapshot.ts does): entries in id
   * order and none past `last`, unique group and consumer names, pending entries in id order and
   * owned by a listed consumer.
   */
  static fromState(s: StreamState): RedisStream {
    const stream = new RedisStream();
    stream.restoreLog(s.last, s.entriesAdded, s.maxDeletedId, s.entries);
    for (const gs of s.groups) {
      stream.createGroup('', gs.name, gs.lastId, gs.entriesRead ?? -1);
      const g = stream.groups.get(gs.name)!;
      for (const c of gs.consumers) g.consumers.set(c.name, { name: c.name, seenTime: c.seenTime, pel: new PelIndex() });
      for (const p of gs.pending) {
        const c = g.consumers.get(p.consumer)!;
        const n: Nack = { id: p.id, key: formatId(p.id), consumer: c, deliveredAt: p.deliveredAt, deliveryCount: p.deliveryCount };
        g.pel.insert(n);
        c.pel.insert(n);
      }
    }
    return stream;
  }
}
