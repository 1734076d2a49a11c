/**
 * Asks long-term-memory for memories relevant to a turn, waiting at most `timeoutMs`: the runtime's
 * request/reply (request-reply.ts) on `fav:ltm:recall`, on a subscriber connection of its own that
 * is subscribed for the replies at start, so a recall costs one PUBLISH.
 */
import type { Redis } from 'ioredis';
import { Channels } from '../../shared/bus.js';
import type { RecallInfo } from '../../shared/long-term.js';
import { RecallReply, type RecallRequest } from '../../shared/voice.js';
import { Requester, connectBus, withTimeout, type Logger } from '../runtime/index.js';

export interface RecallOutcome {
  items: RecallReply['items'];
  /** 'ok': the reply came; 'timeout': none within the deadline (or no server); 'error': publishing failed. */
  status: 'ok' | 'timeout' | 'error' | 'skipped';
  waited_ms: number;
  /** Subscribers of the request channel (0: no long-term-memory is running). */
  receivers?: number;
  /** From the reply: how the query ran, long-term-memory's own time, of which embedding, and the embedder. */
  mode?: RecallReply['mode'];
  took_ms?: number;
  embed_ms?: number;
  engine?: string;
}

/** How a recall went, for MemoryContext.recall and the manager; `count` is what made it into the prompt. */
export function recallInfo(o: RecallOutcome, count: number): RecallInfo {
  const status = o.status === 'ok' ? (o.mode ?? 'keyword') : o.status;
  return {
    status,
    waited_ms: Math.max(0, Math.round(o.waited_ms * 100) / 100),
    ...(o.took_ms !== undefined ? { took_ms: o.took_ms } : {}),
    ...(o.embed_ms !== undefined ? { embed_ms: o.embed_ms } : {}),
    ...(o.engine !== undefined ? { engine: o.engine } : {}),
    count,
  };
}

export class RecallClient {
  private readonly sub: Redis;
  private readonly requester: Requester;

  /** `sub`: a connection of its own (not yet connected), subscribed for the replies. */
  constructor(sub: Redis, instanceId: string, cmd: Redis, log: Logger) {
    this.sub = sub;
    this.requester = new Requester({ sub: this.sub, pub: cmd, instance: instanceId, log });
  }

  /** Connects and subscribes; resolves when replies can be received. */
  async open(): Promise<void> {
    await connectBus(this.sub);
    await this.requester.listen(Channels.ltmRecall);
  }

  /** Publishes a request and waits for its reply, at most timeoutMs. Never rejects. */
  async recall(req: Omit<RecallRequest, 'request_id'>, timeoutMs: number): Promise<RecallOutcome> {
    const r = await this.requester.request<RecallRequest, RecallReply>(Channels.ltmRecall, req, { timeoutMs, reply: RecallReply });
    const rep = r.reply;
    return {
      items: rep?.items ?? [],
      status: r.status,
      waited_ms: r.waited_ms,
      ...(r.receivers !== undefined ? { receivers: r.receivers } : {}),
      ...(rep ? { mode: rep.mode, took_ms: rep.took_ms } : {}),
      ...(rep?.embed_ms !== undefined ? { embed_ms: rep.embed_ms } : {}),
      ...(rep?.engine !== undefined ? { engine: rep.engine } : {}),
    };
  }

  async close(): Promise<void> {
    this.requester.close();
    // quit() waits for the bus's answer; with the bus gone it could wait forever, so bound it.
    await withTimeout(this.sub.quit().catch(() => undefined), 500);
    this.sub.disconnect();
  }
}
