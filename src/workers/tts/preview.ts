/**
 * The studio's voice preview and voice list (`fav:tts:admin`, src/shared/speech-admin.ts).
 *
 * A preview speaks the page's unsaved choice (engine, voice, rate) with an engine of its own, built
 * for that request and disposed after it, so the service's engine and its turns are not touched. It
 * is bounded: the text by the schema, the audio at PREVIEW_MAX_AUDIO_MS (cut there), the time by
 * `timeoutMs` (the synthesis is aborted). The answer is one 16-bit mono WAV, or a failure with a
 * stable code, the engine's message and what to do.
 */
import { spawn } from 'node:child_process';
import type { Config } from '../../shared/config.js';
import { PREVIEW_MAX_AUDIO_MS, type TtsAdminReply, type TtsEngineVoices, type TtsPreviewBody } from '../../shared/speech-admin.js';
import { encodeWav, resample } from '../audio/pcm.js';
import { createEngine, defaultVoice, TtsEngineError, type TtsEngine } from './engine.js';
import { FLITE_VOICES } from './engines/flite.js';

export type PreviewAnswer = Omit<TtsAdminReply, 'request_id'>;

export interface PreviewOptions {
  /** The synthesis is aborted after this long, ms. */
  timeoutMs?: number;
  maxAudioMs?: number;
  /** Builds the engine (tests inject one). */
  makeEngine?: (settings: Config) => Promise<TtsEngine>;
}

/** What the page shows for a failure code (the engine's own message says the specifics). */
const FIXES: Record<string, string> = {
  tts_unavailable: 'the engine cannot run here: do what the message says, or choose another engine',
  tts_failed: 'try another voice, or check the engine\'s settings (its server URL and model)',
  timeout: 'the engine took too long: check that its server is running and reachable, or try a shorter text',
};

export async function preview(settings: Config, body: TtsPreviewBody, o: PreviewOptions = {}): Promise<PreviewAnswer> {
  const tts = { ...settings.tts, engine: body.engine, voice: body.voice, rate: body.rate };
  const voice = defaultVoice(tts);
  const timeoutMs = o.timeoutMs ?? 20_000;
  const maxAudioMs = o.maxAudioMs ?? PREVIEW_MAX_AUDIO_MS;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`no audio within ${timeoutMs / 1000} s`)), timeoutMs);
  let engine: TtsEngine | undefined;
  try {
    engine = await (o.makeEngine ?? createEngine)({ ...settings, tts });
    await abortable(engine.init(), ac.signal);
    const pieces: Float32Array[] = [];
    let rate: number | undefined;
    let samples = 0;
    let truncated = false;
    for await (const piece of engine.synthesize(body.text, { voice, rate: body.rate, signal: ac.signal })) {
      // Engines keep one rate per sentence; resampled anyway should one ever change mid-way.
      rate ??= piece.sampleRate;
      const s = piece.sampleRate === rate ? piece.samples : resample(piece.samples, piece.sampleRate, rate);
      const room = Math.floor((maxAudioMs / 1000) * rate) - samples;
      pieces.push(s.length > room ? s.subarray(0, Math.max(0, room)) : s);
      samples += Math.min(s.length, Math.max(0, room));
      if (s.length > room) {
        truncated = true;
        ac.abort(new Error('preview long enough'));
        break;
      }
    }
    if (!rate || samples === 0) return failure('tts_failed', `${body.engine} produced no audio for this text`);
    const all = new Float32Array(samples);
    let at = 0;
    for (const p of pieces) {
      all.set(p, at);
      at += p.length;
    }
    const wav = encodeWav({ samples: all, sampleRate: rate });
    return { ok: true, wav_b64: wav.toString('base64'), duration_ms: Math.round((samples / rate) * 1000), ...(truncated ? { truncated } : {}) };
  } catch (e) {
    if (ac.signal.aborted && !(e instanceof TtsEngineError)) return failure('timeout', `${body.engine} gave no audio within ${timeoutMs / 1000} s`);
    const message = (e as Error).message;
    return failure(e instanceof TtsEngineError ? e.code : 'tts_failed', message);
  } finally {
    clearTimeout(timer);
    await engine?.dispose().catch(() => undefined);
  }
}

function failure(code: string, error: string): PreviewAnswer {
  return { ok: false, code, error, fix: FIXES[code] ?? FIXES.tts_failed };
}

/** Rejects when the signal aborts first (an init waiting on a server that does not answer). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A few of Edge's many neural voices; any other name of the form xx-YY-NameNeural works. */
export const EDGE_VOICES = ['en-US-AriaNeural', 'en-US-GuyNeural', 'en-GB-SoniaNeural', 'zh-CN-XiaoxiaoNeural', 'zh-CN-YunxiNeural', 'ja-JP-NanamiNeural'];
/** OpenAI's voices, and Kokoro's default (Kokoro-FastAPI serves many more). */
export const OPENAI_VOICES = ['alloy', 'echo', 'fable', 'onyx', 'nova', 'shimmer', 'af_heart'];

/** Every engine's voices, with what each needs to run. espeak-ng's list comes from the program itself. */
export async function listVoices(settings: Config, espeakBin = 'espeak-ng'): Promise<TtsEngineVoices[]> {
  const def = (engine: Config['tts']['engine']) => defaultVoice({ ...settings.tts, engine, voice: '' });
  const espeak = await espeakVoices(espeakBin);
  return [
    { engine: 'flite', defaultVoice: def('flite'), voices: [...FLITE_VOICES], freeText: false, network: 'none' },
    { engine: 'espeak-ng', defaultVoice: def('espeak-ng'), voices: espeak.voices, freeText: false, network: 'none', ...(espeak.problem ? { problem: espeak.problem } : {}) },
    { engine: 'edge', defaultVoice: def('edge'), voices: EDGE_VOICES, freeText: true, network: 'internet' },
    { engine: 'openai', defaultVoice: def('openai'), voices: OPENAI_VOICES, freeText: true, network: 'server' },
    { engine: 'gpt-sovits', defaultVoice: def('gpt-sovits'), voices: ['default'], freeText: true, network: 'server' },
  ];
}

/** `espeak-ng --voices`: the language column is the name `-v` takes. */
export function espeakVoices(bin: string, timeoutMs = 5000): Promise<{ voices: string[]; problem?: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin, ['--voices'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: timeoutMs });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.once('error', (e) =>
      resolve({ voices: [], problem: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'espeak-ng is not installed: apt install espeak-ng' : `espeak-ng --voices failed: ${e.message}` }),
    );
    child.once('close', (code) => {
      if (code !== 0) return resolve({ voices: [], problem: `espeak-ng --voices failed (exit code ${code})` });
      const voices = out
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/)[1])
        .filter((v): v is string => !!v);
      resolve({ voices: [...new Set(voices)].sort() });
    });
  });
}
