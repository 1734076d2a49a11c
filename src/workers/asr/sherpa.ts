/**
 * The sherpa-onnx engine (`sherpa-onnx-node`, k2-fsa): SenseVoice (zh/en/ja/ko/yue) and Whisper
 * tiny/base as offline recognizers (one utterance at a time, decoded on the library's thread pool),
 * and a streaming bilingual Zipformer as an online recognizer (partials while the user speaks).
 * Models are downloaded on first use by the model manager (models.ts); FAV_SHERPA_MODEL_DIR points
 * at a folder that already holds the chosen model's files instead.
 *
 * sherpa-onnx-node ships no type declarations: the few calls used here are typed below and the
 * module is loaded through require (it is CommonJS with a native addon).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Config } from '../../shared/config.js';
import { AsrFailedError, AsrUnavailableError, abortReason, type AsrEngine, type AsrStream, type EngineDeps, type StreamOptions, type TranscribeOptions, type Transcript } from './engine.js';
import { ModelError, ModelManager, SHERPA_MODELS, checkModelDir, type ModelSpec } from './models.js';

// ---- the slice of sherpa-onnx-node used here ---------------------------------------------------

interface Waveform {
  samples: Float32Array;
  sampleRate: number;
}
interface OfflineStream {
  acceptWaveform(w: Waveform): void;
}
interface OfflineResult {
  text: string;
  lang?: string;
}
interface OfflineRecognizer {
  createStream(): OfflineStream;
  decodeAsync(s: OfflineStream): Promise<OfflineResult>;
}
interface OnlineStream {
  acceptWaveform(w: Waveform): void;
  inputFinished(): void;
}
interface OnlineRecognizer {
  createStream(): OnlineStream;
  isReady(s: OnlineStream): boolean;
  decode(s: OnlineStream): void;
  getResult(s: OnlineStream): { text: string };
}
interface SherpaModule {
  OfflineRecognizer: { createAsync(config: object): Promise<OfflineRecognizer> };
  OnlineRecognizer: new (config: object) => OnlineRecognizer;
}

function loadSherpa(): SherpaModule {
  try {
    return createRequire(import.meta.url)('sherpa-onnx-node') as SherpaModule;
  } catch (e) {
    throw new AsrUnavailableError(`sherpa-onnx-node could not be loaded (${(e as Error).message.split('\n')[0]}): reinstall it with npm install sherpa-onnx-node`);
  }
}

const RATE = 16_000;

export interface SherpaEngineOptions extends EngineDeps {
  /** A folder holding the model's files (skips the download); default env FAV_SHERPA_MODEL_DIR; null: neither. */
  modelDir?: string | null;
}

export class SherpaEngine implements AsrEngine {
  readonly name = 'sherpa-onnx';
  private readonly spec: ModelSpec;
  private offline: OfflineRecognizer | undefined;
  private online: OnlineRecognizer | undefined;
  readonly manager: ModelManager;

  constructor(
    private readonly settings: Config,
    private readonly deps: SherpaEngineOptions,
  ) {
    this.spec = SHERPA_MODELS[settings.asr.sherpa.model];
    this.manager = new ModelManager({ dataDir: settings.dataDir, baseUrl: settings.asr.sherpa.modelsBaseUrl, log: deps.log, onProgress: deps.onProgress });
  }

  /** The model folder: the given one (checked), the cached one, or a fresh download. */
  async modelDir(signal?: AbortSignal): Promise<string> {
    const given = (this.deps.modelDir === undefined ? process.env.FAV_SHERPA_MODEL_DIR : this.deps.modelDir) || undefined;
    try {
      if (given) {
        checkModelDir(given, this.spec);
        return given;
      }
      return await this.manager.ensure(this.spec, signal);
    } catch (e) {
      if (!(e instanceof ModelError)) throw e;
      if (given || /incomplete/.test(e.message)) throw new AsrUnavailableError(e.message);
      throw new AsrUnavailableError(
        `sherpa-onnx model ${this.spec.name} is not downloaded and the download failed: ${e.message}; ` +
          `set asr.sherpa.modelsBaseUrl, or download ${this.manager.urlOf(this.spec)} and unpack it into ${this.manager.dirOf(this.spec)}`,
      );
    }
  }

  async init(): Promise<void> {
    const dir = await this.modelDir();
    const sherpa = loadSherpa();
    const numThreads = this.settings.asr.sherpa.numThreads;
    const f = (name: string) => join(dir, name);
    const featConfig = { sampleRate: RATE, featureDim: 80 };
    const t0 = performance.now();
    try {
      switch (this.settings.asr.sherpa.model) {
        case 'sense-voice':
          this.offline = await sherpa.OfflineRecognizer.createAsync({
            featConfig,
            modelConfig: {
              senseVoice: { model: f('model.int8.onnx'), language: this.settings.asr.language || 'auto', useInverseTextNormalization: 1 },
              tokens: f('tokens.txt'),
              numThreads,
              provider: 'cpu',
              debug: 0,
            },
          });
          break;
        case 'whisper-tiny':
        case 'whisper-base': {
          const p = this.settings.asr.sherpa.model === 'whisper-tiny' ? 'tiny' : 'base';
          this.offline = await sherpa.OfflineRecognizer.createAsync({
            featConfig,
            modelConfig: {
              whisper: { encoder: f(`${p}-encoder.int8.onnx`), decoder: f(`${p}-decoder.int8.onnx`), language: this.settings.asr.language, task: 'transcribe', tailPaddings: -1 },
              tokens: f(`${p}-tokens.txt`),
              numThreads,
              provider: 'cpu',
              debug: 0,
            },
          });
          break;
        }
        case 'zipformer-bilingual':
          this.online = new sherpa.OnlineRecognizer({
            featConfig,
            modelConfig: {
              transducer: { encoder: f('encoder-epoch-99-avg-1.int8.onnx'), decoder: f('decoder-epoch-99-avg-1.onnx'), joiner: f('joiner-epoch-99-avg-1.int8.onnx') },
              tokens: f('tokens.txt'),
              numThreads,
              provider: 'cpu',
              debug: 0,
              modelType: 'zipformer',
            },
            decodingMethod: 'greedy_search',
            // The VAD ends utterances; the recognizer's own endpointing stays off.
            enableEndpoint: 0,
          });
          break;
      }
    } catch (e) {
      throw new AsrUnavailableError(`sherpa-onnx could not load the ${this.spec.name} model from ${dir}: ${(e as Error).message}`);
    }
    this.deps.log.info({ model: this.spec.name, dir, loadMs: Math.round(performance.now() - t0) }, 'sherpa-onnx model loaded');
  }

  async transcribe(pcm16k: Float32Array, opts: TranscribeOptions = {}): Promise<Transcript> {
    const t0 = performance.now();
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    if (this.online) {
      const s = this.openStream(opts);
      s.push(pcm16k);
      return s.finish();
    }
    if (!this.offline) throw new AsrFailedError('sherpa-onnx engine used before init');
    try {
      const stream = this.offline.createStream();
      stream.acceptWaveform({ samples: pcm16k, sampleRate: RATE });
      const r = await this.offline.decodeAsync(stream);
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      const language = r.lang ? r.lang.replace(/[<|>]/g, '') || undefined : opts.language || undefined;
      return { text: r.text.trim(), ...(language ? { language } : {}), engineMs: performance.now() - t0 };
    } catch (e) {
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      throw new AsrFailedError(`sherpa-onnx failed on the utterance: ${(e as Error).message}`);
    }
  }

  /** Only the streaming Zipformer follows audio live (with partials); offline models buffer. */
  openStream(opts: StreamOptions = {}): AsrStream {
    const rec = this.online;
    if (!rec) return this.bufferedStream(opts);
    const stream = rec.createStream();
    let last = '';
    let closed = false;
    const drain = () => {
      while (rec.isReady(stream)) rec.decode(stream);
    };
    return {
      push: (pcm) => {
        if (closed) return;
        stream.acceptWaveform({ samples: pcm, sampleRate: RATE });
        drain();
        const text = rec.getResult(stream).text.trim();
        if (text && text !== last) {
          last = text;
          opts.onPartial?.(text);
        }
      },
      finish: async () => {
        const t0 = performance.now();
        closed = true;
        // Tail padding lets the model emit the last tokens.
        stream.acceptWaveform({ samples: new Float32Array(Math.round(0.6 * RATE)), sampleRate: RATE });
        stream.inputFinished();
        drain();
        return { text: rec.getResult(stream).text.trim(), engineMs: performance.now() - t0 };
      },
      cancel: () => {
        closed = true;
      },
    };
  }

  private bufferedStream(opts: StreamOptions): AsrStream {
    const parts: Float32Array[] = [];
    let closed = false;
    return {
      push: (pcm) => {
        if (!closed) parts.push(pcm);
      },
      finish: () => {
        closed = true;
        const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
        let o = 0;
        for (const p of parts) {
          all.set(p, o);
          o += p.length;
        }
        return this.transcribe(all, opts);
      },
      cancel: () => {
        closed = true;
        parts.length = 0;
      },
    };
  }

  async dispose(): Promise<void> {
    // The native objects are freed by their finalizers.
    this.offline = undefined;
    this.online = undefined;
  }
}
