/**
 * What the last replies remembered: the gateway subscribes to memory_updates (memory publishes every
 * turn's context there) and keeps, per session, the memories the last turn was given and how its
 * recall went, for the memory view's "used by the last reply". Each turn's recall status also goes
 * to the manager's turn timings. Bounded: the sessions seen last are kept, the oldest dropped.
 * A malformed context is skipped (the first few are logged); the feed goes on.
 */
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import { Channels } from '../../shared/bus.js';
import type { RecallInfo } from '../../shared/long-term.js';
import type { LastReply } from '../../shared/memory-api.js';
import { MemoryContext } from '../../shared/voice.js';
import { connectCoreBus, createCoreBusClient } from '../bus-client.js';

/** Only what the view and the manager need of a context (its history may be long). */
const Seen = MemoryContext.pick({ session_id: true, turn_id: true, source: true, memories: true, recall: true });

/** The last reply's memories per session, the `capacity` sessions seen most recently. */
export class LastReplies {
  private readonly bySession = new Map<string, LastReply>();

  constructor(readonly capacity = 50) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`LastReplies capacity must be a positive integer, got ${capacity}`);
  }

  take(last: LastReply): void {
    // Re-inserted so that insertion order is recency: the first key is the session seen longest ago.
    this.bySession.delete(last.session_id);
    this.bySession.set(last.session_id, last);
    while (this.bySession.size > this.capacity) this.bySession.delete(this.bySession.keys().next().value as string);
  }

  get(sessionId: string): LastReply | undefined {
    return this.bySession.get(sessionId);
  }

  get size(): number {
    return this.bySession.size;
  }
}

export interface RecallObserver {
  recall(sessionId: string, turnId: string, info: RecallInfo): void;
}

export interface MemoryFeedOptions {
  busUrl: string;
  /** Sessions kept (default 50). */
  capacity?: number;
  log?: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
  /** Told each turn's recall status (the manager's turn timings). */
  turns?: RecallObserver;
  now?: () => number;
}

export class MemoryFeed {
  readonly last: LastReplies;
  private readonly sub: Redis;
  private ready: Promise<void> | undefined;
  private malformedLogged = 0;

  constructor(private readonly o: MemoryFeedOptions) {
    this.last = new LastReplies(o.capacity);
    this.sub = createCoreBusClient(o.busUrl, { role: 'gateway-memory-updates' });
    this.sub.on('message', (channel: string, raw: string) => {
      if (channel === Channels.memoryUpdates) this.onContext(raw);
    });
  }

  /** Connects and subscribes; resolves once contexts are being received. */
  start(): Promise<void> {
    this.ready ??= (async () => {
      if (this.sub.status === 'wait' || this.sub.status === 'end') await connectCoreBus(this.sub);
      await this.sub.subscribe(Channels.memoryUpdates);
    })();
    this.ready.catch(() => (this.ready = undefined));
    return this.ready;
  }

  /** Parses and keeps one context (public for the tests of the parsing; the subscription calls it). */
  onContext(raw: string): void {
    let parsed: z.ZodSafeParseResult<z.infer<typeof Seen>>;
    try {
      parsed = Seen.safeParse(JSON.parse(raw));
    } catch (err) {
      this.malformed(`not JSON (${(err as Error).message})`);
      return;
    }
    if (!parsed.success) {
      this.malformed(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      return;
    }
    const c = parsed.data;
    // A say turn (the avatar's scripted line) recalls nothing: it is not a reply.
    if (c.source === 'say') return;
    this.last.take({ session_id: c.session_id, turn_id: c.turn_id, memories: c.memories, ...(c.recall ? { recall: c.recall } : {}), at: (this.o.now ?? Date.now)() });
    if (c.recall) this.o.turns?.recall(c.session_id, c.turn_id, c.recall);
  }

  private malformed(why: string): void {
    if (this.malformedLogged++ < 10) this.o.log?.('warn', `memory view: skipped a malformed context on ${Channels.memoryUpdates}: ${why}`);
  }

  async close(): Promise<void> {
    this.sub.disconnect();
  }
}
