/**
 * The server's shared state and event plumbing, independent of sockets: key space, command table,
 * pub/sub, blocked clients, WATCH registry, counters, and the after-event step that resumes
 * unblocked clients and flushes every client with pending output (one write per client per turn).
 */
import type { Client } from './client.js';
import { Blocking } from './blocking.js';
import { CommandTable } from './command-table.js';
import { DATABASES, Keyspace } from './keyspace.js';
import { OutputLimits } from './output-limits.js';
import { PubSub } from './pubsub.js';

export interface CoreOptions {
  password?: string;
  /** The clock for output-buffer soft limits and log rate limits (tests inject one); Date.now by default. */
  clock?: () => number;
  maxClients: number;
  maxBulkLength: number;
  snapshotPath?: string;
}

export class BusCore {
  /** SELECT 0..15; each client points at one (Client.db). */
  readonly dbs: Keyspace[] = Array.from({ length: DATABASES }, (_, i) => new Keyspace(i));
  readonly table = new CommandTable();
  readonly pubsub = new PubSub();
  readonly blocking: Blocking;
  readonly clients = new Map<number, Client>();
  readonly outputLimits = new OutputLimits();
  /** Clients whose output is at or above their soft limit: the timer re-checks them. */
  readonly overSoft = new Set<Client>();
  readonly startedAt = Date.now();
  /** Clients with output queued for this turn's flush. */
  dirty: Client[] = [];
  private resumeQueue: Client[] = [];
  nextClientId = 1;
  commandsProcessed = 0;
  connectionsReceived = 0;
  rejectedConnections = 0;
  port = 0;
  host = '127.0.0.1';
  lastSave = Math.floor(Date.now() / 1000);
  /** Hook for SAVE; set by BusServer when a snapshot path is configured. */
  save: (() => void) | null = null;
  /** CONFIG values we accept and report. */
  readonly config = new Map<string, string>();
  /** When the cross-protocol warning was last logged (it is logged at most once a minute). */
  lastAttackLog = -Infinity;
  log: (line: string) => void = (line) => process.stderr.write(`[bus] ${line}\n`);

  readonly now: () => number;

  constructor(readonly opts: CoreOptions) {
    this.now = opts.clock ?? Date.now;
    this.blocking = new Blocking(this);
  }

  /** Queues an unblocked client to continue its pipelined input after the current event. */
  resume(c: Client): void {
    this.resumeQueue.push(c);
  }

  private afterEventTimer: NodeJS.Immediate | null = null;
  /** Clients that received input since the last afterEvent (flushed first). */
  private readers: Client[] = [];

  /** Notes a client's input for this turn and schedules the end-of-turn step. */
  inputFrom(c: Client): void {
    this.readers.push(c);
    this.scheduleAfterEvent();
  }

  /**
   * Runs afterEvent once at the end of this event-loop iteration (check phase), after every socket
   * that was readable in this poll has been read: like Redis's beforeSleep, all replies of one
   * iteration go out together, one write per client.
   */
  scheduleAfterEvent(): void {
    if (this.afterEventTimer !== null) return;
    this.afterEventTimer = setImmediate(this.runScheduled);
  }

  private readonly runScheduled = (): void => {
    this.afterEventTimer = null;
    this.afterEvent();
  };

  /** Stops a pending scheduled afterEvent (server close). */
  cancelScheduled(): void {
    if (this.afterEventTimer !== null) clearImmediate(this.afterEventTimer);
    this.afterEventTimer = null;
    this.readers = [];
  }

  /** End of an I/O event: resume unblocked clients, then flush all pending output. */
  afterEvent(): void {
    for (let guard = 0; guard < 1000; guard++) {
      if (this.resumeQueue.length !== 0) {
        const q = this.resumeQueue;
        this.resumeQueue = [];
        for (const c of q) if (!c.closed && c.blocked === null) c.processInput();
        continue;
      }
      if (this.dirty.length === 0) {
        if (this.readers.length !== 0) this.readers = [];
        return;
      }
      // Clients whose own input was read this turn first (a publisher's reply goes out before the
      // deliveries its PUBLISH produced, so a pipelining publisher sends its next batch sooner),
      // then everyone else in the order they got output.
      const d = this.dirty;
      this.dirty = [];
      if (this.readers.length !== 0) {
        const r = this.readers;
        this.readers = [];
        for (const c of r) if (c.dirty) c.flush();
      }
      for (const c of d) if (c.dirty) c.flush();
    }
  }

  /** The server timer's step for clients (10 Hz): soft output limits run out without new output too. */
  cron(): void {
    if (this.overSoft.size === 0) return;
    for (const c of [...this.overSoft]) c.checkOutputLimit();
  }

  /** Keys in every database (the bus's stats). */
  get keyCount(): number {
    let n = 0;
    for (const db of this.dbs) n += db.size;
    return n;
  }

  // ---- WATCH ----

  watch(c: Client, key: string): void {
    const db = c.db;
    if (c.watched === null) c.watched = [];
    if (c.watched.some((w) => w.db === db && w.key === key)) return;
    c.watched.push({ db, key });
    let set = db.watchers.get(key);
    if (set === undefined) db.watchers.set(key, (set = new Set()));
    set.add(c);
  }

  unwatchAll(c: Client): void {
    c.casDirty = false;
    if (c.watched === null) return;
    for (const { db, key } of c.watched) {
      const set = db.watchers.get(key);
      if (set === undefined) continue;
      set.delete(c);
      if (set.size === 0) db.watchers.delete(key);
    }
    c.watched = null;
  }
}
