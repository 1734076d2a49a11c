/**
 * Runs one job at a time with its own AbortSignal, so a consumer can abort the job in flight when
 * a graceful stop runs past its drain deadline. Applies the FAV_TEST_TASK_DELAY_MS knob before the handler.
 */
import { sleep } from './messages.js';
import type { JobContext, WorkerContext } from './types.js';

export class JobRunner {
  private current: { ac: AbortController; done: Promise<unknown> } | undefined;
  handled = 0;

  constructor(private readonly ctx: WorkerContext) {}

  get busy(): boolean {
    return this.current !== undefined;
  }

  /** Runs fn; resolves true when it completed, false when it was aborted; rethrows handler errors. */
  async run(fn: (job: JobContext) => Promise<void>): Promise<boolean> {
    const ac = new AbortController();
    const job: JobContext = { ...this.ctx, signal: ac.signal };
    const done = (async () => {
      if (this.ctx.config.test.taskDelayMs > 0) await sleep(this.ctx.config.test.taskDelayMs, ac.signal);
      await fn(job);
    })();
    this.current = { ac, done };
    try {
      await done;
      this.handled++;
      return true;
    } catch (e) {
      if (ac.signal.aborted) return false;
      throw e;
    } finally {
      this.current = undefined;
    }
  }

  /** Aborts the job in flight (if any). */
  abort(reason: string): void {
    this.current?.ac.abort(new Error(reason));
  }
}
