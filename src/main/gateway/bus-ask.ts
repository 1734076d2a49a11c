/**
 * The gateway's side of a worker's admin request/reply over pub/sub (the speech admin, the memory
 * admin; the workers answer with serveRequests): one subscriber pattern-subscribed to `<channel>:<prefix>:*` per request channel,
 * requests numbered `<prefix>:<n>`, each settled by its reply, by its deadline, or at once when no
 * worker listens on the channel (PUBLISH counted no receivers: the service is not running).
 * Connections open on the first request, so a gateway whose workers never run opens none.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import { connectCoreBus, createCoreBusClient } from '../bus-client.js';

export type Asked<R> = { status: 'ok'; reply: R } | { status: 'no_receiver' | 'timeout' | 'bus_error'; error?: string };

interface Pending {
  resolve(r: Asked<unknown>): void;
  timer: NodeJS.Timeout;
  schema: z.ZodType;
}

export class BusAsk {
  private readonly prefix = `gw-${randomBytes(4).toString('hex')}`;
  private seq = 0;
  private conn: Promise<{ pub: Redis; sub: Redis }> | undefined;
  private readonly patterns = new Map<string, Promise<unknown>>();
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  /** `role`: the connections' name on the bus (CLIENT SETNAME), e.g. 'gateway-speech'. */
  constructor(
    private readonly busUrl: string,
    private readonly role = 'gateway-ask',
  ) {}

  private connect(): Promise<{ pub: Redis; sub: Redis }> {
    this.conn ??= (async () => {
      const pub = createCoreBusClient(this.busUrl, { role: this.role });
      const sub = createCoreBusClient(this.busUrl, { role: `${this.role}-replies` });
      try {
        await Promise.all([connectCoreBus(pub), connectCoreBus(sub)]);
      } catch (e) {
        pub.disconnect();
        sub.disconnect();
        throw e;
      }
      sub.on('pmessage', (_pattern: string, channel: string, message: string) => this.onReply(channel, message));
      return { pub, sub };
    })();
    this.conn.catch(() => (this.conn = undefined));
    return this.conn;
  }

  private onReply(channel: string, message: string): void {
    const id = channel.slice(channel.indexOf(`:${this.prefix}:`) + 1);
    const p = this.pending.get(id);
    if (!p) return; // late, or another gateway's
    let parsed: { success: boolean; data?: unknown };
    try {
      parsed = p.schema.safeParse(JSON.parse(message));
    } catch {
      return;
    }
    if (parsed.success) this.settle(id, { status: 'ok', reply: parsed.data });
  }

  async ask<R>(channel: string, body: Record<string, unknown>, o: { timeoutMs: number; reply: z.ZodType<R> }): Promise<Asked<R>> {
    if (this.closed) return { status: 'bus_error', error: 'the gateway is closing' };
    let pub: Redis;
    try {
      const c = await this.connect();
      pub = c.pub;
      const pattern = `${channel}:${this.prefix}:*`;
      let ready = this.patterns.get(pattern);
      if (!ready) {
        ready = c.sub.psubscribe(pattern);
        this.patterns.set(pattern, ready);
        ready.catch(() => this.patterns.delete(pattern));
      }
      await ready;
    } catch (e) {
      return { status: 'bus_error', error: (e as Error).message };
    }
    const id = `${this.prefix}:${++this.seq}`;
    const answer = new Promise<Asked<R>>((resolve) => {
      const timer = setTimeout(() => this.settle(id, { status: 'timeout' }), o.timeoutMs);
      this.pending.set(id, { resolve: resolve as (r: Asked<unknown>) => void, timer, schema: o.reply });
    });
    try {
      const receivers = await pub.publish(channel, JSON.stringify({ ...body, request_id: id, ts: Date.now() }));
      if (receivers === 0) this.settle(id, { status: 'no_receiver' });
    } catch (e) {
      this.settle(id, { status: 'bus_error', error: (e as Error).message });
    }
    return answer;
  }

  private settle(id: string, r: Asked<unknown>): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(r);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const id of [...this.pending.keys()]) this.settle(id, { status: 'bus_error', error: 'the gateway is closing' });
    const c = await this.conn?.catch(() => undefined);
    c?.pub.disconnect();
    c?.sub.disconnect();
  }
}
