/**
 * Launching pocketsphinx_continuous and looking at it from outside: where the program and its
 * model are, the flags it runs with, and (on Linux) whether it has consumed its input, from /proc.
 *
 * Node's stdio pipes are socket pairs, which /dev/stdin cannot open (ENXIO): the decoder is started
 * by bash as `exec pocketsphinx_continuous -infile <(exec cat)`, so it reads a real pipe that a cat
 * fills from our socket, and is itself our child (its exit is seen at once). Closing our end ends
 * cat, then the decoder (EOF): nothing outlives the worker.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export const RATE = 16_000;
/** pocketsphinx_continuous reads 2048 samples per fread: a request's data ends on a block boundary. */
export const READ_BLOCK = 2048;
/** Where Debian's pocketsphinx-en-us puts the acoustic model pocketsphinx_continuous uses by default. */
export const DEBIAN_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us/en-us';
export const INSTALL_HINT = 'apt install pocketsphinx pocketsphinx-en-us';

/**
 * Decoder flags, chosen with test/workers/asr/bench-pocketsphinx.ts over 48 flite utterances (12 sentences,
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
export function padSamples(args: readonly string[]): number {
  const i = args.indexOf('-vad_postspeech');
  const frames = i >= 0 ? Number(args[i + 1]) : 50;
  return Math.round(((frames + 30) / 100) * RATE);
}

/** Whether the decoder and its cat are asleep (waiting for input), and the decoder's CPU ticks. */
export interface Activity {
  asleep: boolean;
  cpuTicks: number;
}

export type Pipeline = { decoder: number; cat: number };

/** The pids of the decoder (our child) and of the cat feeding it (its child), from Linux /proc; null elsewhere. */
export async function findPipeline(decoder: number | undefined): Promise<Pipeline | null> {
  if (!decoder) return null;
  try {
    const kids = (await readFile(`/proc/${decoder}/task/${decoder}/children`, 'latin1')).trim().split(/\s+/).map(Number);
    for (const k of kids) if ((await readFile(`/proc/${k}/comm`, 'latin1')).trim() === 'cat') return { decoder, cat: k };
    return null;
  } catch {
    return null;
  }
}

/** The pipeline's activity from /proc (undefined when it cannot be read). `pending`: bytes still in our write buffer. */
export async function pipelineActivity(p: Pipeline, pending: number): Promise<Activity | undefined> {
  try {
    const [d, c] = await Promise.all([readFile(`/proc/${p.decoder}/stat`, 'latin1'), readFile(`/proc/${p.cat}/stat`, 'latin1')]);
    const df = d.slice(d.lastIndexOf(')') + 2).split(' ');
    const cf = c.slice(c.lastIndexOf(')') + 2).split(' ');
    // Fields after the name: state, ppid, ..., utime (12th), stime (13th).
    const asleep = df[0] === 'S' && cf[0] === 'S' && pending === 0;
    return { asleep, cpuTicks: Number(df[11]) + Number(df[12]) };
  } catch {
    return undefined;
  }
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
