/**
 * A local stand-in for GPT-SoVITS's `api_v2.py` server (RVC-Boss/GPT-SoVITS), speaking its wire
 * protocol so the tts engine can be tested without the model:
 *
 *   GET /tts?text=..&text_lang=..&ref_audio_path=..&prompt_lang=..[&prompt_text&media_type&streaming_mode&speed_factor..]
 *   POST /tts  JSON with the same fields (a body of the wrong shape: 422 { detail: [...] } like FastAPI)
 *   success    200, `audio/{media_type}`: a whole WAV (or raw PCM) when not streaming; when streaming,
 *              one WAV header whose sizes are 0 (Python's `wave` with no frames) for media_type wav,
 *              then raw 16-bit PCM fragments
 *   errors     400 { message } from check_params (ref_audio_path / text / text_lang / prompt_lang
 *              required, languages of the model version, media_type wav|raw|ogg|aac, text_split_method
 *              cut0..cut5, streaming_mode 0-3 or a bool), 400 { message: 'tts failed', Exception } when
 *              inference fails before answering (non-streaming); when streaming, inference failures
 *              happen after the 200 is sent: the connection just breaks
 *   GET /control without command: 400 { message: 'command is required' }; anything else: 404 { detail: 'Not Found' }
 * The "voice" is a synthetic vowel-like signal at the model's rate (32 kHz for v2), ~70 ms per
 * character (shorter with speed_factor). Knobs for latency, fragment size/pace and faults.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeWav, floatToS16, wavHeader } from '../../src/workers/audio/pcm.js';

/** Languages `tts_config.languages` lists for a v2 model. */
export const SOVITS_V2_LANGUAGES = ['auto', 'auto_yue', 'en', 'zh', 'ja', 'yue', 'ko', 'all_zh', 'all_ja', 'all_yue', 'all_ko'];
const CUT_METHODS = ['cut0', 'cut1', 'cut2', 'cut3', 'cut4', 'cut5'];

export interface GptSovitsServerOptions {
  /** Model output rate (v1/v2 32000, v3 24000, v4 48000). */
  sampleRate?: number;
  /** Reference audio paths that "exist" on the server; others fail inference. Default: any path. */
  refAudioPaths?: string[];
  languages?: string[];
  /** Delay before the first byte (model warm-up / first fragment latency). */
  firstByteDelayMs?: number;
  /** Streaming: bytes of PCM per fragment (default 12800 = 200 ms at 32 kHz) and the gap between fragments. */
  fragmentBytes?: number;
  fragmentIntervalMs?: number;
  /** Streaming: break the connection after this many PCM fragments. */
  breakAfterFragments?: number;
  /** Inference fails with this exception text (400 when not streaming, a broken stream when streaming). */
  failWith?: string;
}

export interface SovitsRequest {
  method: string;
  path: string;
  params: Record<string, unknown>;
  status?: number;
  fragments: number;
  /** The client closed the connection before the answer was complete. */
  aborted: boolean;
  receivedAt: number;
  endedAt?: number;
}

export interface GptSovitsServer {
  url: string;
  port: number;
  requests: SovitsRequest[];
  setOptions(o: Partial<GptSovitsServerOptions>): void;
  close(): Promise<void>;
}

/** The stand-in's "speech": a 140 Hz buzz through a slow vowel-like amplitude contour. */
export function sovitsVoice(text: string, rate: number, speed = 1): Float32Array {
  const n = Math.max(rate / 5, Math.round((rate * 0.07 * [...text].length) / speed));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const syll = 0.5 + 0.5 * Math.sin(2 * Math.PI * 4 * t);
    const fade = Math.min(1, i / 320, (n - 1 - i) / 320);
    out[i] = 0.35 * fade * syll * (Math.sin(2 * Math.PI * 140 * t) + 0.5 * Math.sin(2 * Math.PI * 280 * t) + 0.25 * Math.sin(2 * Math.PI * 700 * t)) / 1.75;
  }
  return out;
}

export async function startGptSovitsServer(initial: GptSovitsServerOptions = {}): Promise<GptSovitsServer> {
  let opts: GptSovitsServerOptions = { ...initial };
  const requests: SovitsRequest[] = [];

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const rec: SovitsRequest = { method: req.method ?? 'GET', path: url.pathname, params: {}, fragments: 0, aborted: false, receivedAt: performance.now() };
    requests.push(rec);
    const timers = new Set<NodeJS.Timeout>();
    res.on('close', () => {
      for (const t of timers) clearTimeout(t);
      if (!res.writableFinished) rec.aborted = true;
      rec.endedAt = performance.now();
    });
    const later = (ms: number | undefined, fn: () => void) => {
      if (!ms) return fn();
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    };
    const json = (status: number, body: unknown) => {
      rec.status = status;
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const o = opts;
      if (rec.path === '/control' && rec.method === 'GET' && !url.searchParams.get('command')) return json(400, { message: 'command is required' });
      if (rec.path !== '/tts' || (rec.method !== 'GET' && rec.method !== 'POST')) return json(404, { detail: 'Not Found' });
      let p: Record<string, unknown>;
      if (rec.method === 'POST') {
        const raw = Buffer.concat(chunks).toString('utf8');
        try {
          p = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          return json(422, { detail: [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {}, ctx: { error: 'Expecting value' } }] });
        }
        const bad = typeErrors(p);
        if (bad.length) return json(422, { detail: bad });
      } else {
        p = Object.fromEntries(url.searchParams);
        // api_v2's GET lower-cases text_lang / prompt_lang unconditionally: a missing one is a 500.
        if (p.text_lang === undefined || p.prompt_lang === undefined) {
          rec.status = 500;
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          return res.end('Internal Server Error');
        }
        if (p.streaming_mode !== undefined) p.streaming_mode = p.streaming_mode === 'true' ? true : p.streaming_mode === 'false' ? false : Number(p.streaming_mode);
        if (p.speed_factor !== undefined) p.speed_factor = Number(p.speed_factor);
      }
      rec.params = p;
      const langs = o.languages ?? SOVITS_V2_LANGUAGES;
      const str = (k: string) => (typeof p[k] === 'string' ? (p[k] as string) : '');
      if (!str('ref_audio_path')) return json(400, { message: 'ref_audio_path is required' });
      if (!str('text')) return json(400, { message: 'text is required' });
      if (!str('text_lang')) return json(400, { message: 'text_lang is required' });
      if (!langs.includes(str('text_lang').toLowerCase())) return json(400, { message: `text_lang: ${str('text_lang')} is not supported in version v2` });
      if (!str('prompt_lang')) return json(400, { message: 'prompt_lang is required' });
      if (!langs.includes(str('prompt_lang').toLowerCase())) return json(400, { message: `prompt_lang: ${str('prompt_lang')} is not supported in version v2` });
      const media = p.media_type === undefined ? 'wav' : str('media_type');
      if (!['wav', 'raw', 'ogg', 'aac'].includes(media)) return json(400, { message: `media_type: ${media} is not supported` });
      if (media === 'ogg' || media === 'aac') return json(400, { message: `media_type: ${media} is not produced by the stand-in (use wav or raw)` });
      const split = p.text_split_method === undefined ? 'cut5' : str('text_split_method');
      if (!CUT_METHODS.includes(split)) return json(400, { message: `text_split_method:${split} is not supported` });
      const sm = p.streaming_mode ?? false;
      if (!(sm === true || sm === false || sm === 0 || sm === 1 || sm === 2 || sm === 3)) {
        return json(400, { message: 'the value of streaming_mode must be 0, 1, 2, 3(int) or true/false(bool)' });
      }
      const streaming = sm !== false && sm !== 0;
      const rate = o.sampleRate ?? 32000;
      const failure = o.failWith ?? (o.refAudioPaths && !o.refAudioPaths.includes(str('ref_audio_path')) ? `[Errno 2] No such file or directory: '${str('ref_audio_path')}'` : undefined);
      const speed = typeof p.speed_factor === 'number' && p.speed_factor > 0 ? p.speed_factor : 1;
      const samples = sovitsVoice(str('text'), rate, speed);
      later(o.firstByteDelayMs, () => {
        if (res.destroyed) return;
        if (!streaming) {
          if (failure) return json(400, { message: 'tts failed', Exception: failure });
          rec.status = 200;
          const body = media === 'wav' ? encodeWav({ samples, sampleRate: rate }) : floatToS16(samples);
          res.writeHead(200, { 'content-type': `audio/${media}`, 'content-length': body.length });
          return res.end(body);
        }
        rec.status = 200;
        res.writeHead(200, { 'content-type': `audio/${media}`, 'transfer-encoding': 'chunked' });
        if (failure) {
          // Inference runs inside the streaming generator: the error surfaces after the 200.
          res.flushHeaders();
          return later(5, () => res.destroy());
        }
        if (media === 'wav') res.write(wavHeader(rate, 0));
        const pcm = floatToS16(samples);
        const size = o.fragmentBytes ?? Math.round(rate * 0.2) * 2;
        let off = 0;
        const step = () => {
          if (res.destroyed) return;
          if (o.breakAfterFragments !== undefined && rec.fragments >= o.breakAfterFragments) return void res.destroy();
          if (off >= pcm.length) return void res.end();
          res.write(pcm.subarray(off, off + size));
          off += size;
          rec.fragments++;
          later(o.fragmentIntervalMs, step);
        };
        step();
      });
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setOptions(o) {
      opts = { ...opts, ...o };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Pydantic-style type errors for the POST body of TTS_Request. */
function typeErrors(p: Record<string, unknown>): Array<{ type: string; loc: string[]; msg: string; input: unknown }> {
  const errs: Array<{ type: string; loc: string[]; msg: string; input: unknown }> = [];
  const strings = ['text', 'text_lang', 'ref_audio_path', 'prompt_lang', 'prompt_text', 'text_split_method', 'media_type'];
  const numbers = ['top_k', 'top_p', 'temperature', 'batch_size', 'batch_threshold', 'speed_factor', 'fragment_interval', 'seed', 'repetition_penalty', 'sample_steps', 'overlap_length', 'min_chunk_length'];
  for (const k of strings) if (p[k] !== undefined && p[k] !== null && typeof p[k] !== 'string') errs.push({ type: 'string_type', loc: ['body', k], msg: 'Input should be a valid string', input: p[k] });
  for (const k of numbers) if (p[k] !== undefined && typeof p[k] !== 'number') errs.push({ type: 'float_parsing', loc: ['body', k], msg: 'Input should be a valid number', input: p[k] });
  return errs;
}
