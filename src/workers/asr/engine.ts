/**
 * The ASR engine interface and the factory that picks one from the settings. Every engine takes
 * 16 kHz mono Float32 PCM (one utterance) and returns its text; engines that can follow audio as it
 * arrives also offer `openStream` (lower latency after the end of speech, and partial transcripts
 * where the engine gives them).
 */
import type { Config } from '../../shared/config.js';
import type { Logger } from '../runtime/index.js';

export interface TranscribeOptions {
  /** Language hint: '' or undefined = the engine's default / auto-detect. */
  language?: string;
  signal?: AbortSignal;
}

export interface Transcript {
  text: string;
  /** The language the engine detected or was told, when it says. */
  language?: string;
  /** Time the engine itself spent on the utterance, ms. */
  engineMs: number;
}

/** One utterance followed live: audio goes in as it arrives, the final text comes out at `finish`. */
export interface AsrStream {
  push(pcm16k: Float32Array): void;
  /** The utterance is over: returns its transcript. */
  finish(): Promise<Transcript>;
  /** Drops the utterance (too short, session gone); frees what the stream holds. */
  cancel(): void;
}

export interface StreamOptions extends TranscribeOptions {
  /** Partial transcripts, for engines that produce them while the user speaks. */
  onPartial?(text: string): void;
}

export interface AsrEngine {
  readonly name: string;
  /** Loads models, starts processes; rejects with an AsrUnavailableError that says how to fix it. */
  init(): Promise<void>;
  transcribe(pcm16k: Float32Array, opts?: TranscribeOptions): Promise<Transcript>;
  openStream?(opts?: StreamOptions): AsrStream;
  dispose(): Promise<void>;
}

/** The engine cannot run here (not installed, model missing, endpoint unusable). */
export class AsrUnavailableError extends Error {
  override readonly name = 'AsrUnavailableError';
}

/** Recognition of one utterance failed; the message says why in words a streamer can act on. */
export class AsrFailedError extends Error {
  override readonly name = 'AsrFailedError';
}

export interface EngineDeps {
  log: Logger;
  /** Model download progress (sherpa-onnx), for a status line. */
  onProgress?(p: { model: string; receivedBytes: number; totalBytes: number | undefined; done: boolean }): void;
}

/** The engine named by `settings.asr.engine`, not yet initialised. */
export async function createEngine(settings: Config, deps: EngineDeps): Promise<AsrEngine> {
  switch (settings.asr.engine) {
    case 'pocketsphinx': {
      const { PocketsphinxEngine } = await import('./pocketsphinx.js');
      return new PocketsphinxEngine({ log: deps.log });
    }
    case 'openai': {
      const { OpenAiAsrEngine } = await import('./openai-engine.js');
      return new OpenAiAsrEngine(settings, { log: deps.log });
    }
    case 'sherpa-onnx': {
      const { SherpaEngine } = await import('./sherpa.js');
      return new SherpaEngine(settings, deps);
    }
    default: {
      const never: never = settings.asr.engine;
      throw new AsrUnavailableError(`unknown ASR engine "${String(never)}"`);
    }
  }
}

/** An AbortSignal's reason as an Error (for rejecting promises). */
export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error(typeof r === 'string' ? r : 'aborted');
}
