/**
 * The TTS engine interface and the factory that picks one from the settings.
 *
 * An engine turns one sentence into audio. One that renders the whole sentence at once (flite,
 * espeak-ng) yields once; a streaming one (OpenAI-compatible speech, GPT-SoVITS, Edge) yields as
 * bytes arrive. Every engine honours `opts.signal`: an abort ends the synthesis at once (the
 * iterator rejects or returns) and releases what it held (process, HTTP request, socket, thread).
 *
 * Failures are `TtsEngineError`s whose message a streamer can act on ("... is not installed: apt
 * install ...", "... is not reachable: start ... or set tts....url"), with an ErrorCodes code.
 */
import type { Config } from '../../shared/config.js';
import { ErrorCodes, type Emotion, type ErrorCode, type Viseme } from '../../shared/voice.js';

export interface SynthOptions {
  /** Engine-specific voice name (already defaulted: never ''). */
  voice: string;
  /** Speaking rate multiplier (1 = normal, 2 = twice as fast). */
  rate: number;
  emotion?: Emotion;
  signal: AbortSignal;
}

/** A piece of a sentence's audio, in order. */
export interface AudioPiece {
  /** Mono samples in [-1, 1]. */
  samples: Float32Array;
  sampleRate: number;
  /** Visemes with sentence-relative times (engines that give phone timings). */
  visemes?: Viseme[];
}

export interface TtsEngine {
  readonly name: string;
  /** The rate the engine produces, when fixed and known before synthesis. */
  readonly sampleRate?: number;
  /** Checks that the engine can work (binary present, server reachable, voice valid) and warms it. */
  init(): Promise<void>;
  synthesize(text: string, opts: SynthOptions): AsyncIterable<AudioPiece>;
  dispose(): Promise<void>;
}

export class TtsEngineError extends Error {
  constructor(
    message: string,
    /** ErrorCodes.ttsFailed or ErrorCodes.ttsUnavailable. */
    readonly code: ErrorCode = ErrorCodes.ttsFailed,
  ) {
    super(message);
    this.name = 'TtsEngineError';
  }
}

/** The error an aborted synthesis rejects with (callers check the signal, not the type). */
export function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error('synthesis aborted');
}

/** Default voice per engine when `tts.voice` is ''. */
export function defaultVoice(settings: Config['tts']): string {
  if (settings.voice) return settings.voice;
  switch (settings.engine) {
    case 'flite':
      return 'slt';
    case 'espeak-ng':
      return 'en-us';
    case 'edge':
      return 'en-US-AriaNeural';
    case 'openai':
      return /kokoro/i.test(settings.openai.model) ? 'af_heart' : 'alloy';
    case 'gpt-sovits':
      return 'default';
  }
}

/** Builds (but does not init) the engine named by `settings.tts.engine`. */
export async function createEngine(settings: Config): Promise<TtsEngine> {
  const tts = settings.tts;
  const voice = defaultVoice(tts);
  switch (tts.engine) {
    case 'flite': {
      const { FliteEngine } = await import('./engines/flite.js');
      return new FliteEngine({ voice });
    }
    case 'espeak-ng': {
      const { EspeakEngine } = await import('./engines/espeak-ng.js');
      return new EspeakEngine({ voice });
    }
    case 'openai': {
      const { OpenAiSpeechEngine } = await import('./engines/openai.js');
      return new OpenAiSpeechEngine(tts.openai);
    }
    case 'gpt-sovits': {
      const { GptSovitsEngine } = await import('./engines/gpt-sovits.js');
      return new GptSovitsEngine(tts.gptSovits);
    }
    case 'edge': {
      const { EdgeEngine } = await import('./engines/edge.js');
      return new EdgeEngine({ url: tts.edge.url, voice });
    }
  }
}

/** Describes a fetch/socket failure in words (ECONNREFUSED and friends hide in `cause`). */
export function networkReason(e: unknown): string | undefined {
  const seen = new Set<unknown>();
  let cur: unknown = e;
  while (cur && typeof cur === 'object' && !seen.has(cur)) {
    seen.add(cur);
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EAI_AGAIN|UND_ERR_CONNECT_TIMEOUT|UND_ERR_SOCKET)$/.test(code)) {
      return code;
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}
