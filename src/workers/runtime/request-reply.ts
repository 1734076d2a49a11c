/**
 * Request/reply over pub/sub, for a question that must be answered within a deadline or not at
 * all (memory asking long-term-memory for recalls within 40 ms).
 *
 * Wire: a request is published on `channel` with a `request_id`; the server publishes its reply,
 * carrying the same `request_id`, on `replyChannel(channel, request_id)` = `<channel>:<request_id>`.
 *
 * The requester holds one subscriber connection, pattern-subscribed ONCE per request channel to
 * `<channel>:<instance>:*`, and numbers its requests `<instance>:<n>`: a reply's channel is covered
 * before the request goes out, so a request costs one PUBLISH and no SUBSCRIBE round trip.
 * `request` never rejects: it resolves 'ok' with the reply, 'timeout' (no reply in time, or no
 * server subscribed at all: then at once, it cannot come), or 'error' (the publish failed). A reply
 * after its deadline is ignored.
 */
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import type { Logger } from './logger.js';
import type { Payload, Topic } from '../../shared/contract.js';
import { publish } from './publish.js';
import { channelInput, type ChannelInput, type JobContext } from './types.js';

export const replyChannel = (channel: string, requestId: string): string => `${channel}:${requestId}`;

export interface RequestOutcome<R> {
  status: 'ok' | 'timeout' | 'error';
  /** The reply when status is 'ok'. */
  reply?: R;
  waited_ms: number;
  /** Subscribers of the request channel when it was published (0: no server is running). */
  receivers?: number;
}

interface Pending {
  resolve(reply: unknown): void;
  timer: NodeJS.Timeout;
  schema: z.ZodType;
}

/** A glob-safe id (Redis patterns treat * ? [ ] \ specially). */
function safeId(id: string): string {
  return id.replace(/[^A-Za-z0-9@#._-]/g, '_');
}

export interface RequesterOptions {
  /** A connection of its own (it goes into subscribe mode); from createBusClient. */
  sub: Redis;
  /** The command connection the requests are published on. */
  pub: Pick<Redis, 'publish'>;
  /** This process's instance id: prefixes the request ids. */
  instance: string;
  log: Pick<Logger, 'warn'>;
}

export class Requester {
  private readonly prefix: string;
  private readonly patterns = new Map<string, Promise<void>>();
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  private closed = false;
  private readonly onPMessage = (pattern: string, channel: string, message: string) => {
    if (!this.patterns.has(pattern)) return;
    const id = channel.slice(pattern.length - (this.prefix.length + 2));
    const p = this.pending.get(id);
    if (!p) return; // too late: the requester went on without it
    let reply: { request_id?: unknown };
    try {
      const parsed = p.schema.safeParse(JSON.parse(message));
      if (!parsed.success) throw new Error(parsed.error.issues[0]?.message ?? 'schema');
      reply = parsed.data as { request_id?: unknown };
    } catch (e) {
      this.o.log.warn({ channel, err: (e as Error).message }, 'invalid reply ignored');
      return;
    }
    if (reply.request_id !== undefined && reply.request_id !== id) return;
    this.settle(id, reply);
  };

  constructor(private readonly o: RequesterOptions) {
    this.prefix = safeId(o.instance);
    o.sub.on('pmessage', this.onPMessage);
  }

  /** Subscribes for the replies of `channel` (done by the first request otherwise; call at start to keep it off a deadline). */
  listen(channel: string): Promise<void> {
    const pattern = `${replyChannel(channel, this.prefix)}:*`;
    let ready = this.patterns.get(pattern);
    if (!ready) {
      ready = this.o.sub.psubscribe(pattern).then(() => undefined);
      this.patterns.set(pattern, ready);
      ready.catch(() => this.patterns.delete(pattern));
    }
    return ready;
  }

  async request<Req extends { request_id: string }, Rep>(
    channel: string,
    body: Omit<Req, 'request_id'>,
    o: { timeoutMs: number; reply: z.ZodType<Rep> },
  ): Promise<RequestOutcome<Rep>> {
    const started = performance.now();
    const waited = () => performance.now() - started;
    if (this.closed) return { status: 'error', waited_ms: 0 };
    try {
      await this.listen(channel);
    } catch (e) {
      this.o.log.warn({ channel, err: (e as Error).message }, 'could not subscribe for replies');
      return { status: 'error', waited_ms: waited() };
    }
    if (this.closed) return { status: 'error', waited_ms: waited() };
    const request_id = `${this.prefix}:${++this.seq}`;
    const remaining = Math.max(0, o.timeoutMs - waited());
    const reply = new Promise<Rep | undefined>((resolve) => {
      const timer = setTimeout(() => this.settle(request_id, undefined), remaining);
      this.pending.set(request_id, { resolve: resolve as (r: unknown) => void, timer, schema: o.reply });
    });
    let receivers: number;
    try {
      receivers = await this.o.pub.publish(channel, JSON.stringify({ ...body, request_id }));
    } catch (e) {
      this.settle(request_id, undefined);
      this.o.log.warn({ channel, err: (e as Error).message }, 'request could not be published');
      return { status: 'error', waited_ms: waited() };
    }
    if (receivers === 0) {
      // Nobody serves the channel: do not wait for a reply that cannot come.
      this.settle(request_id, undefined);
      return { status: 'timeout', waited_ms: waited(), receivers };
    }
    const r = await reply;
    return r === undefined ? { status: 'timeout', waited_ms: waited(), receivers } : { status: 'ok', reply: r, waited_ms: waited(), receivers };
  }

  /** Settles what is pending (as timed out) and leaves the subscriber for its owner to close. */
  close(): void {
    this.closed = true;
    for (const id of [...this.pending.keys()]) this.settle(id, undefined);
    this.o.sub.off('pmessage', this.onPMessage);
  }

  private settle(id: string, reply: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(reply);
  }
}

export interface ServeOptions<T extends Topic<'channel'>, R extends Topic<'reply'>> {
  /** The request channel (a contract topic). */
  topic: T;
  /** The reply topic: its channelOf names `<channel>:<request_id>`. */
  reply: R;
  /** The answer (its request_id is set here). Throwing is logged, and nothing is answered. */
  handle(req: Payload<T>, job: JobContext): Promise<Omit<Payload<R>, 'request_id'>>;
  /** Requests older than this (by their `ts`, when they carry one) are not answered: the requester is gone. */
  staleMs?: number;
}

/** The input of a server: each request handled as it arrives (concurrently), its reply published. */
export function serveRequests<T extends Topic<'channel'>, R extends Topic<'reply'>>(o: ServeOptions<T, R>): ChannelInput {
  return channelInput({
    topic: o.topic,
    concurrent: true,
    async handle(req: Payload<T>, job: JobContext) {
      const { request_id, ts } = req as { request_id: string; ts?: unknown };
      if (o.staleMs !== undefined && typeof ts === 'number' && Date.now() - ts > o.staleMs) {
        job.log.warn({ channel: o.topic.name, request_id, age_ms: Date.now() - ts }, 'stale request dropped');
        return;
      }
      const answer = await o.handle(req, job);
      await publish(job.redis, o.reply, { ...answer, request_id } as Payload<R>);
    },
  });
}
