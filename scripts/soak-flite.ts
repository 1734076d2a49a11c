/**
 * `npm run soak:tts [-- --sentences 400] [-- --cancel-every 4] [-- --max-delay 300] [-- --seed 1]`
 *
 * Soaks the flite engine (the real one: flite.wasm on its worker thread) with a few hundred
 * sentences of mixed length, every Nth cancelled at a random moment (before, during or after the
 * synthesis), and prints the figures: sentences, crashes, audio that differs from the first
 * rendering of the same text (flite is deterministic), p50/p95 synthesis time, p50/p95/max cancel
 * latency (abort() to the caller's rejection: what barge-in waits for), the synthesis time of the
 * sentence after a cancel (a fresh thread), threads started, file descriptors and RSS at the end.
 *
 * The engine runs in a child process (scripts/lib/flite-soak-child.ts), so a crash (the SIGSEGV /
 * SIGABRT node:wasi gave) is counted and the soak goes on in a new child from the next sentence.
 * Exit code 1 when anything crashed, failed or spoke wrong audio; the timings are only reported.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SoakReport, SoakStep } from './lib/flite-soak-child.js';
import { prng } from './lib/prng.js';

const { values: opts } = parseArgs({
  options: {
    sentences: { type: 'string', default: '400' },
    'cancel-every': { type: 'string', default: '4' },
    'max-delay': { type: 'string', default: '300' },
    seed: { type: 'string', default: '1' },
  },
});
const SENTENCES = Number(opts.sentences);
const CANCEL_EVERY = Number(opts['cancel-every']);
const MAX_DELAY_MS = Number(opts['max-delay']);

const TEXTS = [
  'Hello there, this is a test of the speech engine.',
  'Yes.',
  'The quick brown fox jumps over the lazy dog, and then it runs all the way back home again before dark.',
  'Short one.',
  'What would you like to talk about today? I can tell you a story, or we could play a game.',
  'Okay!',
  Array.from({ length: 4 }, (_, i) => `Part ${i + 1} of a long reply keeps the engine busy for a while.`).join(' '),
];

function plan(): SoakStep[] {
  const rnd = prng(Number(opts.seed));
  return Array.from({ length: SENTENCES }, (_, i) => ({
    i,
    text: TEXTS[Math.floor(rnd() * TEXTS.length)]!,
    ...(CANCEL_EVERY > 0 && i % CANCEL_EVERY === CANCEL_EVERY - 1 ? { cancelAfterMs: Math.round(rnd() * MAX_DELAY_MS) } : {}),
  }));
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const fmt = (n: number) => (Number.isNaN(n) ? '-' : n < 10 ? n.toFixed(2) : n.toFixed(0));

interface ChildEnd {
  /** Index of the next step to run (the crashed one is skipped). */
  next: number;
  crashed?: string;
  done?: Extract<SoakReport, { type: 'done' }>;
}

const steps = plan();
const results: Array<Extract<SoakReport, { type: 'step' }>> = [];
const crashes: string[] = [];
let initMs = 0;
let last: Extract<SoakReport, { type: 'done' }> | undefined;

/** Runs steps[from..] in one child; resolves when it ends, cleanly or not. */
function runChild(from: number): Promise<ChildEnd> {
  const child = fork(fileURLToPath(new URL('./lib/flite-soak-child.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  let next = from;
  let done: ChildEnd['done'];
  child.on('message', (r: SoakReport) => {
    if (r.type === 'ready') initMs ||= r.initMs;
    else if (r.type === 'step') {
      results.push(r);
      next = r.i + 1;
      if (results.length % 50 === 0) console.log(`  ${results.length}/${SENTENCES} sentences, ${crashes.length} crashes`);
    } else done = r;
  });
  child.send(steps.slice(from));
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      if (done && code === 0) return resolve({ next, done });
      // The step in flight when it died is the one after the last reported.
      resolve({ next: next + 1, crashed: `sentence ${next}: ${signal ?? `exit ${code}`}${stderr.trim() ? ` (${stderr.trim().split('\n').at(-1)})` : ' (no stderr)'}` });
    }),
  );
}

console.log(`flite soak: ${SENTENCES} sentences, every ${CANCEL_EVERY || '-'}th cancelled within ${MAX_DELAY_MS} ms, seed ${opts.seed}`);
const started = performance.now();
for (let from = 0; from < SENTENCES; ) {
  const end = await runChild(from);
  if (end.crashed) {
    crashes.push(end.crashed);
    console.log(`  CRASH at ${end.crashed}`);
  }
  last = end.done ?? last;
  from = end.next;
}

// Correct audio: every rendering of a text has the sample count of its first rendering.
const reference = new Map<string, number>();
let wrongAudio = 0;
for (const r of results.filter((x) => x.outcome === 'spoken')) {
  const text = steps[r.i]!.text;
  const want = reference.get(text);
  if (want === undefined) reference.set(text, r.samples!);
  else if (want !== r.samples) wrongAudio++;
}
const spoken = results.filter((r) => r.outcome === 'spoken');
const cancelled = results.filter((r) => r.outcome === 'cancelled');
const failed = results.filter((r) => r.outcome === 'failed');
const afterCancel = spoken.filter((r) => results.find((x) => x.i === r.i - 1)?.outcome === 'cancelled');
const cancelMs = cancelled.map((r) => r.cancelMs!);

console.log('');
console.log(`sentences        ${results.length} run, ${spoken.length} spoken, ${cancelled.length} cancelled, ${failed.length} failed, in ${((performance.now() - started) / 1000).toFixed(0)} s`);
console.log(`crashes          ${crashes.length}${crashes.length ? `: ${crashes.join('; ')}` : ''}`);
console.log(`wrong audio      ${wrongAudio} (sample count differs from the first rendering of the same text)`);
console.log(`synthesis ms     p50 ${fmt(pct(spoken.map((r) => r.ms), 50))}  p95 ${fmt(pct(spoken.map((r) => r.ms), 95))}  (init ${fmt(initMs)})`);
console.log(`after a cancel   p50 ${fmt(pct(afterCancel.map((r) => r.ms), 50))}  p95 ${fmt(pct(afterCancel.map((r) => r.ms), 95))}  (${afterCancel.length} sentences: a fresh thread)`);
console.log(`cancel ms        p50 ${fmt(pct(cancelMs, 50))}  p95 ${fmt(pct(cancelMs, 95))}  max ${fmt(cancelMs.length ? Math.max(...cancelMs) : NaN)}  (abort() to rejection)`);
if (last) console.log(`last child       ${last.threadsStarted} threads started, ${last.fds} fds open, RSS ${last.rssMiB} MiB`);
for (const f of failed.slice(0, 5)) console.log(`failed           sentence ${f.i}: ${f.error}`);
process.exitCode = crashes.length || failed.length || wrongAudio ? 1 : 0;
