/**
 * Pub/sub input: subscribes on its own connection and handles messages one at a time, in arrival
 * order. Pub/sub is fire-and-forget by design (the seed's channels): a message that arrives while
 * the worker is down is not redelivered; reliable work goes through queues and streams.
 * Invalid messages are logged with the reason and dropped (there is no list to move them back from).
 */
import type { Redis } from 'ioredis';
import { JobRunner } from './job-runner.js';
import { parseJson, withTimeout } from './messages.js';
import { settleWithin } from './queue-consumer.js';
import type { ChannelInput, Consumer, WorkerContext } from './types.js';

export class ChannelConsumer implements Consumer {
  private readonly runner: JobRunner;
  private chain: Promise<void> = Promise.resolve();
  private stopping = false;
  private readonly onMessage = (channel: string, message: string) => this.enqueue(channel, message);

  constructor(
    private readonly ctx: WorkerContext,
    private readonly sub: Redis,
    private readonly input: ChannelInput,
  ) {
    this.runner = new JobRunner(ctx);
  }

  get handled(): number {
    return this.runner.handled;
  }

  async open(): Promise<void> {
    this.sub.on('message', this.onMessage);
    await this.sub.subscribe(...this.input.channels);
  }

  /** Messages are handled as they arrive once subscribed: pub/sub cannot hold them back. */
  serve(): void {}

  private enqueue(channel: string, message: string): void {
    if (this.stopping || !this.input.channels.includes(channel)) return;
    this.chain = this.chain.then(() => this.handleOne(channel, message));
  }

  private async handleOne(channel: string, raw: string): Promise<void> {
    const { log } = this.ctx;
    const parsed = parseJson(raw, this.input.schema);
    if (!parsed.ok) {
      log.warn({ channel, reason: parsed.reason, raw: raw.slice(0, 200) }, 'invalid message dropped');
      return;
    }
    try {
      await this.runner.run((job) => this.input.handle(parsed.value, job, channel));
    } catch (e) {
      log.error({ channel, err: (e as Error).message }, 'handler failed');
    }
  }

  async stop(drainMs: number): Promise<void> {
    this.stopping = true;
    this.sub.off('message', this.onMessage);
    // With the bus gone the reply never comes (commands wait through reconnects): bound it.
    await withTimeout(this.sub.unsubscribe().catch(() => undefined), 500);
    if (await settleWithin(this.chain, drainMs)) return;
    this.ctx.log.warn({ drainMs }, 'drain deadline passed; aborting job');
    this.runner.abort('worker stopping');
    await settleWithin(this.chain, 1000);
  }
}
