/**
 * The pocketsphinx engine (Debian `pocketsphinx` + `pocketsphinx-en-us`, US English): a small pool
 * of decoder processes (pocketsphinx-decoder.ts) kept running, leased one per utterance, for whole
 * utterances (transcribe) and live streams (openStream).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../runtime/index.js';
import { AsrFailedError, AsrUnavailableError, abortReason, type AsrEngine, type AsrStream, type StreamOptions, type TranscribeOptions, type Transcript } from './engine.js';
import { Decoder } from './pocketsphinx-decoder.js';
import { DEBIAN_MODEL_DIR, DEFAULT_DECODER_ARGS, INSTALL_HINT, RATE, findOnPath } from './pocketsphinx-process.js';

export { DEFAULT_DECODER_ARGS, findOnPath } from './pocketsphinx-process.js';

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

