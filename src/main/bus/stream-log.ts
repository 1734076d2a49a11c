/**
 * The entries of a stream (Redis 7.0 semantics): XADD ids, ranges, XDEL, trimming and XSETID. The
 * consumer groups live on top of it (stream.ts).
 *
 * Choice that differs from redis-server, on purpose: `~` trimming trims exactly (Redis trims whole
 * 100-entry nodes), but honours LIMIT: at most `limit` entries go per call, 10000 (Redis's 100 x
 * stream-node-max-entries) when `~` comes without LIMIT, and LIMIT 0 means no cap. Exact trimming
 * takes no LIMIT (Redis: a syntax error).
 *
 * Layout: live entries sit in one array sorted by id, with a head offset for trimming and tombstones
 * (fields = null) for XDEL in the middle; the first and last slots are always live.
 */
import { RedisError, wrongArgs } from './errors.js';
import {
  compareId, DEFAULT_APPROX_TRIM_LIMIT, incrId, INVALID_ID, isZero, LIMIT_WITHOUT_APPROX, MAX_ID, MAX_ID_PART, parseId, parsePart,
  XADD_EXHAUSTED, XADD_TOO_SMALL, XADD_ZERO, type Field, type StreamEntry, type StreamId,
} from './stream-id.js';

interface Slot { id: StreamId; fields: Field[] | null } // fields null: deleted (tombstone)

export class StreamLog {
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
  protected live = 0;
  private tombs = 0;
  protected last: StreamId = { ms: 0, seq: 0 };
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

  /** Rebuilds the entries and counters from a snapshot already checked (ids ascending, none past last). */
  protected restoreLog(last: StreamId, entriesAdded: number, maxDeletedId: StreamId, entries: StreamEntry[]): void {
    this.rebuild(entries.map((e) => ({ id: e.id, fields: e.fields })));
    this.live = entries.length;
    this.last = last;
    this.entriesAdded = entriesAdded;
    this.maxDeletedId = maxDeletedId;
  }
}

function trimCap(approx: boolean, limit: number | undefined): number {
  if (limit !== undefined && !approx) throw new RedisError(LIMIT_WITHOUT_APPROX);
  if (!approx) return Infinity;
  return limit === undefined ? DEFAULT_APPROX_TRIM_LIMIT : limit <= 0 ? Infinity : limit;
}
