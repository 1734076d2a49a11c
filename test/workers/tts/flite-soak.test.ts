/**
 * The flite engine (flite.wasm on its worker thread) through sentences with cancels mixed in, as
 * the tts service drives it: every spoken sentence has the audio of its first rendering (flite is
 * deterministic), every cancel rejects with its own reason, nothing fails (a crashed thread would
 * fail the sentence in flight; a crash of the process ends this test run), and the engine speaks
 * on afterwards. The figures (synthesis and cancel latency) come from `npm run soak:tts`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FliteEngine } from '../../../src/workers/tts/engines/flite.js';
import { collect } from './helpers.js';

const TEXTS = ['Hello there, this is a test of the speech engine.', 'Yes.', 'What would you like to talk about today? I can tell you a story.', 'Okay!'];
/** Where each cancel lands: before the thread is asked, during instantiation or synthesis, or after the audio. */
const CANCEL_AFTER_MS = [0, 1, 20, 80, 200, 600];

describe('flite engine soak', () => {
  let engine: FliteEngine;

  beforeAll(async () => {
    engine = new FliteEngine({ voice: 'slt' });
    await engine.init();
  }, 60_000);

  afterAll(async () => {
    await engine?.dispose();
  });

  it('speaks 36 sentences with 12 cancels between them: same audio per text, no failure', async () => {
    const reference = new Map<string, number>();
    const outcomes: Array<'spoken' | 'cancelled'> = [];
    const cancelledAtOnce: boolean[] = [];
    for (let i = 0; i < 36; i++) {
      const text = TEXTS[i % TEXTS.length]!;
      const ac = new AbortController();
      const reason = new Error(`cancel ${i}`);
      const cancelAt = i % 3 === 2 ? CANCEL_AFTER_MS[Math.floor(i / 3) % CANCEL_AFTER_MS.length]! : undefined;
      const timer = cancelAt === undefined ? undefined : setTimeout(() => ac.abort(reason), cancelAt);
      try {
        const pieces = await collect(engine.synthesize(text, { voice: 'slt', rate: 1, signal: ac.signal }));
        expect(pieces).toHaveLength(1);
        const n = pieces[0]!.samples.length;
        if (!reference.has(text)) reference.set(text, n);
        expect(n, `sentence ${i}: "${text}"`).toBe(reference.get(text));
        outcomes.push('spoken');
      } catch (e) {
        // Only a cancel may end a sentence early, and it ends it with its own reason.
        expect(ac.signal.aborted, `sentence ${i} failed: ${(e as Error).message}`).toBe(true);
        expect(e).toBe(reason);
        outcomes.push('cancelled');
      } finally {
        if (cancelAt === 0) cancelledAtOnce.push(outcomes.at(-1) === 'cancelled');
        clearTimeout(timer);
      }
    }
    // A cancel right away always lands while the program runs.
    expect(cancelledAtOnce).toEqual([true, true]);
    // A fresh thread only for a cancel that stopped a program (the first thread included).
    expect(engine.threadsStarted).toBeLessThanOrEqual(1 + outcomes.filter((o) => o === 'cancelled').length);
    const [after] = await collect(engine.synthesize(TEXTS[0]!, { voice: 'slt', rate: 1, signal: new AbortController().signal }));
    expect(after!.samples.length).toBe(reference.get(TEXTS[0]!));
  }, 120_000);
});
