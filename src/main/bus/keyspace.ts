/**
 * The key space: one Map of key -> value plus a Map of key -> absolute expiry (ms since epoch).
 * Keys are latin1 strings. Value kinds are told apart by their JS type:
 *   string | Buffer -> Redis string; Deque -> list; Map -> hash; Set -> set; RedisStream -> stream.
 * Expiry is lazy (checked on every lookup) and active (a sampling sweep driven by the server's
 * timer, see `activeExpireCycle`). Lookups cost one extra `size` check while no key is volatile.
 */
import { Deque } from './deque.js';
import { RedisError, WRONGTYPE } from './errors.js';
import type { Arg } from './resp-parser.js';

export type Bulk = Arg;
export type ListValue = Deque<Bulk>;
export type HashValue = Map<string, Bulk>;
export type SetValue = Set<string>;
/** Streams are held as the other helper's RedisStream; typed loosely here so this file does not depend on it. */
export type Value = Bulk | ListValue | HashValue | SetValue | object;
export type TypeName = 'string' | 'list' | 'hash' | 'set' | 'stream' | 'none';

export function typeOf(v: Value | undefined): TypeName {
  if (v === undefined) return 'none';
  if (typeof v === 'string' || Buffer.isBuffer(v)) return 'string';
  if (v instanceof Deque) return 'list';
  if (v instanceof Map) return 'hash';
  if (v instanceof Set) return 'set';
  return 'stream';
}

/** A client watching keys (WATCH): a change to one of them fails its next EXEC. */
export interface Watcher {
  casDirty: boolean;
}

/** Databases a server has (SELECT 0..DATABASES-1), like redis-server's default `databases 16`. */
export const DATABASES = 16;

export class Keyspace {
  /** Replaced, not just changed, by SWAPDB. */
  data = new Map<string, Value>();
  expires = new Map<string, number>();
  /** Watched key -> its watchers; a write to a watched key dirties them (one size check otherwise). */
  readonly watchers = new Map<string, Set<Watcher>>();
  private sweep: IterableIterator<[string, number]> | null = null;
  expiredKeys = 0;

  constructor(readonly index = 0) {}

  get size(): number {
    return this.data.size;
  }

  /** The live value of key (deleting it first when expired). */
  get(key: string): Value | undefined {
    const v = this.data.get(key);
    if (v === undefined) return undefined;
    if (this.expires.size !== 0) {
      const at = this.expires.get(key);
      if (at !== undefined && at <= Date.now()) {
        this.expireNow(key);
        return undefined;
      }
    }
    return v;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Sets a value; clears any TTL unless keepTtl. */
  set(key: string, v: Value, keepTtl = false): void {
    this.data.set(key, v);
    if (!keepTtl && this.expires.size !== 0) this.expires.delete(key);
    this.touch(key);
  }

  /** Stores a new container created by a write command (no TTL to clear: the key was absent). */
  create(key: string, v: Value): void {
    this.data.set(key, v);
    if (this.expires.size !== 0) this.expires.delete(key);
  }

  delete(key: string): boolean {
    if (!this.has(key)) return false;
    this.data.delete(key);
    if (this.expires.size !== 0) this.expires.delete(key);
    this.touch(key);
    return true;
  }

  touch(key: string): void {
    if (this.watchers.size === 0) return;
    const set = this.watchers.get(key);
    if (set !== undefined) for (const w of set) w.casDirty = true;
  }

  /** Dirties the watchers of every watched key that exists here (FLUSHDB, SWAPDB, like redis). */
  touchExistingWatched(also?: Keyspace): void {
    for (const [key, set] of this.watchers) {
      if (!this.has(key) && !also?.has(key)) continue;
      for (const w of set) w.casDirty = true;
    }
  }

  /** Deletes a container emptied by a command (Redis never keeps empty lists/hashes/sets). */
  deleteIfEmpty(key: string, size: number): void {
    if (size === 0) {
      this.data.delete(key);
      if (this.expires.size !== 0) this.expires.delete(key);
    }
  }

  setExpire(key: string, atMs: number): void {
    this.expires.set(key, atMs);
    this.touch(key);
  }

  /** Remaining ms, -1 for no TTL, -2 for a missing key. */
  pttl(key: string): number {
    if (!this.has(key)) return -2;
    const at = this.expires.get(key);
    if (at === undefined) return -1;
    return Math.max(0, at - Date.now());
  }

  expireAt(key: string): number | undefined {
    return this.expires.get(key);
  }

  persist(key: string): boolean {
    if (!this.has(key)) return false;
    const had = this.expires.delete(key);
    if (had) this.touch(key);
    return had;
  }

  clear(): void {
    if (this.watchers.size !== 0) this.touchExistingWatched();
    this.data.clear();
    this.expires.clear();
    this.sweep = null;
  }

  /** SWAPDB: the two databases trade contents; clients keep their database number. */
  swapWith(other: Keyspace): void {
    this.touchExistingWatched(other);
    other.touchExistingWatched(this);
    [this.data, other.data] = [other.data, this.data];
    [this.expires, other.expires] = [other.expires, this.expires];
    this.sweep = null;
    other.sweep = null;
  }

  private expireNow(key: string): void {
    this.data.delete(key);
    this.expires.delete(key);
    this.expiredKeys++;
    this.touch(key);
  }

  /**
   * One active-expiry step like Redis's 10 Hz cycle: walk the volatile keys from where the last
   * step stopped, checking up to `budget` keys per round, repeating while more than a quarter of
   * the checked keys had expired and time is left. Cheap (returns at once) without volatile keys.
   */
  activeExpireCycle(budget = 200, maxMs = 2): void {
    if (this.expires.size === 0) return;
    const deadline = Date.now() + maxMs;
    for (;;) {
      const now = Date.now();
      let checked = 0;
      let expired = 0;
      if (this.sweep === null) this.sweep = this.expires.entries();
      while (checked < budget) {
        const it = this.sweep.next();
        if (it.done) {
          this.sweep = null;
          break;
        }
        checked++;
        const [key, at] = it.value;
        if (at <= now) {
          this.expireNow(key);
          expired++;
        }
      }
      if (this.sweep === null || expired * 4 <= checked || Date.now() >= deadline) return;
    }
  }

  // ---- typed accessors: throw WRONGTYPE like Redis when the key holds another kind ----

  getString(key: string): Bulk | undefined {
    const v = this.get(key);
    if (v === undefined || typeof v === 'string' || Buffer.isBuffer(v)) return v;
    throw new RedisError(WRONGTYPE);
  }

  getList(key: string): ListValue | undefined {
    const v = this.get(key);
    if (v === undefined || v instanceof Deque) return v;
    throw new RedisError(WRONGTYPE);
  }

  getHash(key: string): HashValue | undefined {
    const v = this.get(key);
    if (v === undefined || v instanceof Map) return v;
    throw new RedisError(WRONGTYPE);
  }

  getSet(key: string): SetValue | undefined {
    const v = this.get(key);
    if (v === undefined || v instanceof Set) return v;
    throw new RedisError(WRONGTYPE);
  }
}
