/** An Embedder for tests: word-bag vectors (the same words, the same vector), no model. */
import type { LtmStatus } from '../../../src/shared/long-term.js';
import { EmbedderError, type EmbedOptions, type Embedder } from '../../../src/workers/long-term-memory/embedders/types.js';

export const FAKE_SPACE = 'fake:words:8';

/** A unit vector from the text's words; CJK text cannot be embedded (like an English-only model). */
export function wordVector(text: string): Float32Array | undefined {
  if (/\p{Script=Han}/u.test(text)) return undefined;
  const v = new Float32Array(8);
  for (const w of text.toLowerCase().split(/\W+/).filter(Boolean)) v[[...w].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 8, 7)] += 1;
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

export class FakeEmbedder implements Embedder {
  readonly id = FAKE_SPACE;
  readonly engine = 'use-lite' as const;
  readonly dim = 8;
  calls: Array<{ texts: string[]; purpose: string }> = [];
  engineState: LtmStatus['engine_state'] = 'ready';
  /** How many of the next ready() calls fail. */
  failReady = 0;
  /** The next embed() calls fail. */
  failEmbed = false;
  /** Runs inside embed() before it answers (to change the store meanwhile). */
  during?: () => void;

  async ready(): Promise<void> {
    if (this.failReady > 0) {
      this.failReady--;
      throw new EmbedderError('model missing: download it in Settings', 'missing');
    }
  }

  async embed(texts: readonly string[], opts: EmbedOptions): Promise<Array<Float32Array | undefined>> {
    this.calls.push({ texts: [...texts], purpose: opts.purpose });
    if (this.failEmbed) throw new EmbedderError('server down: start Ollama', 'unreachable');
    this.during?.();
    this.during = undefined;
    return texts.map(wordVector);
  }

  state() {
    return { engine_state: this.engineState };
  }

  async close(): Promise<void> {}
}
