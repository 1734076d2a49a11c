/**
 * OpenAI-compatible speech (`POST {baseUrl}/audio/speech` through the `openai` SDK): OpenAI itself,
 * Kokoro-FastAPI, Speaches. Asks for `pcm` (24 kHz s16le mono) and yields the body as it streams,
 * keeping sample alignment across body chunks (a chunk may end in the middle of a sample). A server
 * that answers WAV instead is read through its header. An abort cancels the HTTP request.
 */
import type OpenAI from 'openai';
import type { Config } from '../../../shared/config.js';
import { ErrorCodes } from '../../../shared/voice.js';
import { TtsEngineError, abortError, type AudioPiece, type SynthOptions, type TtsEngine } from '../engine.js';
import { createOpenAiClient, openAiFailure } from '../../runtime/index.js';
import { S16Stream, WavStream } from '../wav-stream.js';

const PCM_RATE = 24_000;
const PROBE_TIMEOUT_MS = 3000;

const EMOTION_INSTRUCTIONS: Partial<Record<string, string>> = {
  joy: 'Speak in a cheerful, happy tone.',
  sad: 'Speak in a soft, sad tone.',
  angry: 'Speak in an annoyed, angry tone.',
  surprised: 'Speak in a surprised, excited tone.',
  fear: 'Speak in a nervous, fearful tone.',
  disgust: 'Speak in a disgusted tone.',
  shy: 'Speak in a shy, hesitant tone.',
  thinking: 'Speak in a thoughtful, musing tone.',
};

export class OpenAiSpeechEngine implements TtsEngine {
  readonly name = 'openai';
  readonly sampleRate = PCM_RATE;
  private readonly client: OpenAI;
  private readonly baseUrl: string;
  private readonly model: string;

  constructor(cfg: Config['tts']['openai']) {
    this.baseUrl = cfg.baseUrl.replace(/\/+$/, '');
    this.model = cfg.model;
    this.client = createOpenAiClient({ baseUrl: this.baseUrl, apiKey: cfg.apiKey, timeoutMs: 30_000 });
  }

  /** Reachability and key check on `GET /models` (a server without that route still passes). */
  async init(): Promise<void> {
    try {
      await this.client.models.list({ timeout: PROBE_TIMEOUT_MS, maxRetries: 0 });
    } catch (e) {
      const f = openAiFailure(e);
      if (f.kind === 'http' && f.status !== 401 && f.status !== 403) return;
      throw this.explain(e);
    }
  }

  async *synthesize(text: string, opts: SynthOptions): AsyncGenerator<AudioPiece> {
    const { signal } = opts;
    if (signal.aborted) throw abortError(signal);
    const instructions = opts.emotion && /^gpt-4o/.test(this.model) ? EMOTION_INSTRUCTIONS[opts.emotion] : undefined;
    let res: Response;
    try {
      res = await this.client.audio.speech.create(
        { model: this.model, input: text, voice: opts.voice, response_format: 'pcm', speed: opts.rate, ...(instructions ? { instructions } : {}) },
        { signal },
      );
    } catch (e) {
      if (signal.aborted) throw abortError(signal);
      throw this.explain(e);
    }
    const type = res.headers.get('content-type') ?? '';
    if (/json|html|text\//i.test(type)) {
      const body = (await res.text().catch(() => '')).slice(0, 200);
      throw new TtsEngineError(`the speech server at ${this.baseUrl} answered ${type} instead of audio: ${body}`);
    }
    if (!res.body) throw new TtsEngineError(`the speech server at ${this.baseUrl} sent no audio`);
    let reader: { push(b: Uint8Array): Float32Array; rate(): number } | undefined;
    let bytes = 0;
    try {
      for await (const piece of res.body as unknown as AsyncIterable<Uint8Array>) {
        if (!reader) {
          // Some servers ignore response_format and send WAV: recognise it by its header.
          const isWav = piece.length >= 4 && piece[0] === 0x52 && piece[1] === 0x49 && piece[2] === 0x46 && piece[3] === 0x46;
          if (isWav) {
            const w = new WavStream();
            reader = { push: (b) => w.push(b), rate: () => w.sampleRate ?? PCM_RATE };
          } else {
            const s = new S16Stream();
            reader = { push: (b) => s.push(b), rate: () => PCM_RATE };
          }
        }
        bytes += piece.length;
        const samples = reader.push(piece);
        if (samples.length > 0) yield { samples, sampleRate: reader.rate() };
      }
    } catch (e) {
      if (signal.aborted) throw abortError(signal);
      throw new TtsEngineError(`the speech stream from ${this.baseUrl} broke after ${bytes} bytes: ${(e as Error).message}`);
    }
    if (bytes === 0) throw new TtsEngineError(`the speech server at ${this.baseUrl} sent an empty body`);
  }

  private explain(e: unknown): TtsEngineError {
    const f = openAiFailure(e);
    switch (f.kind) {
      case 'timeout':
        return new TtsEngineError(`the speech server at ${this.baseUrl} did not answer in time`, ErrorCodes.ttsUnavailable);
      case 'host-not-found':
      case 'unreachable':
        return new TtsEngineError(
          `the speech server at ${this.baseUrl} is not reachable: start it (Kokoro-FastAPI, Speaches) or set tts.openai.baseUrl`,
          ErrorCodes.ttsUnavailable,
        );
      case 'http':
      case 'stream-error':
      case 'aborted':
        if (f.status === 401 || f.status === 403) {
          return new TtsEngineError(`the speech server at ${this.baseUrl} rejected the API key (${f.status}): set tts.openai.apiKey`, ErrorCodes.ttsUnavailable);
        }
        if (f.status === 404) {
          return new TtsEngineError(`the speech server at ${this.baseUrl} has no model "${this.model}" or no speech endpoint (404): check tts.openai.model${f.detail ? ` (${f.detail})` : ''}`);
        }
        return new TtsEngineError(`the speech server at ${this.baseUrl} refused the sentence (${f.status ?? 'error'})${f.detail ? `: ${f.detail}` : ''}`);
      default:
        return new TtsEngineError(`speech request failed: ${f.detail}`);
    }
  }

  async dispose(): Promise<void> {}
}
