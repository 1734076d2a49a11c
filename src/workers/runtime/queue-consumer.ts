/**
 * Reliable queue consumer (at-least-once):
 *   BLMOVE queue -> processingList(queue, instance) RIGHT LEFT   (producers LPUSH: oldest is at the right)
 *   run the handler
 *   LREM processing 1 element                                    (ack)
 * At start the instance moves whatever its previous incarnation left in its processing list back
 * to the consuming end of the queue (oldest ends up first), so a task cut off by a crash is
 * redelivered. Tasks of instances that never come back are requeued by the supervisor's reaper
 * (src/main/supervisor/reaper.ts), which finds them through `consumersKey(queue)` and the
 * instance's expired heartbeat key.
 * Invalid payloads (bad JSON / schema) are logged with the reason and moved, unchanged, to
 * `deadLetterList(queue)`. A handler that throws also dead-letters its task (a poison message
 * would otherwise be redelivered forever). A job aborted by shutdown goes back to the queue.
 * Blocking commands run on their own connection; BLMOVE polls with a short timeout so a stop
 * never has to cut a blocked command (which could lose the reply of a move already done).
 * With `concurrency` N > 1 the loop takes a task whenever fewer than N run, so one instance holds up
 * to N tasks in its processing list at once (each acked on its own completion).
 */
import type { Redis } from 'ioredis';
import { consumersKey, deadLetterList, processingList } from '../../shared/bus.js';
import { JobRunner } from './job-runner.js';
import { parseJson, sleep } from './messages.js';
import type { Consumer, QueueInput, WorkerContext } from './types.js';

/** Moves every element of `from` back to the consuming (right) end of `to`, oldest last-in so first-out. */
export async function requeueAll(redis: Redis, from: string, to: string): Promise<number> {
  let n = 0;
  // LEFT RIGHT: the newest goes first, so after the loop the oldest sits at the right end.
  while ((await redis.lmove(from, to, 'LEFT', 'RIGHT')) !== null) n++;
  return n;
}

export class QueueConsumer implements Consumer {
  private readonly runner: JobRunner;
  private readonly processing: string;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** Resolves the loop's wait for a free slot. */
  private slotFreed: (() => void) | undefined;

  constructor(
    private readonly ctx: WorkerContext,
    private readonly blocking: Redis,
    private readonly input: QueueInput,
  ) {
    this.runner = new JobRunner(ctx);
    this.processing = processingList(input.queue, ctx.instanceId);
  }

  get handled(): number {
    return this.runner.handled;
  }

  async open(): Promise<void> {
    const { redis, instanceId, log } = this.ctx;
    await redis.sadd(consumersKey(this.input.queue), instanceId);
    const recovered = await requeueAll(redis, this.processing, this.input.queue);
    if (recovered > 0) log.warn({ queue: this.input.queue, recovered }, 'requeued tasks left by a previous run');
  }

  serve(): void {
    this.loop ??= this.run();
  }

  private async run(): Promise<void> {
    const { queue } = this.input;
    const { log, config } = this.ctx;
    while (!this.stopping) {
      let raw: string | null;
      try {
        raw = await this.blocking.blmove(queue, this.processing, 'RIGHT', 'LEFT', config.blockSeconds);
      } catch (e) {
        if (this.stopping) break;
        log.error({ err: (e as Error).message, queue }, 'BLMOVE failed; retrying');
        await sleep(250);
        continue;
      }
      // A task taken while stop was requested is still ours: it is handled (drained) below.
      if (raw === null) continue;
      const limit = this.input.concurrency ?? 1;
      if (limit <= 1) {
        await this.handleOne(raw);
        continue;
      }
      const job: Promise<void> = this.handleOne(raw)
        .catch((e: Error) => log.error({ queue, err: e.message }, 'task handling failed'))
        .finally(() => {
          this.inFlight.delete(job);
          this.slotFreed?.();
        });
      this.inFlight.add(job);
      while (this.inFlight.size >= limit) await new Promise<void>((resolve) => (this.slotFreed = resolve));
    }
    await Promise.all(this.inFlight);
  }

  private async handleOne(raw: string): Promise<void> {
    const { redis, log } = this.ctx;
    const { queue } = this.input;
    const parsed = parseJson(raw, this.input.schema);
    if (!parsed.ok) {
      log.warn({ queue, reason: parsed.reason, raw: raw.slice(0, 200) }, 'invalid message moved to dead-letter list');
      await redis.multi().lpush(deadLetterList(queue), raw).lrem(this.processing, 1, raw).exec();
      return;
    }
    try {
      const completed = await this.runner.run((job) => this.input.handle(parsed.value, job));
      if (completed) {
        await redis.lrem(this.processing, 1, raw);
      } else {
        // Aborted by shutdown: put it back at the consuming end so it is the next one taken.
        await redis.multi().rpush(queue, raw).lrem(this.processing, 1, raw).exec();
        log.warn({ queue }, 'job aborted by shutdown; task requeued');
      }
    } catch (e) {
      log.error({ queue, err: (e as Error).message }, 'handler failed; task moved to dead-letter list');
      await redis.multi().lpush(deadLetterList(queue), raw).lrem(this.processing, 1, raw).exec();
    }
  }

  async stop(drainMs: number): Promise<void> {
    this.stopping = true;
    if (!this.loop) return;
    // The loop ends once the poll returns (within blockSeconds) and the job in flight, if any, is done.
    const ended = await settleWithin(this.loop, drainMs + this.ctx.config.blockSeconds * 1000);
    if (ended) return;
    this.ctx.log.warn({ queue: this.input.queue, drainMs }, 'drain deadline passed; aborting job');
    this.runner.abort('worker stopping');
    await settleWithin(this.loop, 1000);
  }
}

/** true when p settled within ms. */
export async function settleWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let t: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<false>((res) => (t = setTimeout(() => res(false), ms))),
  ]);
  clearTimeout(t);
  return r;
}
