/**
 * Clients blocked on keys (BLPOP, BRPOP, BLMOVE, XREAD BLOCK, XREADGROUP BLOCK).
 *
 * Like Redis: a write that may satisfy waiters calls `signal(key)`; after the current command
 * (or after a whole EXEC) the client loop calls `handleReady()`, which serves the waiters of each
 * ready key in FIFO order (the longest-waiting client first).
 * Serving may push to other keys (BLMOVE), which makes those ready in turn.
 * An unblocked client resumes parsing its pipelined input after the current event finishes.
 */
import type { BlockState, Client } from './client.js';
import type { BusCore } from './bus-core.js';

export class Blocking {
  /** key -> waiters in arrival order. */
  private readonly waiters = new Map<string, Client[]>();
  readonly readyKeys = new Set<string>();

  constructor(private readonly core: BusCore) {}

  get blockedClients(): number {
    let n = 0;
    const seen = new Set<Client>();
    for (const list of this.waiters.values()) {
      for (const c of list) {
        if (seen.has(c)) continue;
        seen.add(c);
        n++;
      }
    }
    return n;
  }

  /** Marks key as possibly able to serve waiters (cheap no-op when none wait on it). */
  signal(key: string): void {
    if (this.waiters.has(key)) this.readyKeys.add(key);
  }

  /**
   * Blocks c on keys. timeoutMs 0 = forever. The caller has already checked that the command
   * cannot be served now.
   */
  block(c: Client, keys: string[], timeoutMs: number, tryServe: (key: string) => boolean, timeoutReply: string): void {
    const state: BlockState = { keys, timer: null, tryServe, timeoutReply };
    c.blocked = state;
    for (const k of keys) {
      let list = this.waiters.get(k);
      if (list === undefined) this.waiters.set(k, (list = []));
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
    for (const k of st.keys) {
      const list = this.waiters.get(k);
      if (list === undefined) continue;
      const i = list.indexOf(c);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.waiters.delete(k);
    }
  }

  handleReady(): void {
    // Loop: serving one key may ready another (BLMOVE pushes into its destination).
    while (this.readyKeys.size !== 0) {
      const keys = [...this.readyKeys];
      this.readyKeys.clear();
      for (const key of keys) {
        const list = this.waiters.get(key);
        if (list === undefined) continue;
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
    }
  }

  /** Releases every blocked client (server shutdown). */
  clear(): void {
    for (const list of [...this.waiters.values()]) for (const c of [...list]) this.unblock(c);
    this.waiters.clear();
    this.readyKeys.clear();
  }
}
