/**
 * The soak's worker process (scripts/soak-flite.ts forks it): one FliteEngine, sentences from the
 * parent's plan, each reported back over IPC as it ends. A crash of the engine takes this process
 * down (as it took the tts service down), and the parent counts it and starts another.
 */
import { readdirSync } from 'node:fs';
import { FliteEngine } from '../../src/workers/tts/engines/flite.js';

export interface SoakStep {
  i: number;
  text: string;
  /** Abort this long after the synthesis starts; none: let it finish. */
  cancelAfterMs?: number;
}

export type SoakReport =
  | { type: 'ready'; initMs: number }
  | {
      type: 'step';
      i: number;
      outcome: 'spoken' | 'cancelled' | 'failed';
      /** Start to audio (spoken) or to the rejection (cancelled). */
      ms: number;
      /** abort() to the rejection the caller sees. */
      cancelMs?: number;
      samples?: number;
      error?: string;
    }
  | { type: 'done'; threadsStarted: number; fds: number; rssMiB: number };

const send = (r: SoakReport) => process.send!(r);
const fds = () => {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
};

async function runStep(engine: FliteEngine, s: SoakStep): Promise<void> {
  const ac = new AbortController();
  let abortedAt: number | undefined;
  const timer = s.cancelAfterMs === undefined ? undefined : setTimeout(() => ((abortedAt = performance.now()), ac.abort(new Error('cancelled'))), s.cancelAfterMs);
  const t0 = performance.now();
  try {
    let samples = 0;
    for await (const piece of engine.synthesize(s.text, { voice: 'slt', rate: 1, signal: ac.signal })) samples += piece.samples.length;
    send({ type: 'step', i: s.i, outcome: 'spoken', ms: performance.now() - t0, samples });
  } catch (e) {
    const now = performance.now();
    if (ac.signal.aborted) send({ type: 'step', i: s.i, outcome: 'cancelled', ms: now - t0, cancelMs: now - abortedAt! });
    else send({ type: 'step', i: s.i, outcome: 'failed', ms: now - t0, error: (e as Error).message });
  } finally {
    clearTimeout(timer);
  }
}

process.once('message', (plan: SoakStep[]) => {
  void (async () => {
    const engine = new FliteEngine({ voice: 'slt' });
    const t0 = performance.now();
    await engine.init();
    send({ type: 'ready', initMs: performance.now() - t0 });
    for (const s of plan) await runStep(engine, s);
    send({ type: 'done', threadsStarted: engine.threadsStarted, fds: fds(), rssMiB: Math.round(process.memoryUsage().rss / 1048576) });
    await engine.dispose();
    process.disconnect();
  })();
});
