/**
 * GPT-SoVITS through its `api_v2.py` server (default http://127.0.0.1:9880). `POST /tts` with JSON
 * { text, text_lang, ref_audio_path, prompt_text, prompt_lang, media_type: 'wav',
 *   streaming_mode: true, speed_factor }: the streamed answer is one WAV header (sizes 0, its
 * rate is the model's: 32 kHz for v1/v2, 24 kHz for v3, 48 kHz for v4) followed by raw 16-bit PCM
 * fragments as they are synthesised. Errors are HTTP 400 with JSON { message, Exception? }
 * (422 { detail } for a body of the wrong shape). An abort cancels the HTTP request.
 */
import type { Config } from '../../../shared/config.js';
import { ErrorCodes } from '../../../shared/voice.js';
import { TtsEngineError, abortError, networkReason, type AudioPiece, type SynthOptions, type TtsEngine } from '../engine.js';
import { WavStream } from '../wav-stream.js';

const PROBE_TIMEOUT_MS = 3000;

export class GptSovitsEngine implements TtsEngine {
  readonly name = 'gpt-sovits';
  private readonly url: string;

  constructor(private readonly cfg: Config['tts']['gptSovits']) {
    this.url = cfg.url.replace(/\/+$/, '');
  }

  private unreachable(reason?: string): TtsEngineError {
    return new TtsEngineError(
      `the GPT-SoVITS server at ${this.url} is not reachable${reason ? ` (${reason})` : ''}: start api_v2.py or set tts.gptSovits.url`,
      ErrorCodes.ttsUnavailable,
    );
  }

  /** Settings check, then any HTTP answer from the server counts as reachable (api_v2 has no health route). */
  async init(): Promise<void> {
    if (!this.cfg.refAudioPath) {
      throw new TtsEngineError(
        'tts.gptSovits.refAudioPath is empty: set it to a 3-10 s reference WAV (a path on the GPT-SoVITS machine) and tts.gptSovits.promptText to its transcript',
        ErrorCodes.ttsUnavailable,
      );
    }
    try {
      const res = await fetch(`${this.url}/`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      await res.body?.cancel();
    } catch (e) {
      throw this.unreachable((e as Error).name === 'TimeoutError' ? 'no answer in 3 s' : networkReason(e));
    }
  }

  async *synthesize(text: string, opts: SynthOptions): AsyncGenerator<AudioPiece> {
    const { signal } = opts;
    if (signal.aborted) throw abortError(signal);
    const body = {
      text,
      text_lang: this.cfg.textLang,
      ref_audio_path: this.cfg.refAudioPath,
      prompt_text: this.cfg.promptText,
      prompt_lang: this.cfg.promptLang,
      media_type: 'wav',
      streaming_mode: true,
      speed_factor: opts.rate,
    };
    let res: Response;
    try {
      res = await fetch(`${this.url}/tts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
    } catch (e) {
      if (signal.aborted) throw abortError(signal);
      throw this.unreachable(networkReason(e));
    }
    if (!res.ok) throw new TtsEngineError(`GPT-SoVITS refused the sentence (HTTP ${res.status}): ${await errorText(res)}`);
    if (!res.body) throw new TtsEngineError('GPT-SoVITS sent no audio');
    const wav = new WavStream();
    let bytes = 0;
    try {
      for await (const piece of res.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += piece.length;
        const samples = wav.push(piece);
        if (samples.length > 0) yield { samples, sampleRate: wav.sampleRate! };
      }
    } catch (e) {
      if (signal.aborted) throw abortError(signal);
      if (e instanceof TtsEngineError) throw e;
      const msg = (e as Error).message;
      const what =
        (e as Error).name === 'AudioFormatError'
          ? msg
          : bytes === 0
            ? `the server failed before sending audio (${msg}): see its console; a wrong tts.gptSovits.refAudioPath or language is the usual cause`
            : `the stream broke after ${bytes} bytes (${msg})`;
      throw new TtsEngineError(`GPT-SoVITS: ${what}`);
    }
    if (!wav.started) throw new TtsEngineError(`GPT-SoVITS sent ${bytes} bytes and no WAV audio`);
  }

  async dispose(): Promise<void> {}
}

/** The server's reason: JSON { message, Exception } (400), { detail } (422), or the text itself. */
async function errorText(res: Response): Promise<string> {
  const raw = await res.text().catch(() => '');
  try {
    const j = JSON.parse(raw) as { message?: unknown; Exception?: unknown; detail?: unknown };
    if (typeof j.message === 'string') return typeof j.Exception === 'string' ? `${j.message} (${j.Exception})` : j.message;
    if (Array.isArray(j.detail)) {
      return j.detail
        .map((d: { loc?: unknown[]; msg?: string }) => `${(d.loc ?? []).join('.')}: ${d.msg ?? ''}`)
        .slice(0, 3)
        .join('; ');
    }
    if (typeof j.detail === 'string') return j.detail;
  } catch {
    // not JSON
  }
  return raw.slice(0, 200) || res.statusText;
}
