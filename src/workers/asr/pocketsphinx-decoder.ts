/**
 * One pocketsphinx_continuous process, fed raw 16 kHz s16le PCM for as long as it lives (the model
 * loads once). No WAV header: the program skips one only for file names ending in .wav, and would
 * read it as 22 samples of noise.
 *
 * One request at a time: it writes its audio, then enough digital silence to end the utterance
 * (the program's endpointing, vad_postspeech frames) and to fill the 2048-sample block the program
 * reads with fread; its transcript is the blocks whose times fall in its span (pocketsphinx-output.ts).
 * A request is complete when a block reaches the end of its speech. Otherwise (the decoder heard no
 * speech, or the utterance split at a long pause) it is complete once the decoder has consumed
 * everything: on Linux that is read from /proc (the decoder and the `cat` in front of it both
 * asleep, no CPU used between two looks, nothing left in our write buffer), which holds however
 * loaded the machine is; elsewhere a deadline of 3 s plus three times the audio's length.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { floatToS16 } from '../audio/pcm.js';
import type { Logger } from '../runtime/index.js';
import { AsrFailedError, AsrUnavailableError } from './engine.js';
import { BlockReader, blockText, isEarlier, reachedEnd, type Block } from './pocketsphinx-output.js';
import { INSTALL_HINT, RATE, READ_BLOCK, findPipeline, padSamples, pipelineActivity, type Activity, type Pipeline } from './pocketsphinx-process.js';

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
  private readonly reader = new BlockReader((b) => this.onBlock(b));
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
    this.child.stdout.on('data', (d: string) => this.reader.push(d));
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

  private procPids: Pipeline | null | undefined;

  /** Whether the decoder and its cat are asleep (waiting for input), and the decoder's CPU ticks. */
  private async activity(): Promise<Activity | undefined> {
    if (this.procPids === undefined) this.procPids = await findPipeline(this.child.pid);
    if (!this.procPids) return undefined;
    return pipelineActivity(this.procPids, this.child.stdin.writableLength);
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

  // ---- output ---------------------------------------------------------------------------------

  private onBlock(b: Block): void {
    const text = blockText(b);
    const job = this.job;
    if (!job || isEarlier(b, job)) {
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

