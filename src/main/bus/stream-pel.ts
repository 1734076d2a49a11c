/**
 * Consumer-group bookkeeping of a stream: groups, consumers, pending entries (NACKs) indexed for
 * lookups and ordered scans, and the NOGROUP error texts.
 *
 * Missing consumer group: Redis words NOGROUP differently per command, and only the glue knows the key.
 * Group methods throw NoGroupError; the glue rethrows `e.withKey(key)` (or checks hasGroup() first and
 * throws noGroup(key, group, cmd) itself). Which command's text each method picks:
 *   readGroupNew, readGroupPending  -> XREADGROUP: No such key 'k' or consumer group 'g' in XREADGROUP with GROUP option
 *   pendingSummary, pendingRange    -> XPENDING:   No such key 'k' or consumer group 'g'
 *   autoClaim, claim                -> XAUTOCLAIM, XCLAIM: same text as XPENDING
 *   createConsumer, deleteConsumer, setGroupId -> XGROUP: No such consumer group 'g' for key name 'k'
 *   consumersInfo                   -> XINFO: same text as XGROUP
 *   ack returns 0 and destroyGroup returns false for a missing group, as XACK and XGROUP DESTROY do.
 */
import { RedisError } from './errors.js';
import { compareId, type StreamId } from './stream-id.js';

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

export interface Consumer { name: string; seenTime: number; pel: PelIndex }
export interface Nack { id: StreamId; key: string; consumer: Consumer; deliveredAt: number; deliveryCount: number }
export interface Group { name: string; lastId: StreamId; entriesRead: number /* -1: unknown */; pel: PelIndex; consumers: Map<string, Consumer> }
interface Cell { nack: Nack; alive: boolean }

/**
 * Pending entries by id: a Map for lookups and a sorted array of cells for ordered scans. Removal
 * kills the cell (O(1)); dead cells are dropped when they outnumber live ones. Deliveries come in
 * id order, so inserts are appends but for claims of older entries (binary search + splice).
 */
export class PelIndex {
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
