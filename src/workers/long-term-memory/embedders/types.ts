/**
 * What turns texts into vectors for long-term memory, whatever runs it: on the device
 * (use-lite.ts, onnx.ts) or on a server (openai.ts). Split from the vector index (store/): the
 * store keeps each vector with the `id` of the embedder that made it, so vectors of two models are
 * never compared, and a switch of engine re-embeds in the background (store/reembed.ts).
 *
 * The contract every engine keeps:
 *   - vectors are L2-normalised Float32Array of length `dim` (cosine = dot product);
 *   - `embed` returns one entry per text, in order; `undefined` for a text the engine cannot embed
 *     meaningfully (an English-only model given Chinese), which is then found by keywords only;
 *   - `purpose` lets models that want it prefix queries and documents differently (e5: "query: ");
 *   - it never throws for one bad text: it throws `EmbedderError` only when the engine itself
 *     cannot run (model missing or broken, server down), with a message that names the fix.
 */
import type { LtmStatus } from '../../../shared/long-term.js';

export type EmbedPurpose = 'query' | 'document';

export interface EmbedOptions {
  purpose: EmbedPurpose;
  signal?: AbortSignal;
}

export interface Embedder {
  /**
   * Stable id of the vector space, stored with every vector: `<engine>:<model>:<dim>`, e.g.
   * 'use-lite:use-lite-en:512', 'onnx:multilingual-minilm-l12:384', 'openai:nomic-embed-text:768'.
   * Known once `ready()` resolved (an OpenAI-compatible model's dim is learnt from its first answer).
   */
  readonly id: string;
  readonly engine: 'use-lite' | 'onnx' | 'openai';
  /** Vector length; 0 until ready. */
  readonly dim: number;
  /** Loads (or downloads, then loads) the model; resolves when `embed` can run. Idempotent. */
  ready(signal?: AbortSignal): Promise<void>;
  embed(texts: readonly string[], opts: EmbedOptions): Promise<Array<Float32Array | undefined>>;
  /** For LtmStatus: engine_state, engine_error, download. */
  state(): Pick<LtmStatus, 'engine_state' | 'engine_error' | 'download'>;
  close(): Promise<void>;
}

/** The engine cannot run; `message` says why and what to do. */
export class EmbedderError extends Error {
  override readonly name = 'EmbedderError';
  constructor(
    message: string,
    /** 'missing': model not downloaded; 'broken': files unreadable; 'unreachable': server down; 'failed': anything else. */
    readonly kind: 'missing' | 'broken' | 'unreachable' | 'failed' = 'failed',
  ) {
    super(message);
  }
}
