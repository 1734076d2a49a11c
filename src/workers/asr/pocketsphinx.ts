/**
 * The pocketsphinx engine (Debian `pocketsphinx` + `pocketsphinx-en-us`, US English): decoder
 * processes kept running, each `pocketsphinx_continuous -infile /dev/stdin -time yes`, fed raw
 * 16 kHz s16le PCM for as long as it lives (the model loads once). No WAV header: the program skips
 * one only for file names ending in .wav, and would read it as 22 samples of noise.
 *
 * pocketsphinx_continuous ends an utterance by its own endpointing (vad_postspeech frames of
 * silence) and then prints the hypothesis and, with `-time yes`, one line per word with its start
 * and end time in seconds since the start of the stream. Each request writes its audio followed by
 * enough digital silence to end the utterance (and to fill the 2048-sample block the program reads
 * with fread); its transcript is the blocks whose times fall in its span. Times, not order, map
 * output to requests, so a block that comes late (after an abort) is dropped instead of shifting
 * every later answer.
 *
 * A request is complete when a block reaches the end of its speech. Otherwise (the decoder heard
 * no speech, or the utterance split at a long pause) it is complete once the decoder has consumed
 * everything: on Linux that is read from /proc (the decoder and the `cat` in front of it both
 * asleep, no CPU used between two looks, nothing left in our write buffer), which holds however
 * loaded the machine is; elsewhere a deadline of 3 s plus three times the audio's length.
 *
 * Node's stdio pipes are socket pairs, which /dev/stdin cannot open (ENXIO): the decoder is started
 * by bash as `exec pocketsphinx_continuous -infile <(exec cat)`, so it reads a real pipe that a cat
 * fills from our socket, and is itself our child (its exit is seen at once). Closing our end ends
 * cat, then the decoder (EOF): nothing outlives the worker.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { floatToS16 } from '../audio/pcm.js';
import type { Logger } from '../runtime/index.js';
import { AsrFailedError, AsrUnavailableError, abortReason, type AsrEngine, type AsrStream, type StreamOptions, type TranscribeOptions, type Transcript } from './engine.js';

const RATE = 16_000;
/** pocketsphinx_continuous reads 2048 samples per fread: a request's data ends on a block boundary. */
const READ_BLOCK = 2048;
/** Where Debian's pocketsphinx-en-us puts the acoustic model pocketsphinx_continuous uses by default. */
export const DEBIAN_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us/en-us';
const INSTALL_HINT = 'apt install pocketsphinx pocketsphinx-en-us';

/**
 * Decoder flags, chosen with test/asr/bench-pocketsphinx.ts over 48 flite utterances (12 sentences,
 * 4 voices, 372 words), decoder CPU per second of audio / word error rate:
 *   defaults 0.224 / 3.8%; -maxhmmpf 5000 0.206 / 3.8%; 3000 0.178 / 4.3%; 2000 0.146 / 4.3%;
 *   1500 0.141 / 5.9%; 1000 0.119 / 8.1%; -topn 2 0.300 / 5.6%; -fwdflat no 7.3%; -ds 2 5.1%;
 *   tighter -beam/-wbeam 9.7%.
 * -maxhmmpf (active HMMs per frame) is the one knob that saves time without losing words on these
 * sentences, but the search gets fragile below about 7000: two kal16 sentences joined after an slt
 * one (the channel normalisation still set for slt) came out with 5-7 errors in 15 words at 5000
 * and 3000, 2 at 7000 and 10000 and the defaults (30000). 10000 keeps a margin and bounds the
 * decoding time of noisy input, where the search would otherwise grow (under load: 0.33 instead of
 * 0.48 CPU seconds per second of flite speech).
 * -vad_postspeech: frames (10 ms) of silence that end an utterance. Requests pad with digital
 * silence after the speech, so this costs compute on the critical path of every turn: the padding
 * is decoded after the Silero VAD has already ended the utterance. 25 (250 ms) instead of 50 took the
 * mic path's end-of-utterance -> transcript from ~210 to ~115 ms p50 in bench:pipeline, at WER
 * 4.3% (16/372) vs 3.8% on the 48-utterance bench; a pause that splits the decoder's output is
 * joined back by word times, and the Silero VAD already ends utterances at 300 ms of silence.
 */
export const DEFAULT_DECODER_ARGS: readonly string[] = ['-vad_postspeech', '25', '-maxhmmpf', '10000'];

/** Samples of silence written after a request: vad_postspeech plus a margin. */
function padSamples(args: readonly string[]): number {
  const i = args.indexOf('-vad_postspeech');
  const frames = i >= 0 ? Number(args[i + 1]) : 50;
  return Math.round(((frames + 30) / 100) * RATE);
}

/** One utterance's output: its hypothesis and the span of its words, in samples of the stream. */
interface Block {
  /** The hypothesis line; undefined when the decoder printed none (rebuilt from the words). */
  hyp?: string;
  words: string[];
  start?: number;
  end?: number;
}

/** A request on a decoder. */
interface Job {
  start: number;
  /** Set when all the request's audio (and its padding) is written. */
  end?: number;
  /** Sample where the request's speech ends (its trailing silence excluded). */
  speechEnd: number;
  parts: string[];
  startedAt: number;
  /** Where the last block of this request ended (null: a block without word times). */
  lastBlockEnd?: number | null;
  watch?: NodeJS.Timeout;
  done: boolean;
  resolve(t: { text: string; timedOut: boolean }): void;
  reject(e: Error): void;
}

/** Blocks that start this long before a request's first sample are an earlier request's. */
const MAP_TOLERANCE = Math.round(0.3 * RATE);
const SEG_LINE = /^(\S+) (-?\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?) (-?[\d.]+(?:e[-+]?\d+)?)$/i;

export interface DecoderOptions {
  binary: string;
  args: readonly string[];
  log: Logger;
  /** Longest wait for the model to load, ms. */
  startTimeoutMs?: number;
}

/** One pocketsphinx_continuous process. */
export class Decoder {
  private readonly child: ChildProcessWithoutNullStreams;
  private pos = 0;
  private job: Job | undefined;
  private lineBuf = '';
  private block: Block | undefined;
  private blockTimer: NodeJS.Timeout | undefined;
  private readonly errTail: string[] = [];
  private readonly padLen: number;
  private exitError: Error | undefined;
  readonly exited: Promise<void>;

  private constructor(private readonly opts: DecoderOptions) {
    this.padLen = padSamples(opts.args);
    this.child = spawn('bash', ['-c', 'exec "$0" -infile <(exec cat) -time yes "$@"', opts.binary, ...opts.args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    this.child.stdin.on('error', () => undefined); // EPIPE after a crash: the exit handler reports it
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => this.onStdout(d));
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        const why = this.errTail.filter((l) => !l.startsWith('INFO')).slice(-3).join(' | ');
        this.exitError = new AsrFailedError(`pocketsphinx stopped (exit ${code ?? signal})${why ? `: ${why}` : ''}`);
        this.failJob(this.exitError);
        resolve();
      });
      this.child.on('error', (e) => {
        this.exitError = new AsrFailedError(`pocketsphinx could not be started (bash runs it): ${e.message}`);
        this.failJob(this.exitError);
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exitError === undefined;
  }

  get busy(): boolean {
    return this.job !== undefined;
  }

  /** Starts a process and waits until its model is loaded. */
  static async start(opts: DecoderOptions): Promise<Decoder> {
    const d = new Decoder(opts);
    await d.ready(opts.startTimeoutMs ?? 30_000);
    return d;
  }

  private ready(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let buf = '';
      const onErr = (chunk: Buffer) => {
        buf += chunk.toString('utf8');
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (line) this.keepErr(line);
          // Printed by pocketsphinx_continuous right after the decoder is initialised.
          if (line.includes('COMPILED ON')) {
            cleanup();
            resolve();
          }
        }
      };
      const onExit = () => {
        cleanup();
        reject(this.startError());
      };
      const timer = setTimeout(() => {
        cleanup();
        this.kill();
        reject(new AsrUnavailableError(`pocketsphinx did not load its model within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      let settled = false;
      const cleanup = () => {
        settled = true;
        clearTimeout(timer);
        this.child.stderr.off('data', onErr);
        this.child.stderr.on('data', (c: Buffer) => this.onStderr(c));
      };
      this.child.stderr.on('data', onErr);
      void this.exited.then(() => {
        if (!settled) onExit();
      });
    });
  }

  private startError(): Error {
    const errors = this.errTail.filter((l) => /^(FATAL|ERROR)/.test(l) || /not found|No such file/i.test(l));
    const detail = errors.slice(-2).join(' | ') || this.exitError?.message || 'it exited';
    if (/not found/i.test(detail) && !/\.(dict|lm|bin|mdef)/.test(detail)) {
      return new AsrUnavailableError(`pocketsphinx is not installed (${detail}): ${INSTALL_HINT}`);
    }
    return new AsrUnavailableError(`pocketsphinx failed to start: ${detail}. If the US English model is missing: ${INSTALL_HINT}`);
  }

  private errBuf = '';
  private onStderr(chunk: Buffer): void {
    this.errBuf += chunk.toString('utf8');
    let i;
    while ((i = this.errBuf.indexOf('\n')) >= 0) {
      const line = this.errBuf.slice(0, i).trim();
      this.errBuf = this.errBuf.slice(i + 1);
      if (line && !line.startsWith('INFO')) this.keepErr(line);
    }
  }

  private keepErr(line: string): void {
    this.errTail.push(line);
    if (this.errTail.length > 40) this.errTail.shift();
  }

  // ---- requests -------------------------------------------------------------------------------

  /** Starts a request at the current stream position. One at a time. */
  begin(): Promise<{ text: string; timedOut: boolean }> {
    if (this.job) throw new Error('decoder busy');
    if (this.exitError) return Promise.reject(this.exitError);
    return new Promise((resolve, reject) => {
      this.job = { start: this.pos, speechEnd: this.pos, parts: [], startedAt: performance.now(), done: false, resolve, reject };
    });
  }

  write(pcm: Float32Array): void {
    if (pcm.length === 0 || this.exitError) return;
    this.child.stdin.write(floatToS16(pcm));
    this.pos += pcm.length;
  }

  /**
   * All of the request's audio is written: pads it so the decoder ends the utterance, and arms the
   * completion rules. `trailingSilence`: samples at the end of the audio known to be silence.
   */
  end(trailingSilence = 0): void {
    const job = this.job;
    if (!job || job.end !== undefined) return;
    job.speechEnd = Math.max(job.start, this.pos - trailingSilence);
    let pad = this.padLen;
    const rem = (this.pos + pad) % READ_BLOCK;
    if (rem) pad += READ_BLOCK - rem;
    this.write(new Float32Array(pad));
    job.end = this.pos;
    if (reachedEnd(job)) this.complete(job, false);
    else this.watchIdle(job);
  }

  /**
   * Completes the job once the decoder has consumed all its audio without printing the block that
   * would have completed it (no speech heard, or the speech split at a long pause).
   */
  private watchIdle(job: Job): void {
    const spanMs = (((job.end ?? this.pos) - job.start) / RATE) * 1000;
    const startedAt = performance.now();
    let prev: Activity | undefined;
    const look = async () => {
      if (job.done) return;
      const now = await this.activity();
      if (job.done) return;
      if (now === undefined) {
        // No /proc: a deadline instead.
        if (performance.now() - startedAt > 3000 + 3 * spanMs) this.complete(job, true);
        else job.watch = setTimeout(() => void look(), 200);
        return;
      }
      if (prev && now.asleep && prev.asleep && now.cpuTicks === prev.cpuTicks) {
        this.complete(job, false);
        return;
      }
      if (performance.now() - startedAt > 120_000) {
        this.complete(job, true);
        return;
      }
      prev = now;
      job.watch = setTimeout(() => void look(), 60);
    };
    // The decoder needs at least this long for the padding alone.
    job.watch = setTimeout(() => void look(), 100);
  }

  private procPids: { decoder: number; cat: number } | null | undefined;

  /** Whether the decoder and its cat are asleep (waiting for input), and the decoder's CPU ticks. */
  private async activity(): Promise<Activity | undefined> {
    if (this.procPids === undefined) this.procPids = await findPipeline(this.child.pid);
    if (!this.procPids) return undefined;
    try {
      const [d, c] = await Promise.all([readFile(`/proc/${this.procPids.decoder}/stat`, 'latin1'), readFile(`/proc/${this.procPids.cat}/stat`, 'latin1')]);
      const df = d.slice(d.lastIndexOf(')') + 2).split(' ');
      const cf = c.slice(c.lastIndexOf(')') + 2).split(' ');
      // Fields after the name: state, ppid, ..., utime (12th), stime (13th).
      const asleep = df[0] === 'S' && cf[0] === 'S' && this.child.stdin.writableLength === 0;
      return { asleep, cpuTicks: Number(df[11]) + Number(df[12]) };
    } catch {
      return undefined;
    }
  }

  /** Gives up on the request in flight: its late output will be dropped by its time span. */
  abandon(): void {
    const job = this.job;
    if (!job) return;
    if (job.end === undefined) this.end();
    this.complete(job, false, true);
  }

  private complete(job: Job, timedOut: boolean, silent = false): void {
    if (job.done) return;
    job.done = true;
    clearTimeout(job.watch);
    if (this.job === job) this.job = undefined;
    if (timedOut) this.opts.log.warn({ spanMs: Math.round((((job.end ?? this.pos) - job.start) / RATE) * 1000), parts: job.parts.length }, 'pocketsphinx did not finish the utterance in time');
    if (!silent) job.resolve({ text: job.parts.filter((p) => p.length > 0).join(' '), timedOut });
  }

  private failJob(e: Error): void {
    const job = this.job;
    if (!job || job.done) return;
    job.done = true;
    clearTimeout(job.watch);
    this.job = undefined;
    job.reject(e);
  }

  // ---- output parsing -------------------------------------------------------------------------

  private onStdout(data: string): void {
    this.lineBuf += data;
    let i;
    while ((i = this.lineBuf.indexOf('\n')) >= 0) {
      const line = this.lineBuf.slice(0, i).replace(/\r$/, '');
      this.lineBuf = this.lineBuf.slice(i + 1);
      this.onLine(line);
    }
    // pocketsphinx flushes stdout once per utterance: a block still open at the end of a chunk
    // (no </s> word) is complete unless more follows at once.
    if (this.block) {
      clearTimeout(this.blockTimer);
      this.blockTimer = setTimeout(() => this.closeBlock(), 30);
    }
  }

  private onLine(line: string): void {
    const m = SEG_LINE.exec(line);
    if (!m) {
      // A hypothesis line starts an utterance's block.
      this.closeBlock();
      this.block = { hyp: line.trim(), words: [] };
      return;
    }
    const b = (this.block ??= { words: [] });
    const word = m[1]!;
    b.start ??= Math.round(Number(m[2]) * RATE);
    b.end = Math.round(Number(m[3]) * RATE);
    b.words.push(word);
    if (word === '</s>') this.closeBlock();
  }

  private closeBlock(): void {
    clearTimeout(this.blockTimer);
    const b = this.block;
    this.block = undefined;
    if (b) this.onBlock(b);
  }

  private onBlock(b: Block): void {
    const text = b.hyp ?? b.words.filter((w) => !isFiller(w)).map((w) => w.replace(/\(\d+\)$/, '')).join(' ');
    const job = this.job;
    if (!job || (b.start !== undefined && b.start < job.start - MAP_TOLERANCE)) {
      this.opts.log.debug({ text, start: b.start }, 'pocketsphinx output of an earlier request dropped');
      return;
    }
    job.parts.push(text);
    job.lastBlockEnd = b.end ?? null;
    // Still streaming, more may come; or the speech goes on after this block: the idle watch decides.
    if (job.end !== undefined && reachedEnd(job)) this.complete(job, false);
  }

  /** Ends the process: closes its input (it exits at EOF), then kills the group if it lingers. */
  async close(): Promise<void> {
    this.failJob(new AsrFailedError('pocketsphinx engine closed'));
    if (this.exitError) return;
    this.child.stdin.end();
    const t = setTimeout(() => this.kill(), 1000);
    await this.exited;
    clearTimeout(t);
  }

  kill(): void {
    try {
      if (this.child.pid) process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** The request's last block reaches the end of its speech (a block without times counts as the end). */
function reachedEnd(job: Job): boolean {
  return job.lastBlockEnd === null || (job.lastBlockEnd !== undefined && job.lastBlockEnd >= job.speechEnd - MAP_TOLERANCE);
}

interface Activity {
  asleep: boolean;
  cpuTicks: number;
}

/** The pids of the decoder (our child) and of the cat feeding it (its child), from Linux /proc; null elsewhere. */
async function findPipeline(decoder: number | undefined): Promise<{ decoder: number; cat: number } | null> {
  if (!decoder) return null;
  try {
    const kids = (await readFile(`/proc/${decoder}/task/${decoder}/children`, 'latin1')).trim().split(/\s+/).map(Number);
    for (const k of kids) if ((await readFile(`/proc/${k}/comm`, 'latin1')).trim() === 'cat') return { decoder, cat: k };
    return null;
  } catch {
    return null;
  }
}

function isFiller(w: string): boolean {
  return w.startsWith('<') || w.startsWith('[') || w.startsWith('++');
}

/** Samples of near-silence at the end of the audio (below about -46 dBFS per 10 ms). */
export function trailingSilence(pcm: Float32Array, threshold = 0.005): number {
  const win = RATE / 100;
  let end = pcm.length;
  while (end > 0) {
    const s = Math.max(0, end - win);
    let sum = 0;
    for (let i = s; i < end; i++) sum += pcm[i]! * pcm[i]!;
    if (Math.sqrt(sum / (end - s)) > threshold) break;
    end = s;
  }
  return pcm.length - end;
}

/** Finds an executable on PATH. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined;
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface PocketsphinxOptions {
  log: Logger;
  binary?: string;
  /** Decoder flags (besides -infile and -time). */
  args?: readonly string[];
  /** Acoustic model folder to check at init (Debian's by default; '' skips the check). */
  modelDir?: string;
  /** Most decoder processes at once (a live stream holds one for its utterance). */
  maxDecoders?: number;
}

export class PocketsphinxEngine implements AsrEngine {
  readonly name = 'pocketsphinx';
  private readonly decoders = new Set<Decoder>();
  private readonly idle: Decoder[] = [];
  private starting = 0;
  private readonly waiters: Array<{ resolve(d: Decoder): void; reject(e: Error): void }> = [];
  private binary = '';
  private closed = false;
  private readonly args: readonly string[];
  private readonly max: number;

  constructor(private readonly opts: PocketsphinxOptions) {
    this.args = opts.args ?? DEFAULT_DECODER_ARGS;
    this.max = Math.max(1, opts.maxDecoders ?? 2);
  }

  async init(): Promise<void> {
    const bin = findOnPath(this.opts.binary ?? 'pocketsphinx_continuous');
    if (!bin) throw new AsrUnavailableError(`pocketsphinx is not installed (no pocketsphinx_continuous on PATH): ${INSTALL_HINT}`);
    const modelDir = this.opts.modelDir ?? DEBIAN_MODEL_DIR;
    if (modelDir && !existsSync(join(modelDir, 'mdef'))) {
      throw new AsrUnavailableError(`the pocketsphinx US English model is not installed (no ${modelDir}/mdef): ${INSTALL_HINT}`);
    }
    this.binary = bin;
    const t0 = performance.now();
    const d = await this.spawn();
    this.idle.push(d);
    this.opts.log.info({ pid: d.pid, loadMs: Math.round(performance.now() - t0) }, 'pocketsphinx decoder ready');
  }

  private async spawn(): Promise<Decoder> {
    this.starting++;
    try {
      const d = await Decoder.start({ binary: this.binary, args: this.args, log: this.opts.log });
      this.decoders.add(d);
      void d.exited.then(() => {
        this.decoders.delete(d);
        const i = this.idle.indexOf(d);
        if (i >= 0) this.idle.splice(i, 1);
        if (!this.closed) this.opts.log.warn({ pid: d.pid }, 'pocketsphinx decoder exited; a new one starts on the next request');
      });
      return d;
    } finally {
      this.starting--;
    }
  }

  /** An idle decoder, a new one when all are busy and fewer than max run, else the next freed. */
  private lease(signal?: AbortSignal): Promise<Decoder> {
    if (this.closed) return Promise.reject(new AsrFailedError('pocketsphinx engine closed'));
    for (let d = this.idle.pop(); d; d = this.idle.pop()) if (d.alive) return Promise.resolve(d);
    if (this.decoders.size + this.starting < this.max) {
      return this.spawn().catch((e: unknown) => {
        throw e instanceof AsrUnavailableError ? new AsrFailedError(e.message) : (e as Error);
      });
    }
    return new Promise((resolve, reject) => {
      const w = { resolve, reject };
      this.waiters.push(w);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(abortReason(signal));
        },
        { once: true },
      );
    });
  }

  private release(d: Decoder): void {
    if (!d.alive || this.closed) {
      // A dead decoder's place goes to a new one for the next waiter.
      const w = this.waiters.shift();
      if (w && !this.closed) this.lease().then(w.resolve, w.reject);
      return;
    }
    const w = this.waiters.shift();
    if (w) w.resolve(d);
    else this.idle.push(d);
  }

  private warnedLanguage = false;
  private checkLanguage(language: string | undefined): void {
    if (!language || /^en\b/i.test(language) || this.warnedLanguage) return;
    this.warnedLanguage = true;
    this.opts.log.warn({ language }, 'pocketsphinx only knows US English: the language hint is ignored (use sherpa-onnx or openai for other languages)');
  }

  async transcribe(pcm16k: Float32Array, opts: TranscribeOptions = {}): Promise<Transcript> {
    this.checkLanguage(opts.language);
    const t0 = performance.now();
    const d = await this.lease(opts.signal);
    try {
      const result = d.begin();
      d.write(pcm16k);
      d.end(trailingSilence(pcm16k));
      const { text } = await raceAbort(result, opts.signal, () => d.abandon());
      return { text, language: 'en', engineMs: performance.now() - t0 };
    } finally {
      this.release(d);
    }
  }

  openStream(opts: StreamOptions = {}): AsrStream {
    this.checkLanguage(opts.language);
    const pending: Float32Array[] = [];
    let decoder: Decoder | undefined;
    let result: Promise<{ text: string; timedOut: boolean }> | undefined;
    let state: 'open' | 'finishing' | 'done' = 'open';
    // The last second of audio, to tell where the speech ended.
    const tail = new Float32Array(RATE);
    let tailLen = 0;
    const leased = this.lease(opts.signal).then((d) => {
      if (state === 'done') {
        this.release(d);
        return d;
      }
      decoder = d;
      result = d.begin();
      for (const p of pending) d.write(p);
      pending.length = 0;
      return d;
    });
    leased.catch(() => undefined);
    return {
      push: (pcm) => {
        if (state !== 'open') return;
        const src = pcm.length > RATE ? pcm.subarray(pcm.length - RATE) : pcm;
        const keep = Math.min(tailLen, RATE - src.length);
        tail.copyWithin(0, tailLen - keep, tailLen);
        tail.set(src, keep);
        tailLen = keep + src.length;
        if (decoder) decoder.write(pcm);
        else pending.push(pcm);
      },
      finish: async () => {
        if (state !== 'open') throw new Error('stream already finished');
        state = 'finishing';
        const t0 = performance.now();
        const d = await leased;
        try {
          d.end(trailingSilence(tail.subarray(0, tailLen)));
          const { text } = await raceAbort(result!, opts.signal, () => d.abandon());
          return { text, language: 'en', engineMs: performance.now() - t0 };
        } finally {
          state = 'done';
          this.release(d);
        }
      },
      cancel: () => {
        if (state === 'done') return;
        const wasOpen = state === 'open';
        state = 'done';
        if (decoder && wasOpen) {
          decoder.abandon();
          this.release(decoder);
        }
      },
    };
  }

  async dispose(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new AsrFailedError('pocketsphinx engine closed'));
    await Promise.all([...this.decoders].map((d) => d.close()));
    this.decoders.clear();
    this.idle.length = 0;
  }

  /** For tests: the running decoder processes. */
  get decoderPids(): number[] {
    return [...this.decoders].map((d) => d.pid!).filter(Boolean);
  }
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined, onAbort: () => void): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    onAbort();
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort();
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', abort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', abort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(e as Error);
      },
    );
  });
}
