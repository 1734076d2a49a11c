/**
 * espeak-ng as a system process: `espeak-ng --stdout -b 1 -v <voice> -s <wpm>` with the sentence on
 * stdin (so text starting with '-' is never an option), a WAV stream on stdout (its header carries
 * "unknown" sizes), yielded as it arrives. An abort kills the process. No phone timings (the
 * envelope drives lip sync). GPL-3 program, run as a separate process only.
 */
import { spawn } from 'node:child_process';
import { TtsEngineError, abortError, type AudioPiece, type SynthOptions, type TtsEngine } from '../engine.js';
import { WavStream } from '../wav-stream.js';

/** espeak-ng's default speed, words per minute. */
const BASE_WPM = 175;

export class EspeakEngine implements TtsEngine {
  readonly name = 'espeak-ng';
  readonly sampleRate = 22050;
  private readonly voice: string;
  private readonly bin: string;

  constructor(opts: { voice: string; bin?: string }) {
    this.voice = opts.voice;
    this.bin = opts.bin ?? 'espeak-ng';
  }

  async init(): Promise<void> {
    // One short sentence: proves the binary runs and the voice exists (and warms the page cache).
    for await (const piece of this.synthesize('ok', { voice: this.voice, rate: 1, signal: new AbortController().signal })) void piece;
  }

  async *synthesize(text: string, opts: SynthOptions): AsyncGenerator<AudioPiece> {
    const { signal } = opts;
    if (signal.aborted) throw abortError(signal);
    const wpm = String(Math.round(Math.min(450, Math.max(80, BASE_WPM * opts.rate))));
    const child = spawn(this.bin, ['--stdout', '-b', '1', '-v', opts.voice, '-s', wpm], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, error }));
      child.once('close', (code) => resolve({ code }));
    });
    const onAbort = () => {
      child.kill('SIGKILL');
      child.stdout.destroy(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.stdin.on('error', () => undefined); // EPIPE when the process died early: reported through its exit
    child.stdin.end(text);
    const wav = new WavStream();
    try {
      for await (const bytes of child.stdout as AsyncIterable<Buffer>) {
        const samples = wav.push(bytes);
        if (samples.length > 0) yield { samples, sampleRate: wav.sampleRate! };
      }
      if (signal.aborted) throw abortError(signal);
      const { code, error } = await exited;
      if (error) throw this.spawnError(error);
      if (code !== 0) {
        const why = stderr.trim() || `exit code ${code}`;
        if (/voice does not exist/i.test(why)) {
          throw new TtsEngineError(`espeak-ng has no voice "${opts.voice}": set tts.voice to one listed by \`espeak-ng --voices\``);
        }
        throw new TtsEngineError(`espeak-ng failed: ${why}`);
      }
      if (!wav.started) throw new TtsEngineError('espeak-ng produced no audio');
    } catch (e) {
      if (signal.aborted) throw abortError(signal);
      const { error } = await Promise.race([exited, Promise.resolve({ error: undefined })]);
      if (error) throw this.spawnError(error);
      if ((e as { code?: string }).code === 'ENOENT') throw this.spawnError(e as Error);
      throw e;
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }

  private spawnError(e: Error): TtsEngineError {
    if ((e as { code?: string }).code === 'ENOENT') {
      return new TtsEngineError(`espeak-ng is not installed: apt install espeak-ng (or pick another tts.engine)`, 'tts_unavailable');
    }
    return new TtsEngineError(`espeak-ng could not start: ${e.message}`, 'tts_unavailable');
  }

  async dispose(): Promise<void> {}
}
