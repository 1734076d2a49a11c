/**
 * Pub/sub input: subscribes (channels) and pattern-subscribes (patterns) on the shared subscriber
 * connection and handles messages either one at a time in arrival order (the default) or each as it
 * arrives (`concurrent`, for control channels that must act while a long job runs). Several channel
 * inputs of one service share the connection; each listens only to its own channels and patterns.
 * Pub/sub is fire-and-forget by design (the seed's channels): a message that arrives while the
 * worker is down is not redelivered; reliable work goes through queues and streams.
 * Invalid messages are logged with the reason and dropped (there is no list to move them back from).
 */
import type { Redis } from 'ioredis';
import type { JobContext } from './types.js';
import { JobRunner } from './job-runner.js';
import { parseJson, withTimeout } from './messages.js';
import { settleWithin } from './queue-consumer.js';
import type { ChannelInput, Consumer, WorkerContext } from './types.js';

export class ChannelConsumer implements Consumer {
  private readonly runner: JobRunner;
  private chain: Promise<void> = Promise.resolve();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly concurrentAbort = new AbortController();
  private concurrentHandled = 0;
  private stopping = false;
  private readonly channels: Set<string>;
  private readonly patterns: Set<string>;
  private readonly onMessage = (channel: string, message: string) => {
    if (this.channels.has(channel)) this.enqueue(channel, message);
  };
  private readonly onPMessage = (pattern: string, channel: string, message: string) => {
    if (this.patterns.has(pattern)) this.enqueue(channel, message);
  };

  constructor(
    private readonly ctx: WorkerContext,
    private readonly sub: Redis,
    private readonly input: ChannelInput,
  ) {
    this.runner = new JobRunner(ctx);
    this.channels = new Set(input.channels ?? []);
    this.patterns = new Set(input.patterns ?? []);
    if (this.channels.size + this.patterns.size === 0) throw new Error('a channel input needs channels or patterns');
  }

  get handled(): number {
    return this.runner.handled + this.concurrentHandled;
  }

  async open(): Promise<void> {
    if (this.channels.size > 0) {
      this.sub.on('message', this.onMessage);
      await this.sub.subscribe(...this.channels);
    }
    if (this.patterns.size > 0) {
      this.sub.on('pmessage', this.onPMessage);
      await this.sub.psubscribe(...this.patterns);
    }
  }

  /** Messages are handled as they arrive once subscribed: pub/sub cannot hold them back. */
  serve(): void {}

  private enqueue(channel: string, message: string): void {
    if (this.stopping) return;
    if (this.input.concurrent) {
      const p = this.handleConcurrent(channel, message);
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    } else {
      this.chain = this.chain.then(() => this.handleOne(channel, message));
    }
  }

  private parse(channel: string, raw: string) {
    const parsed = parseJson(raw, this.input.schema);
    if (!parsed.ok) this.ctx.log.warn({ channel, reason: parsed.reason, raw: raw.slice(0, 200) }, 'invalid message dropped');
    return parsed;
  }

  private async handleOne(channel: string, raw: string): Promise<void> {
    const parsed = this.parse(channel, raw);
    if (!parsed.ok) return;
    try {
      await this.runner.run((job) => this.input.handle(parsed.value, job, channel));
    } catch (e) {
      this.ctx.log.error({ channel, err: (e as Error).message }, 'handler failed');
    }
  }

  private async handleConcurrent(channel: string, raw: string): Promise<void> {
    const parsed = this.parse(channel, raw);
    if (!parsed.ok) return;
    const job: JobContext = { ...this.ctx, signal: this.concurrentAbort.signal };
    try {
      await this.input.handle(parsed.value, job, channel);
      this.concurrentHandled++;
    } catch (e) {
      if (!this.concurrentAbort.signal.aborted) this.ctx.log.error({ channel, err: (e as Error).message }, 'handler failed');
    }
  }

  async stop(drainMs: number): Promise<void> {
    this.stopping = true;
    this.sub.off('message', this.onMessage);
    this.sub.off('pmessage', this.onPMessage);
    // With the bus gone the reply never comes (commands wait through reconnects): bound it.
    const unsub: Promise<unknown>[] = [];
    if (this.channels.size > 0) unsub.push(this.sub.unsubscribe(...this.channels).catch(() => undefined));
    if (this.patterns.size > 0) unsub.push(this.sub.punsubscribe(...this.patterns).catch(() => undefined));
    await withTimeout(Promise.all(unsub), 500);
    const all = () => Promise.all([this.chain, ...this.inFlight]);
    if (await settleWithin(all(), drainMs)) return;
    this.ctx.log.warn({ drainMs }, 'drain deadline passed; aborting job');
    this.runner.abort('worker stopping');
    this.concurrentAbort.abort(new Error('worker stopping'));
    await settleWithin(all(), 1000);
  }
}
