/**
 * Asks long-term-memory for memories relevant to a turn, waiting at most `timeoutMs`.
 *
 * One dedicated subscriber connection per memory process, pattern-subscribed ONCE at start to
 * `fav:ltm:recall:<instance>:*`; every request id is `<instance>:<n>`, so its reply channel
 * (`Channels.ltmRecallReply(id)`) is already covered before the request is published and no
 * per-request SUBSCRIBE round trip is needed. A reply that comes after its deadline is ignored.
 */
import { Redis } from 'ioredis';
import { Channels } from '../../shared/bus.js';
import { RecallReply, type RecallRequest } from '../../shared/voice.js';
import type { Logger } from '../runtime/index.js';

export interface RecallOutcome {
  items: RecallReply['items'];
  /** 'ok': the reply came; 'timeout': none within the deadline; 'error': publishing failed. */
  status: 'ok' | 'timeout' | 'error' | 'skipped';
  waited_ms: number;
  /** Subscribers of the request channel (0: no long-term-memory is running). */
  receivers?: number;
}

interface Pending {
  resolve(reply: RecallReply | undefined): void;
  timer: NodeJS.Timeout;
}

/** A glob-safe prefix (Redis patterns treat * ? [ ] \ specially). */
function safeId(id: string): string {
  return id.replace(/[^A-Za-z0-9@#._-]/g, '_');
}

export class RecallClient {
  private readonly sub: Redis;
  private readonly prefix: string;
  private readonly pattern: string;
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  private readonly onPMessage = (pattern: string, channel: string, message: string) => {
    if (pattern !== this.pattern) return;
    let reply: RecallReply;
    try {
      const parsed = RecallReply.safeParse(JSON.parse(message));
      if (!parsed.success) throw new Error(parsed.error.issues[0]?.message ?? 'schema');
      reply = parsed.data;
    } catch (e) {
      this.log.warn({ channel, err: (e as Error).message }, 'invalid recall reply ignored');
      return;
    }
    const p = this.pending.get(reply.request_id);
    if (!p) return; // too late: the turn went on without it
    this.pending.delete(reply.request_id);
    clearTimeout(p.timer);
    p.resolve(reply);
  };

  constructor(
    redisUrl: string,
    instanceId: string,
    private readonly cmd: Redis,
    private readonly log: Logger,
  ) {
    this.prefix = safeId(instanceId);
    this.pattern = Channels.ltmRecallReply(`${this.prefix}:*`);
    this.sub = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(n * 200, 2000) });
    let lastLogged = 0;
    this.sub.on('error', (e: Error) => {
      if (Date.now() - lastLogged > 5000) {
        lastLogged = Date.now();
        log.error({ role: 'recall-sub', err: e.message }, 'bus connection error');
      }
    });
  }

  /** Connects and subscribes; resolves when replies can be received. */
  async open(): Promise<void> {
    await this.sub.connect();
    this.sub.on('pmessage', this.onPMessage);
    await this.sub.psubscribe(this.pattern);
  }

  /** Publishes a request and waits for its reply, at most timeoutMs. Never rejects. */
  async recall(req: Omit<RecallRequest, 'request_id'>, timeoutMs: number): Promise<RecallOutcome> {
    const started = performance.now();
    const request_id = `${this.prefix}:${++this.seq}`;
    const reply = new Promise<RecallReply | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(request_id);
        resolve(undefined);
      }, timeoutMs);
      this.pending.set(request_id, { resolve, timer });
    });
    let receivers: number | undefined;
    try {
      receivers = await this.cmd.publish(Channels.ltmRecall, JSON.stringify({ ...req, request_id } satisfies RecallRequest));
    } catch (e) {
      this.settle(request_id);
      this.log.warn({ err: (e as Error).message }, 'recall request could not be published');
      return { items: [], status: 'error', waited_ms: performance.now() - started };
    }
    if (receivers === 0) {
      // Nobody listens (long-term-memory is down): do not wait for a reply that cannot come.
      this.settle(request_id);
      return { items: [], status: 'timeout', waited_ms: performance.now() - started, receivers };
    }
    const r = await reply;
    return { items: r?.items ?? [], status: r ? 'ok' : 'timeout', waited_ms: performance.now() - started, receivers };
  }

  private settle(request_id: string): void {
    const p = this.pending.get(request_id);
    if (!p) return;
    this.pending.delete(request_id);
    clearTimeout(p.timer);
    p.resolve(undefined);
  }

  async close(): Promise<void> {
    for (const id of [...this.pending.keys()]) this.settle(id);
    this.sub.off('pmessage', this.onPMessage);
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.sub.quit().catch(() => undefined), new Promise((r) => (t = setTimeout(r, 500)))]);
    clearTimeout(t);
    this.sub.disconnect();
  }
}
