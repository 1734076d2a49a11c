/**
 * Reading pocketsphinx_continuous's output and matching it to requests. With `-time yes` the
 * program prints, per utterance, the hypothesis and then one line per word with its start and end
 * time in seconds since the start of the stream; stdout is flushed once per utterance. A block is
 * one utterance's output. Times, not order, map blocks to requests: a block that comes late (after
 * an abort) is recognised as an earlier request's and dropped instead of shifting every later
 * answer.
 */
import { RATE } from './pocketsphinx-process.js';

/** One utterance's output: its hypothesis and the span of its words, in samples of the stream. */
export interface Block {
  /** The hypothesis line; undefined when the decoder printed none (rebuilt from the words). */
  hyp?: string;
  words: string[];
  start?: number;
  end?: number;
}

/** The part of a request that matching needs, in samples of the stream. */
export interface RequestSpan {
  start: number;
  /** Sample where the request's speech ends (its trailing silence excluded). */
  speechEnd: number;
  /** Where the last block of this request ended (null: a block without word times). */
  lastBlockEnd?: number | null;
}

/** Blocks that start this long before a request's first sample are an earlier request's. */
const MAP_TOLERANCE = Math.round(0.3 * RATE);
const SEG_LINE = /^(\S+) (-?\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?) (-?[\d.]+(?:e[-+]?\d+)?)$/i;

/** The text of a block: its hypothesis, else its words without fillers and pronunciation variants. */
export function blockText(b: Block): string {
  return b.hyp ?? b.words.filter((w) => !isFiller(w)).map((w) => w.replace(/\(\d+\)$/, '')).join(' ');
}

/** The block started before the request did: an earlier request's late output. */
export function isEarlier(b: Block, req: RequestSpan): boolean {
  return b.start !== undefined && b.start < req.start - MAP_TOLERANCE;
}

/** The request's last block reaches the end of its speech (a block without times counts as the end). */
export function reachedEnd(job: RequestSpan): boolean {
  return job.lastBlockEnd === null || (job.lastBlockEnd !== undefined && job.lastBlockEnd >= job.speechEnd - MAP_TOLERANCE);
}

function isFiller(w: string): boolean {
  return w.startsWith('<') || w.startsWith('[') || w.startsWith('++');
}

/** Turns stdout chunks into blocks, in order. */
export class BlockReader {
  private lineBuf = '';
  private block: Block | undefined;
  private blockTimer: NodeJS.Timeout | undefined;

  constructor(private readonly onBlock: (b: Block) => void) {}

  push(data: string): void {
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
}
