/**
 * Runs jobs, each with its own AbortSignal, so a consumer can abort the jobs in flight when a
 * graceful stop runs past its drain deadline. Most consumers run one job at a time; a queue with
 * `concurrency` (chat-ai's contexts) runs several through the same runner. Applies the
 * FAV_TEST_TASK_DELAY_MS knob before the handler.
 */
import { sleep } from './messages.js';
import type { JobContext, WorkerContext } from './types.js';

export class JobRunner {
  private readonly current = new Set<AbortController>();
  handled = 0;

  constructor(private readonly ctx: WorkerContext) {}

  /** Jobs in flight. */
  get running(): number {
    return this.current.size;
  }

  /** Runs fn; resolves true when it completed, false when it was aborted; rethrows handler errors. */
  async run(fn: (job: JobContext) => Promise<void>): Promise<boolean> {
    const ac = new AbortController();
    const job: JobContext = { ...this.ctx, signal: ac.signal };
    this.current.add(ac);
    try {
      if (this.ctx.config.test.taskDelayMs > 0) await sleep(this.ctx.config.test.taskDelayMs, ac.signal);
      await fn(job);
      this.handled++;
      return true;
    } catch (e) {
      if (ac.signal.aborted) return false;
      throw e;
    } finally {
      this.current.delete(ac);
    }
  }

  /** Aborts every job in flight. */
  abort(reason: string): void {
    for (const ac of this.current) ac.abort(new Error(reason));
  }
}
