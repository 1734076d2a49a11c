/**
 * A stand-in for long-term-memory on the bus, so memory's tests do not depend on that service: it
 * answers RecallRequests on fav:ltm:recall (RecallReply on fav:ltm:recall:<request_id>) as the test
 * scripts (or hangs: hears them, never answers), records every request, and reads fav:ltm:turns with
 * a consumer group of its own, as long-term-memory does, recording the LtmTurns in order.
 */
import type { Redis } from 'ioredis';
import { Channels, Streams } from '../../../src/shared/bus.js';
import { LtmTurn } from '../../../src/shared/long-term.js';
import { RecallRequest, type RecallReply } from '../../../src/shared/voice.js';
import { client } from '../../main/supervisor/helpers.js';

export type Answer = Omit<RecallReply, 'request_id'> | 'hang';
const GROUP = 'fake-long-term-memory';

export class FakeLtm {
  readonly requests: RecallRequest[] = [];
  readonly turns: LtmTurn[] = [];
  /** The answer to a request (default: keyword, nothing found). */
  answer: (req: RecallRequest) => Answer = () => ({ items: [], mode: 'keyword', took_ms: 0.4 });
  private closed = false;
  private reading: Promise<void> = Promise.resolve();
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly sub: Redis,
    private readonly pub: Redis,
    private readonly reader: Redis,
  ) {
    sub.on('message', (_ch: string, raw: string) => {
      const req = RecallRequest.parse(JSON.parse(raw));
      this.requests.push(req);
      this.notify();
      const a = this.answer(req);
      if (a !== 'hang') void this.pub.publish(Channels.ltmRecallReply(req.request_id), JSON.stringify({ ...a, request_id: req.request_id }));
    });
  }

  static async start(url: string): Promise<FakeLtm> {
    const [sub, pub, reader] = await Promise.all([client(url), client(url), client(url)]);
    const f = new FakeLtm(sub, pub, reader);
    await f.serve();
    await reader.xgroup('CREATE', Streams.longTermTurns, GROUP, '0', 'MKSTREAM').catch((e: Error) => {
      if (!/BUSYGROUP/.test(e.message)) throw e;
    });
    f.reading = f.read();
    return f;
  }

  /** Subscribes to recall requests (a running long-term-memory). */
  async serve(): Promise<void> {
    await this.sub.subscribe(Channels.ltmRecall);
  }

  /** Stops hearing recall requests (long-term-memory down). */
  async stopServing(): Promise<void> {
    await this.sub.unsubscribe(Channels.ltmRecall);
  }

  /** Resolves with what `pick` finds in the recorded requests or turns, once it does. */
  until<T>(pick: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = pick();
        if (v === undefined) return false;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(v);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`fake long-term-memory: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      if (!check()) this.waiters.add(check);
    });
  }

  /** The LtmTurn of a turn, once it is in the stream. */
  turnOf(turnId: string): Promise<LtmTurn> {
    return this.until(() => this.turns.find((t) => t.turn_id === turnId), `LtmTurn for ${turnId}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.reading;
    for (const r of [this.sub, this.pub, this.reader]) r.disconnect();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  private async read(): Promise<void> {
    while (!this.closed) {
      const res = (await this.reader.xreadgroup('GROUP', GROUP, 'fake', 'COUNT', 50, 'BLOCK', 100, 'STREAMS', Streams.longTermTurns, '>').catch(() => null)) as
        | Array<[string, Array<[string, string[]]>]>
        | null;
      for (const [, entries] of res ?? []) {
        for (const [id, fields] of entries) {
          this.turns.push(LtmTurn.parse(JSON.parse(fields[fields.indexOf('msg') + 1]!)));
          await this.reader.xack(Streams.longTermTurns, GROUP, id);
        }
      }
      if (res) this.notify();
    }
  }
}
