/**
 * The ONNX sentence models the settings can name (`memory.embedder.onnxModel`): multilingual, so
 * Chinese memories get vectors too, in the ONNX exports of the Xenova (transformers.js) repos on
 * Hugging Face, quantized (int8) to keep the download and the memory small.
 *
 * sha256: not known here (this was written with no network); each download's sha256 is recorded in
 * the model folder's manifest.json as what was accepted (`verified: false`), as the ASR models do.
 * A spec with a sha256 is checked against it.
 */
import { EmbedderError } from './types.js';

export type Pooling = 'mean' | 'cls';

export interface OnnxModelFile {
  /** Path in the repo, also the path under the model folder. */
  path: string;
  sha256?: string;
  /** Rough size, for download progress before the server says. */
  approxBytes?: number;
  /** A 404 is fine: the model works without it. */
  optional?: boolean;
}

export interface OnnxModelSpec {
  name: string;
  /** Hugging Face repo: files come from `<downloadBaseUrl>/<repo>/resolve/main/<path>`. */
  repo: string;
  /** The ONNX graph among `files`. */
  onnx: string;
  files: readonly OnnxModelFile[];
  dim: number;
  pooling: Pooling;
  /** Texts are cut to this many tokens (the model's trained length). */
  maxTokens: number;
  /** Task prefixes the model was trained with (e5: "query: " / "passage: "). */
  prefixes?: { query: string; document: string };
  /** What it is good at, for the settings page. */
  about: string;
}

const tokenizerFiles = (tokenizerBytes: number): OnnxModelFile[] => [
  { path: 'config.json', approxBytes: 1_000, optional: true },
  { path: 'tokenizer_config.json', approxBytes: 2_000, optional: true },
  { path: 'tokenizer.json', approxBytes: tokenizerBytes },
];

export const ONNX_MODELS: Readonly<Record<string, OnnxModelSpec>> = {
  'multilingual-minilm-l12': {
    name: 'multilingual-minilm-l12',
    repo: 'Xenova/paraphrase-multilingual-MiniLM-L12-v2',
    onnx: 'onnx/model_quantized.onnx',
    files: [...tokenizerFiles(17_000_000), { path: 'onnx/model_quantized.onnx', approxBytes: 118_000_000 }],
    dim: 384,
    pooling: 'mean',
    maxTokens: 128,
    about: 'paraphrase model, 50+ languages, 384-d, ~135 MB',
  },
  'multilingual-e5-small': {
    name: 'multilingual-e5-small',
    repo: 'Xenova/multilingual-e5-small',
    onnx: 'onnx/model_quantized.onnx',
    files: [...tokenizerFiles(17_000_000), { path: 'onnx/model_quantized.onnx', approxBytes: 118_000_000 }],
    dim: 384,
    pooling: 'mean',
    maxTokens: 512,
    prefixes: { query: 'query: ', document: 'passage: ' },
    about: 'retrieval model (queries vs passages), ~100 languages, 384-d, ~135 MB',
  },
  'multilingual-mpnet-base': {
    name: 'multilingual-mpnet-base',
    repo: 'Xenova/paraphrase-multilingual-mpnet-base-v2',
    onnx: 'onnx/model_quantized.onnx',
    files: [...tokenizerFiles(17_000_000), { path: 'onnx/model_quantized.onnx', approxBytes: 280_000_000 }],
    dim: 768,
    pooling: 'mean',
    maxTokens: 128,
    about: 'larger paraphrase model, 50+ languages, 768-d, ~300 MB, slower',
  },
};

/** The spec of `name`, or an error listing the known models. */
export function onnxModel(name: string, models: Readonly<Record<string, OnnxModelSpec>> = ONNX_MODELS): OnnxModelSpec {
  const spec = models[name];
  if (!spec) throw new EmbedderError(`unknown ONNX embedding model "${name}": memory.embedder.onnxModel must be one of ${Object.keys(models).join(', ')}`, 'failed');
  return spec;
}
