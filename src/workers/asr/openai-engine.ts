/**
 * The OpenAI-compatible transcription engine: `POST {baseUrl}/audio/transcriptions` (multipart, a
 * 16-bit WAV) through the `openai` SDK. Works with OpenAI, Groq and local servers such as Speaches
 * (faster-whisper). The endpoint is `asr.openai.baseUrl`, else the LLM's (resolveLlm), so one local
 * server can do both. Failures become messages that name the setting to fix.
 */
import { toFile, type OpenAI } from 'openai';
import { resolveLlm, type Config } from '../../shared/config.js';
import { encodeWav } from '../audio/pcm.js';
import { createOpenAiClient, openAiFailure, type Logger } from '../runtime/index.js';
import { AsrFailedError, AsrUnavailableError, abortReason, type AsrEngine, type TranscribeOptions, type Transcript } from './engine.js';

export interface OpenAiAsrOptions {
  log: Logger;
  /** Request time-out: this plus twice the audio's duration, ms. */
  baseTimeoutMs?: number;
}

export class OpenAiAsrEngine implements AsrEngine {
  readonly name = 'openai';
  readonly baseUrl: string;
  private readonly model: string;
  private readonly apiKey: string | undefined;
  private client: OpenAI | undefined;

  constructor(
    private readonly settings: Config,
    private readonly opts: OpenAiAsrOptions,
  ) {
    const llm = resolveLlm(settings.llm);
    this.baseUrl = (settings.asr.openai.baseUrl ?? llm.baseUrl).replace(/\/+$/, '');
    this.model = settings.asr.openai.model;
    // The LLM's key only goes to the LLM's server.
    this.apiKey = settings.asr.openai.apiKey ?? (settings.asr.openai.baseUrl ? undefined : llm.apiKey);
  }

  async init(): Promise<void> {
    if (!this.baseUrl || !/^https?:\/\//.test(this.baseUrl)) {
      throw new AsrUnavailableError('the openai ASR engine has no endpoint: set asr.openai.baseUrl (e.g. http://127.0.0.1:8000/v1 for Speaches)');
    }
    // The request's own time-out (per call) depends on the audio's length; this is the default.
    this.client = createOpenAiClient({ baseUrl: this.baseUrl, apiKey: this.apiKey, timeoutMs: this.opts.baseTimeoutMs ?? 15_000 });
    this.opts.log.info({ baseUrl: this.baseUrl, model: this.model, key: Boolean(this.apiKey) }, 'openai transcription endpoint configured');
  }

  async transcribe(pcm16k: Float32Array, opts: TranscribeOptions = {}): Promise<Transcript> {
    if (!this.client) throw new AsrFailedError('openai ASR engine used before init');
    const t0 = performance.now();
    const language = (opts.language ?? this.settings.asr.language) || undefined;
    const wav = encodeWav({ samples: pcm16k, sampleRate: 16_000 });
    const timeout = (this.opts.baseTimeoutMs ?? 15_000) + (pcm16k.length / 16_000) * 2000;
    // The SDK's own time-out covers the wait for the headers; ours also covers a body that stalls.
    const timer = new AbortController();
    const t = setTimeout(() => timer.abort(new Error('time-out')), timeout);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timer.signal]) : timer.signal;
    try {
      const res = await this.client.audio.transcriptions.create(
        { file: await toFile(wav, 'audio.wav', { type: 'audio/wav' }), model: this.model, ...(language ? { language } : {}), response_format: 'json' },
        { signal, timeout },
      );
      return { text: (res.text ?? '').trim(), ...(language ? { language } : {}), engineMs: performance.now() - t0 };
    } catch (e) {
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      if (timer.signal.aborted) throw new AsrFailedError(`the transcription endpoint ${this.baseUrl} did not answer within ${Math.round(timeout / 1000)} s`);
      throw this.explain(e, timeout);
    } finally {
      clearTimeout(t);
    }
  }

  /** An SDK error as a message a streamer can act on. */
  private explain(e: unknown, timeoutMs: number): Error {
    const where = `the transcription endpoint ${this.baseUrl}`;
    const f = openAiFailure(e, this.apiKey);
    const detail = f.detail ? `: ${f.detail}` : '';
    switch (f.kind) {
      case 'aborted':
        return new AsrFailedError('transcription aborted');
      case 'timeout':
        return new AsrFailedError(`${where} did not answer within ${Math.round(timeoutMs / 1000)} s`);
      case 'host-not-found':
      case 'unreachable':
        return new AsrFailedError(`${where} is unreachable (${f.cause ?? 'connection failed'}): is the server running, and is asr.openai.baseUrl right?`);
      case 'http':
      case 'stream-error':
        switch (f.status) {
          case 401:
            return new AsrFailedError('the transcription endpoint rejected the API key (asr.openai.apiKey)');
          case 403:
            return new AsrFailedError(`the transcription endpoint refused the request (HTTP 403${detail}): check asr.openai.apiKey and the account's access`);
          case 404:
            return new AsrFailedError(`${where} has no audio/transcriptions or no model "${this.model}" (HTTP 404${detail}): check asr.openai.baseUrl and asr.openai.model`);
          case 413:
            return new AsrFailedError('the transcription endpoint refused the audio as too large (HTTP 413)');
          case 429:
            return new AsrFailedError(`the transcription endpoint is rate-limiting requests (HTTP 429${detail})`);
          default:
            return new AsrFailedError(`${where} answered HTTP ${f.status ?? '?'}${detail}`);
        }
      default:
        return new AsrFailedError(`transcription failed: ${f.detail}`);
    }
  }

  async dispose(): Promise<void> {
    this.client = undefined;
  }
}
