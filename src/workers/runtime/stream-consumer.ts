/**
 * Durable stream input through a consumer group (XREADGROUP / XACK), consumer name = instance id.
 * At start: create the group (from the stream's beginning, MKSTREAM), handle this consumer's own
 * pending entries (delivered to a previous incarnation, never acked), then claim entries that
 * other consumers left idle for longer than claimIdleMs (XAUTOCLAIM) — those consumers are dead.
 * Then read new entries ('>'), polling with a short BLOCK so a stop never cuts a blocked read.
 * Invalid entries are acked and copied to `deadLetterList(stream)` with the reason.
 */
import type { Redis } from 'ioredis';
import { deadLetterList } from '../../shared/bus.js';
import { JobRunner } from './job-runner.js';
import { parseJson, sleep } from './messages.js';
import { settleWithin } from './queue-consumer.js';
import type { Consumer, StreamInput, WorkerContext } from './types.js';

type Entry = [id: string, fields: string[]];

function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

export class StreamConsumer implements Consumer {
  private readonly runner: JobRunner;
  private stopping = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly ctx: WorkerContext,
    private readonly blocking: Redis,
    private readonly input: StreamInput,
  ) {
    this.runner = new JobRunner(ctx);
  }

  get handled(): number {
    return this.runner.handled;
  }

  async open(): Promise<void> {
    const { redis } = this.ctx;
    const { stream, group } = this.input;
    try {
      await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    } catch (e) {
      if (!/BUSYGROUP/.test((e as Error).message)) throw e;
    }
  }

  serve(): void {
    this.loop ??= this.run().catch((e) => this.ctx.log.error({ err: (e as Error).message, stream: this.input.stream }, 'stream loop ended with an error'));
  }

  private async run(): Promise<void> {
    const { redis, log, instanceId, config } = this.ctx;
    const { stream, group } = this.input;
    // 1. Our own pending entries (a previous incarnation with this instance id died mid-entry).
    const own = (await redis.xreadgroup('GROUP', group, instanceId, 'COUNT', 100, 'STREAMS', stream, '0')) as
      | Array<[string, Entry[]]>
      | null;
    const ownEntries = own?.[0]?.[1] ?? [];
    if (ownEntries.length) log.warn({ stream, count: ownEntries.length }, 'handling entries left pending by a previous run');
    for (const e of ownEntries) if (!this.stopping) await this.handleOne(e);
    // 2. Entries stuck with consumers that are gone.
    let cursor = '0-0';
    do {
      const res = (await redis.xautoclaim(stream, group, instanceId, config.claimIdleMs, cursor, 'COUNT', 50)) as [string, Entry[], ...unknown[]];
      cursor = res[0];
      const claimed = res[1].filter((e) => e && e[1]);
      if (claimed.length) log.warn({ stream, count: claimed.length }, 'claimed stale entries of a dead consumer');
      for (const e of claimed) if (!this.stopping) await this.handleOne(e);
    } while (cursor !== '0-0' && !this.stopping);
    // 3. New entries.
    const blockMs = Math.round(config.blockSeconds * 1000);
    while (!this.stopping) {
      let res: Array<[string, Entry[]]> | null;
      try {
        res = (await this.blocking.xreadgroup('GROUP', group, instanceId, 'COUNT', 1, 'BLOCK', blockMs, 'STREAMS', stream, '>')) as
          | Array<[string, Entry[]]>
          | null;
      } catch (e) {
        if (this.stopping) break;
        log.error({ err: (e as Error).message, stream }, 'XREADGROUP failed; retrying');
        await sleep(250);
        continue;
      }
      for (const e of res?.[0]?.[1] ?? []) await this.handleOne(e);
    }
  }

  private async handleOne([id, fields]: Entry): Promise<void> {
    const { redis, log } = this.ctx;
    const { stream, group } = this.input;
    const raw = fieldOf(fields, 'msg');
    const parsed = raw === undefined ? ({ ok: false, reason: 'entry has no "msg" field' } as const) : parseJson(raw, this.input.schema);
    if (!parsed.ok) {
      log.warn({ stream, id, reason: parsed.reason }, 'invalid entry acked and moved to dead-letter list');
      await redis
        .multi()
        .lpush(deadLetterList(stream), JSON.stringify({ id, fields, reason: parsed.reason }))
        .xack(stream, group, id)
        .exec();
      return;
    }
    try {
      const completed = await this.runner.run((job) => this.input.handle(parsed.value, job, id));
      // Not acked when aborted: it stays pending for our next incarnation (step 1) or a claimer.
      if (completed) await redis.xack(stream, group, id);
    } catch (e) {
      log.error({ stream, id, err: (e as Error).message }, 'handler failed; entry acked and moved to dead-letter list');
      await redis
        .multi()
        .lpush(deadLetterList(stream), JSON.stringify({ id, fields, reason: (e as Error).message }))
        .xack(stream, group, id)
        .exec();
    }
  }

  async stop(drainMs: number): Promise<void> {
    this.stopping = true;
    if (!this.loop) return;
    if (await settleWithin(this.loop, drainMs + this.ctx.config.blockSeconds * 1000)) return;
    this.ctx.log.warn({ stream: this.input.stream, drainMs }, 'drain deadline passed; aborting job');
    this.runner.abort('worker stopping');
    await settleWithin(this.loop, 1000);
  }
}
