/**
 * Clients blocked on keys (BLPOP, BRPOP, BLMOVE, XREAD BLOCK, XREADGROUP BLOCK).
 *
 * Like Redis: a write that may satisfy waiters calls `signal(db, key)`; after the current command
 * (or after a whole EXEC) the client loop calls `handleReady()`, which serves the waiters of each
 * ready key in FIFO order (the longest-waiting client first). Keys are per database.
 * Serving may push to other keys (BLMOVE), which makes those ready in turn.
 * An unblocked client resumes parsing its pipelined input after the current event finishes.
 */
import type { BlockState, Client } from './client.js';
import type { BusCore } from './bus-core.js';
import type { Keyspace } from './keyspace.js';

export class Blocking {
  /** Per database index: key -> waiters in arrival order. */
  private readonly waiters: Map<string, Client[]>[];
  /** Per database index: keys signalled since the last handleReady. */
  private readonly ready: Set<string>[];
  /** True when some key was signalled (the one check on the command path). */
  anyReady = false;

  constructor(private readonly core: BusCore) {
    this.waiters = core.dbs.map(() => new Map());
    this.ready = core.dbs.map(() => new Set());
  }

  get blockedClients(): number {
    const seen = new Set<Client>();
    for (const db of this.waiters) for (const list of db.values()) for (const c of list) seen.add(c);
    return seen.size;
  }

  /** Marks key as possibly able to serve waiters (cheap no-op when none wait on it). */
  signal(db: Keyspace, key: string): void {
    if (this.waiters[db.index].has(key)) {
      this.ready[db.index].add(key);
      this.anyReady = true;
    }
  }

  /** Signals every waited-on key of db that holds a value (SWAPDB brought new contents). */
  signalAll(db: Keyspace): void {
    for (const key of this.waiters[db.index].keys()) if (db.has(key)) this.signal(db, key);
  }

  /**
   * Blocks c on keys of its database. timeoutMs 0 = forever. The caller has already checked that
   * the command cannot be served now.
   */
  block(c: Client, keys: string[], timeoutMs: number, tryServe: (key: string) => boolean, timeoutReply: string): void {
    const state: BlockState = { db: c.db, keys, timer: null, tryServe, timeoutReply };
    c.blocked = state;
    const waiters = this.waiters[c.db.index];
    for (const k of keys) {
      let list = waiters.get(k);
      if (list === undefined) waiters.set(k, (list = []));
      if (!list.includes(c)) list.push(c);
    }
    if (timeoutMs > 0) {
      state.timer = setTimeout(() => {
        if (c.blocked !== state) return;
        this.unblock(c);
        c.send(timeoutReply);
        this.core.resume(c);
        this.core.afterEvent();
      }, timeoutMs);
    }
  }

  /** Forgets c's registrations (timeout, served, disconnect, CLIENT UNBLOCK). */
  unblock(c: Client): void {
    const st = c.blocked;
    if (st === null) return;
    c.blocked = null;
    if (st.timer !== null) clearTimeout(st.timer);
    const waiters = this.waiters[st.db.index];
    for (const k of st.keys) {
      const list = waiters.get(k);
      if (list === undefined) continue;
      const i = list.indexOf(c);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) waiters.delete(k);
    }
  }

  handleReady(): void {
    // Loop: serving one key may ready another (BLMOVE pushes into its destination).
    while (this.anyReady) {
      this.anyReady = false;
      for (let db = 0; db < this.ready.length; db++) {
        if (this.ready[db].size === 0) continue;
        const keys = [...this.ready[db]];
        this.ready[db].clear();
        for (const key of keys) this.serve(this.waiters[db].get(key), key);
      }
    }
  }

  private serve(list: Client[] | undefined, key: string): void {
    if (list === undefined) return;
    // Snapshot: serving mutates the list (unblock splices it).
    for (const c of [...list]) {
      const st = c.blocked;
      if (st === null) continue;
      let served: boolean;
      try {
        served = st.tryServe(key);
      } catch (e) {
        // A waiter whose command now fails (e.g. WRONGTYPE) gets the error and is released.
        this.unblock(c);
        c.sendError((e as Error).message);
        this.core.resume(c);
        continue;
      }
      // No break on failure: stream waiters with different ids may still be servable.
      if (!served) continue;
      this.unblock(c);
      this.core.resume(c);
    }
  }

  /** Releases every blocked client (server shutdown). */
  clear(): void {
    for (const db of this.waiters) for (const list of [...db.values()]) for (const c of [...list]) this.unblock(c);
    for (const db of this.waiters) db.clear();
    for (const r of this.ready) r.clear();
    this.anyReady = false;
  }
}
