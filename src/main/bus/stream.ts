/**
 * The stream data type of the embedded bus (Redis 7.0 semantics): entries, trimming, consumer groups
 * and their pending-entries lists (PEL). Argument parsing and replies live in the X* command glue;
 * this module holds the state and the rules, and throws RedisError with Redis 7.0.15's texts.
 *
 * Choices that differ from redis-server, on purpose:
 * - ID parts are JS numbers, so the ID space tops out at 2^53-1 for both ms and seq (Redis: 2^64-1).
 *   Parts above that are rejected as invalid IDs; `+` means (2^53-1)-(2^53-1).
 * - `~` trimming trims exactly (Redis trims whole 100-entry nodes), but honours LIMIT: at most `limit`
 *   entries go per call, 10000 (Redis's 100 x stream-node-max-entries) when `~` comes without LIMIT,
 *   and LIMIT 0 means no cap. Exact trimming takes no LIMIT (Redis: a syntax error).
 *
 * Missing consumer group: Redis words NOGROUP differently per command, and only the glue knows the key.
 * Methods throw NoGroupError; the glue rethrows `e.withKey(key)` (or checks hasGroup() first and
 * throws noGroup(key, group, cmd) itself). Which command's text each method picks:
 *   readGroupNew, readGroupPending  -> XREADGROUP: No such key 'k' or consumer group 'g' in XREADGROUP with GROUP option
 *   pendingSummary, pendingRange    -> XPENDING:   No such key 'k' or consumer group 'g'
 *   autoClaim, claim                -> XAUTOCLAIM, XCLAIM: same text as XPENDING
 *   createConsumer, deleteConsumer, setGroupId -> XGROUP: No such consumer group 'g' for key name 'k'
 *   consumersInfo                   -> XINFO: same text as XGROUP
 *   ack returns 0 and destroyGroup returns false for a missing group, as XACK and XGROUP DESTROY do.
 *
 * Layout: live entries sit in one array sorted by id, with a head offset for trimming and tombstones
 * (fields = null) for XDEL in the middle; the first and last slots are always live. A PEL is a Map
 * keyed by formatted id plus a sorted array of cells (see PelIndex) for range scans.
 */
import { RedisError, wrongArgs } from './errors.js';

export interface StreamId { ms: number; seq: number }
/** Latin1 strings for small values, Buffers for big ones; stored as given. */
export type Field = string | Buffer;
/** Returned entries are the stored objects: treat them as read-only. */
export interface StreamEntry { id: StreamId; fields: Field[] }
export interface PendingEntry { id: StreamId; consumer: string; deliveredAt: number; deliveryCount: number }

/** Highest value of either ID part on this bus. */
export const MAX_ID_PART = Number.MAX_SAFE_INTEGER;
export const MIN_ID: Readonly<StreamId> = Object.freeze({ ms: 0, seq: 0 });
export const MAX_ID: Readonly<StreamId> = Object.freeze({ ms: MAX_ID_PART, seq: MAX_ID_PART });

export const INVALID_ID = 'ERR Invalid stream ID specified as stream command argument';
export const XADD_TOO_SMALL = 'ERR The ID specified in XADD is equal or smaller than the target stream top item';
export const XADD_ZERO = 'ERR The ID specified in XADD must be greater than 0-0';
export const XADD_EXHAUSTED = 'ERR The stream has exhausted the last possible ID, unable to add more items';
export const BUSYGROUP = 'BUSYGROUP Consumer Group name already exists';
export const COUNT_NOT_POSITIVE = 'ERR COUNT must be > 0';
export const LIMIT_WITHOUT_APPROX = 'ERR syntax error, LIMIT cannot be used without the special ~ option';
/** Redis's default LIMIT for `~` trimming: 100 x stream-node-max-entries (100). */
export const DEFAULT_APPROX_TRIM_LIMIT = 10_000;

// ---------------------------------------------------------------------------------------------- IDs

/** One ID part as Redis's string2ull reads it (leading blanks and '+' allowed), or null. */
function parsePart(s: string): number | null {
  if (!/^[ \t\n\v\f\r]*\+?[0-9]+$/.test(s)) return null;
  const digits = s.replace(/^[ \t\n\v\f\r]*\+?0*/, '');
  if (digits.length > 16) return null; // > 2^53-1 for sure (16 digits max out at 9999999999999999)
  const n = Number(digits || '0');
  return n <= MAX_ID_PART ? n : null;
}

/**
 * Parses `ms-seq`, `ms` (seq from defaultSeq: 'min' -> 0, 'max' -> 2^53-1), `-` (0-0) and `+` (max).
 * Throws RedisError(INVALID_ID). Exclusive `(id` bounds are the glue's: parse then incrId/decrId.
 */
export function parseId(s: string, opts: { defaultSeq?: 'min' | 'max' } = {}): StreamId {
  if (s === '-') return { ms: 0, seq: 0 };
  if (s === '+') return { ms: MAX_ID_PART, seq: MAX_ID_PART };
  if (s.length > 127) throw new RedisError(INVALID_ID);
  const dash = s.indexOf('-');
  const ms = parsePart(dash < 0 ? s : s.slice(0, dash));
  const seq = dash < 0 ? (opts.defaultSeq === 'max' ? MAX_ID_PART : 0) : parsePart(s.slice(dash + 1));
  if (ms === null || seq === null) throw new RedisError(INVALID_ID);
  return { ms, seq };
}

export function formatId(id: StreamId): string {
  return `${id.ms}-${id.seq}`;
}

export function compareId(a: StreamId, b: StreamId): number {
  return a.ms !== b.ms ? (a.ms < b.ms ? -1 : 1) : a.seq !== b.seq ? (a.seq < b.seq ? -1 : 1) : 0;
}

/** The next ID, or null past the last one. */
export function incrId(id: StreamId): StreamId | null {
  if (id.seq < MAX_ID_PART) return { ms: id.ms, seq: id.seq + 1 };
  if (id.ms < MAX_ID_PART) return { ms: id.ms + 1, seq: 0 };
  return null;
}

/** The previous ID, or null before 0-0. */
export function decrId(id: StreamId): StreamId | null {
  if (id.seq > 0) return { ms: id.ms, seq: id.seq - 1 };
  if (id.ms > 0) return { ms: id.ms - 1, seq: MAX_ID_PART };
  return null;
}

const isZero = (id: StreamId) => id.ms === 0 && id.seq === 0;

// ------------------------------------------------------------------------------------- NOGROUP texts

export type GroupCommand = 'XREADGROUP' | 'XPENDING' | 'XAUTOCLAIM' | 'XCLAIM' | 'XGROUP' | 'XINFO';

/** The NOGROUP error a command answers for a missing key or group, in Redis 7.0.15's words. */
export function noGroup(key: string, group: string, cmd: GroupCommand = 'XREADGROUP'): RedisError {
  switch (cmd) {
    case 'XREADGROUP':
      return new RedisError(`NOGROUP No such key '${key}' or consumer group '${group}' in XREADGROUP with GROUP option`);
    case 'XGROUP':
    case 'XINFO':
      return new RedisError(`NOGROUP No such consumer group '${group}' for key name '${key}'`);
    default:
      return new RedisError(`NOGROUP No such key '${key}' or consumer group '${group}'`);
  }
}

/** Thrown by group methods when the group is missing; the stream does not know its key. */
export class NoGroupError extends RedisError {
  constructor(readonly group: string, readonly cmd: GroupCommand) {
    super(noGroup('?', group, cmd).message);
    this.name = 'NoGroupError';
  }
  /** The error to send: the same text with the real key. */
  withKey(key: string): RedisError {
    return noGroup(key, this.group, this.cmd);
  }
}

// --------------------------------------------------------------------------------------------- PELs

interface Consumer { name: string; seenTime: number; pel: PelIndex }
interface Nack { id: StreamId; key: string; consumer: Consumer; deliveredAt: number; deliveryCount: number }
interface Group { name: string; lastId: StreamId; entriesRead: number /* -1: unknown */; pel: PelIndex; consumers: Map<string, Consumer> }
interface Cell { nack: Nack; alive: boolean }

/**
 * Pending entries by id: a Map for lookups and a sorted array of cells for ordered scans. Removal
 * kills the cell (O(1)); dead cells are dropped when they outnumber live ones. Deliveries come in
 * id order, so inserts are appends but for claims of older entries (binary search + splice).
 */
class PelIndex {
  private readonly map = new Map<string, Cell>();
  private cells: Cell[] = [];
  /** Cells before head are all dead (acks usually take the oldest entries). */
  private head = 0;
  private dead = 0;

  get size(): number { return this.map.size; }
  get(key: string): Nack | undefined { return this.map.get(key)?.nack; }

  insert(nack: Nack): void {
    const cell = { nack, alive: true };
    this.map.set(nack.key, cell);
    if (this.head === this.cells.length) { this.cells = [cell]; this.head = 0; this.dead = 0; return; }
    const last = this.cells[this.cells.length - 1];
    if (!last || compareId(last.nack.id, nack.id) < 0) this.cells.push(cell);
    else this.cells.splice(this.lowerBound(nack.id), 0, cell);
  }

  remove(key: string): Nack | undefined {
    const cell = this.map.get(key);
    if (!cell) return undefined;
    this.map.delete(key);
    cell.alive = false;
    this.dead++;
    const cells = this.cells;
    while (cells.length > this.head && !cells[cells.length - 1].alive) { cells.pop(); this.dead--; }
    while (this.head < cells.length && !cells[this.head].alive) this.head++;
    if (this.dead > 32 && this.dead > this.map.size) { this.cells = cells.filter((c) => c.alive); this.dead = 0; this.head = 0; }
    return cell.nack;
  }

  /** Visits live nacks with id >= start in order until visit returns false. Don't mutate inside. */
  scan(start: StreamId, visit: (n: Nack) => boolean): void {
    for (let i = this.lowerBound(start); i < this.cells.length; i++) {
      const c = this.cells[i];
      if (c.alive && !visit(c.nack)) return;
    }
  }

  first(): Nack | undefined { return this.map.size ? this.cells[this.head].nack : undefined; }
  last(): Nack | undefined { return this.map.size ? this.cells[this.cells.length - 1].nack : undefined; }
  all(): Nack[] { return this.cells.filter((c) => c.alive).map((c) => c.nack); }

  private lowerBound(id: StreamId): number {
    let lo = this.head, hi = this.cells.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareId(this.cells[mid].nack.id, id) < 0) lo = mid + 1; else hi = mid;
    }
    return lo;
  }
}

// ------------------------------------------------------------------------------------------ stream

interface Slot { id: StreamId; fields: Field[] | null } // fields null: deleted (tombstone)

export class RedisStream {
  /** Slots [head, slots.length) hold the entries; slots[head] and the last slot are live. */
  private slots: Slot[] = [];
  /**
   * The slots' ids again, as parallel arrays of plain numbers: V8 keeps them as unboxed doubles in
   * one block, so a binary search touches one array per step instead of slot -> id -> boxed ms
   * (about 4x faster on a 1M-entry stream whose slots are out of cache).
   */
  private msOf: number[] = [];
  private seqOf: number[] = [];
  private head = 0;
  private live = 0;
  private tombs = 0;
  private last: StreamId = { ms: 0, seq: 0 };
  private readonly groups = new Map<string, Group>();
  /** Entries ever added (XINFO entries-added); XSETID may raise it. */
  entriesAdded = 0;
  /** The greatest ID ever removed by XDEL (XINFO max-deleted-entry-id). */
  maxDeletedId: StreamId = { ms: 0, seq: 0 };

  get length(): number { return this.live; }
  get lastId(): StreamId { return this.last; }
  get firstEntry(): StreamEntry | undefined { return this.live ? (this.slots[this.head] as StreamEntry) : undefined; }
  get lastEntry(): StreamEntry | undefined { return this.live ? (this.slots[this.slots.length - 1] as StreamEntry) : undefined; }
  /** XINFO recorded-first-entry-id: the first entry's id, 0-0 when empty. */
  get firstId(): StreamId { return this.firstEntry?.id ?? { ms: 0, seq: 0 }; }

  /**
   * XADD. idArg: `*`, `ms-*`, `ms` or `ms-seq`. Fields: a flat, non-empty, even-length list.
   * `*` takes max(nowMs, lastId.ms) and bumps seq within the same millisecond.
   */
  add(idArg: string, fields: Field[], nowMs: number): StreamId {
    if (fields.length === 0 || fields.length % 2 !== 0) throw new RedisError(wrongArgs('xadd'));
    let id: StreamId;
    if (idArg === '*') {
      this.checkNotExhausted();
      const ms = Math.min(Math.max(0, Math.floor(nowMs)), MAX_ID_PART);
      id = ms > this.last.ms ? { ms, seq: 0 } : incrId(this.last)!;
    } else if (idArg.endsWith('-*')) {
      const ms = parsePart(idArg.slice(0, -2));
      if (ms === null) throw new RedisError(INVALID_ID);
      this.checkNotExhausted();
      if (ms < this.last.ms || (ms === this.last.ms && this.last.seq === MAX_ID_PART)) throw new RedisError(XADD_TOO_SMALL);
      id = ms === this.last.ms ? { ms, seq: this.last.seq + 1 } : { ms, seq: 0 };
    } else {
      if (idArg === '-' || idArg === '+') throw new RedisError(INVALID_ID);
      id = parseId(idArg);
      if (isZero(id)) throw new RedisError(XADD_ZERO);
      this.checkNotExhausted();
      if (compareId(id, this.last) <= 0) throw new RedisError(XADD_TOO_SMALL);
    }
    this.pushSlot({ id, fields });
    this.live++;
    this.entriesAdded++;
    this.last = id;
    return id;
  }

  private checkNotExhausted(): void {
    if (this.last.ms === MAX_ID_PART && this.last.seq === MAX_ID_PART) throw new RedisError(XADD_EXHAUSTED);
  }

  /** The live entry with this id, if any. */
  get(id: StreamId): StreamEntry | undefined {
    const i = this.lowerBound(id);
    const s = this.slots[i];
    return s && s.fields && compareId(s.id, id) === 0 ? (s as StreamEntry) : undefined;
  }

  /** XRANGE / XREVRANGE: start <= id <= end, at most count (undefined: all; <= 0: none). */
  range(start: StreamId, end: StreamId, count?: number, reverse = false): StreamEntry[] {
    const out: StreamEntry[] = [];
    const max = count === undefined ? Infinity : count;
    if (max <= 0 || compareId(start, end) > 0) return out;
    if (!reverse) {
      for (let i = this.lowerBound(start); i < this.slots.length && out.length < max; i++) {
        const s = this.slots[i];
        if (compareId(s.id, end) > 0) break;
        if (s.fields) out.push(s as StreamEntry);
      }
    } else {
      const after = incrId(end);
      for (let i = (after ? this.lowerBound(after) : this.slots.length) - 1; i >= this.head && out.length < max; i--) {
        const s = this.slots[i];
        if (compareId(s.id, start) < 0) break;
        if (s.fields) out.push(s as StreamEntry);
      }
    }
    return out;
  }

  /** XREAD: entries with id > id, at most count (undefined or <= 0: all, as XREAD COUNT 0). */
  after(id: StreamId, count?: number): StreamEntry[] {
    const start = incrId(id);
    if (!start) return [];
    return this.range(start, MAX_ID, count === undefined || count <= 0 ? undefined : count);
  }

  /** XDEL: returns how many existed; raises maxDeletedId. */
  delete(ids: StreamId[]): number {
    let n = 0;
    for (const id of ids) {
      const i = this.lowerBound(id);
      const s = this.slots[i];
      if (!s || !s.fields || compareId(s.id, id) !== 0) continue;
      s.fields = null;
      this.live--;
      this.tombs++;
      n++;
      if (compareId(id, this.maxDeletedId) > 0) this.maxDeletedId = { ms: id.ms, seq: id.seq };
    }
    if (n) this.normalise();
    return n;
  }

  /** XTRIM/XADD MAXLEN: drops the oldest entries beyond maxLen. Returns how many went. */
  trimMaxLen(maxLen: number, approx = false, limit?: number): number {
    const cap = trimCap(approx, limit);
    return this.trimHead(Math.min(cap, Math.max(0, this.live - maxLen)), null);
  }

  /** XTRIM/XADD MINID: drops entries with id < minId. Returns how many went. */
  trimMinId(minId: StreamId, approx = false, limit?: number): number {
    return this.trimHead(trimCap(approx, limit), minId);
  }

  private trimHead(max: number, below: StreamId | null): number {
    let n = 0;
    let i = this.head;
    for (; i < this.slots.length && n < max; i++) {
      const s = this.slots[i];
      if (below && compareId(s.id, below) >= 0) break;
      if (s.fields) { n++; this.live--; } else this.tombs--;
    }
    this.head = i;
    if (n) this.normalise();
    return n;
  }

  /** Restores the invariants: live slots at both ends, bounded dead space. */
  private normalise(): void {
    const slots = this.slots;
    while (this.head < slots.length && !slots[this.head].fields) { this.head++; this.tombs--; }
    while (slots.length > this.head && !slots[slots.length - 1].fields) {
      slots.pop();
      this.msOf.pop();
      this.seqOf.pop();
      this.tombs--;
    }
    if (this.live === 0) { this.rebuild([]); return; }
    if (this.tombs > 64 && this.tombs > this.live) this.rebuild(slots.slice(this.head).filter((s) => s.fields));
    else if (this.head > 1024 && this.head * 2 > slots.length) this.rebuild(slots.slice(this.head));
  }

  private pushSlot(slot: Slot): void {
    this.slots.push(slot);
    this.msOf.push(slot.id.ms);
    this.seqOf.push(slot.id.seq);
  }

  /** Replaces the slots (head at 0) and re-derives the id arrays and the tombstone count. */
  private rebuild(slots: Slot[]): void {
    this.slots = [];
    this.msOf = [];
    this.seqOf = [];
    this.head = 0;
    this.tombs = 0;
    for (const slot of slots) {
      this.pushSlot(slot);
      if (!slot.fields) this.tombs++;
    }
  }

  /** First slot index in [head, length) whose id >= id. */
  private lowerBound(id: StreamId): number {
    const msOf = this.msOf, seqOf = this.seqOf, ms = id.ms, seq = id.seq;
    let lo = this.head, hi = msOf.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = msOf[mid];
      if (m < ms || (m === ms && seqOf[mid] < seq)) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /**
   * XSETID. Checks as Redis 7.0: id >= the provided maxDeletedId; with entries, id >= the last
   * entry's id and entriesAdded >= length.
   */
  setLastId(id: StreamId, entriesAdded?: number, maxDeletedId?: StreamId): void {
    if (entriesAdded !== undefined && entriesAdded < 0) throw new RedisError('ERR entries_added must be positive');
    if (maxDeletedId && compareId(id, maxDeletedId) < 0) {
      throw new RedisError('ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id');
    }
    if (this.live) {
      if (compareId(id, this.lastEntry!.id) < 0) throw new RedisError('ERR The ID specified in XSETID is smaller than the target stream top item');
      if (entriesAdded !== undefined && entriesAdded < this.live) {
        throw new RedisError('ERR The entries_added specified in XSETID is smaller than the target stream length');
      }
    }
    this.last = { ms: id.ms, seq: id.seq };
    if (entriesAdded !== undefined) this.entriesAdded = entriesAdded;
    if (maxDeletedId) this.maxDeletedId = { ms: maxDeletedId.ms, seq: maxDeletedId.seq };
  }

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

  // --------------------------------------------------------------------------- snapshot JSON

  /** A plain-JSON snapshot: ids as "ms-seq", Buffers as { b64 }, strings as they are. */
  toJSON(): unknown {
    const enc = (f: Field) => (typeof f === 'string' ? f : { b64: f.toString('base64') });
    const entries: unknown[] = [];
    for (let i = this.head; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (s.fields) entries.push([formatId(s.id), s.fields.map(enc)]);
    }
    return {
      format: SNAPSHOT_FORMAT,
      lastId: formatId(this.last),
      entriesAdded: this.entriesAdded,
      maxDeletedId: formatId(this.maxDeletedId),
      entries,
      groups: [...this.groups.values()].map((g) => ({
        name: g.name,
        lastId: formatId(g.lastId),
        entriesRead: g.entriesRead >= 0 ? g.entriesRead : null,
        consumers: [...g.consumers.values()].map((c) => ({ name: c.name, seenTime: c.seenTime })),
        pending: g.pel.all().map((n) => [n.key, n.consumer.name, n.deliveredAt, n.deliveryCount]),
      })),
    };
  }

  /** Rebuilds a stream from toJSON()'s output; throws Error("invalid stream snapshot: ...") on garbage. */
  static fromJSON(v: unknown): RedisStream {
    const o = obj(v, 'snapshot');
    if (o.format !== SNAPSHOT_FORMAT) bad(`format must be ${SNAPSHOT_FORMAT}`);
    const s = new RedisStream();
    s.last = snapId(o.lastId, 'lastId');
    s.maxDeletedId = snapId(o.maxDeletedId, 'maxDeletedId');
    s.entriesAdded = count(o.entriesAdded, 'entriesAdded');
    let prev: StreamId | null = null;
    for (const [i, e] of arr(o.entries, 'entries').entries()) {
      const pair = arr(e, `entries[${i}]`);
      const id = snapId(pair[0], `entries[${i}] id`);
      if (prev && compareId(prev, id) >= 0) bad(`entries[${i}] is out of order`);
      if (compareId(id, s.last) > 0) bad(`entries[${i}] is past lastId`);
      const fields = arr(pair[1], `entries[${i}] fields`).map((f, j) => decodeField(f, `entries[${i}] field ${j}`));
      if (pair.length !== 2 || fields.length === 0 || fields.length % 2) bad(`entries[${i}] must be [id, [field, value, ...]]`);
      s.pushSlot({ id, fields });
      prev = id;
    }
    s.live = s.slots.length;
    if (s.entriesAdded < s.live) bad('entriesAdded is smaller than the number of entries');
    for (const [i, gv] of arr(o.groups, 'groups').entries()) {
      const go = obj(gv, `groups[${i}]`);
      const name = str(go.name, `groups[${i}].name`);
      if (s.groups.has(name)) bad(`group ${name} appears twice`);
      const er = go.entriesRead === null ? -1 : count(go.entriesRead, `groups[${i}].entriesRead`);
      s.createGroup('', name, snapId(go.lastId, `groups[${i}].lastId`), er);
      const g = s.groups.get(name)!;
      for (const [j, cv] of arr(go.consumers, `groups[${i}].consumers`).entries()) {
        const co = obj(cv, `groups[${i}].consumers[${j}]`);
        const cname = str(co.name, `groups[${i}].consumers[${j}].name`);
        if (g.consumers.has(cname)) bad(`consumer ${cname} appears twice in group ${name}`);
        g.consumers.set(cname, { name: cname, seenTime: num(co.seenTime, `consumer ${cname} seenTime`), pel: new PelIndex() });
      }
      let prevPending: StreamId | null = null;
      for (const [j, pv] of arr(go.pending, `groups[${i}].pending`).entries()) {
        const p = arr(pv, `groups[${i}].pending[${j}]`);
        const id = snapId(p[0], `groups[${i}].pending[${j}] id`);
        if (prevPending && compareId(prevPending, id) >= 0) bad(`groups[${i}].pending[${j}] is out of order`);
        const c = g.consumers.get(str(p[1], `groups[${i}].pending[${j}] consumer`));
        if (!c) bad(`groups[${i}].pending[${j}] names an unknown consumer`);
        const n: Nack = { id, key: formatId(id), consumer: c!, deliveredAt: num(p[2], 'deliveredAt'), deliveryCount: count(p[3], 'deliveryCount') };
        g.pel.insert(n);
        c!.pel.insert(n);
        prevPending = id;
      }
    }
    return s;
  }
}

function trimCap(approx: boolean, limit: number | undefined): number {
  if (limit !== undefined && !approx) throw new RedisError(LIMIT_WITHOUT_APPROX);
  if (!approx) return Infinity;
  return limit === undefined ? DEFAULT_APPROX_TRIM_LIMIT : limit <= 0 ? Infinity : limit;
}

// ------------------------------------------------------------------------ snapshot validation

const SNAPSHOT_FORMAT = 'fav-stream/1';

function bad(what: string): never {
  throw new Error(`invalid stream snapshot: ${what}`);
}
function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(`${what} must be an object`);
  return v as Record<string, unknown>;
}
function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) bad(`${what} must be an array`);
  return v as unknown[];
}
function str(v: unknown, what: string): string {
  if (typeof v !== 'string') bad(`${what} must be a string`);
  return v as string;
}
function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(`${what} must be a finite number`);
  return v as number;
}
function count(v: unknown, what: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) bad(`${what} must be a non-negative integer`);
  return v as number;
}
function snapId(v: unknown, what: string): StreamId {
  if (typeof v !== 'string' || !/^[0-9]{1,16}-[0-9]{1,16}$/.test(v)) bad(`${what} must be an id "ms-seq"`);
  const [ms, seq] = (v as string).split('-').map(Number);
  if (ms > MAX_ID_PART || seq > MAX_ID_PART) bad(`${what} is out of range`);
  return { ms, seq };
}
function decodeField(v: unknown, what: string): Field {
  if (typeof v === 'string') return v;
  const o = obj(v, what);
  if (typeof o.b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(o.b64)) bad(`${what} must be a string or { b64 }`);
  return Buffer.from(o.b64 as string, 'base64');
}
