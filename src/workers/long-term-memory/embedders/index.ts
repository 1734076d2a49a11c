/**
 * The embedder the settings ask for (`resolveEmbedder(config)`), or undefined for 'off' (keyword
 * recall only). Nothing is loaded or downloaded here: the service calls `ready()` in the background
 * and reads `state()` for the status.
 */
import type { ResolvedEmbedder } from '../../../shared/config.js';
import type { Logger } from '../../runtime/index.js';
import { OpenAiEmbedder } from './openai.js';
import { OnnxEmbedder, type OnnxEmbedderOptions } from './onnx.js';
import type { Embedder } from './types.js';
import { UseLiteEmbedder, type UseLiteOptions } from './use-lite.js';

export { EmbedderError, type Embedder, type EmbedOptions, type EmbedPurpose } from './types.js';
export { ONNX_MODELS, type OnnxModelSpec } from './onnx-models.js';

export interface EmbedderDeps {
  /** The app's data dir: on-device models are downloaded under `<dataDir>/models/embeddings/`. */
  dataDir: string;
  log: Pick<Logger, 'warn' | 'info' | 'debug'>;
  /** use-lite: in-process instead of a worker thread, cache size. */
  useLite?: UseLiteOptions;
  /** onnx: another registry (tests), download retries, threads. */
  onnx?: Partial<Pick<OnnxEmbedderOptions, 'models' | 'download' | 'threads'>>;
  /** openai: per-request time-out. */
  openAiTimeoutMs?: number;
}

export function createEmbedder(resolved: ResolvedEmbedder, deps: EmbedderDeps): Embedder | undefined {
  switch (resolved.engine) {
    case 'off':
      return undefined;
    case 'use-lite':
      return new UseLiteEmbedder(deps.useLite);
    case 'openai':
      return new OpenAiEmbedder({ baseUrl: resolved.baseUrl, apiKey: resolved.apiKey, model: resolved.model, timeoutMs: deps.openAiTimeoutMs, log: deps.log });
    case 'onnx':
      return new OnnxEmbedder({ model: resolved.model, downloadBaseUrl: resolved.downloadBaseUrl, dataDir: deps.dataDir, log: deps.log, ...deps.onnx });
  }
}
