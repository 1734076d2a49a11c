/**
 * A local OpenAI-compatible stand-in for tests: a real node:http server on 127.0.0.1 speaking the wire
 * protocol the real `openai` SDK uses (JSON, SSE streams, multipart uploads, chunked audio), with
 * knobs for timing and faults. Every request is recorded (headers, parsed body, whether the client
 * aborted it) so tests can assert what the client really sent and that a barge-in really closed the
 * HTTP request.
 *
 *   const ai = await startOpenAiServer({ reply: 'Hello there. How are you?', firstTokenDelayMs: 200 });
 *   const client = new OpenAI({ baseURL: ai.url, apiKey: 'x' });
 *   ...
 *   await ai.close();
 *
 * Endpoints: POST /v1/chat/completions (JSON or SSE), GET /v1/models, POST /v1/audio/transcriptions
 * (multipart), POST /v1/audio/speech (pcm / wav, chunked), POST /v1/embeddings (float or base64).
 * Faults (`status`, `hangAfterHeaders`, `garbage`, `requireApiKey`, `models`) apply to every POST
 * endpoint (and GET /v1/models with `faultsOnModels`); `brokenStreamAfter` to chat streams and speech bodies.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeWav, floatToS16 } from '../../src/workers/audio/pcm.js';

export interface ChatMessageIn {
  role: string;
  content?: unknown;
  [k: string]: unknown;
}

/** The reply text, or explicit stream pieces (an array is sent one element per chunk, as given). */
export type ReplySource = string | string[] | ((messages: ChatMessageIn[], body: Record<string, unknown>) => string | string[]);

export interface TranscriptInfo {
  model: string;
  language?: string;
  filename?: string;
  prompt?: string;
}

export interface OpenAiServerOptions {
  /** Chat reply (default 'Hello! This is the test server.'). Strings are tokenised into words / CJK chars. */
  reply?: ReplySource;
  /** Delay before the first content chunk (streams) or before the whole answer (non-streaming). */
  firstTokenDelayMs?: number;
  /** Gap between content chunks; wins over tokensPerSecond. 0 (default) sends them back to back. */
  tokenIntervalMs?: number;
  tokensPerSecond?: number;
  /** Answer every POST with this HTTP status and an OpenAI-style error body (4xx/5xx). */
  status?: number;
  /** Error message for `status` (a sensible default per status otherwise). */
  errorMessage?: string;
  /** Chat streams: after this many content chunks the stream breaks (see brokenStreamMode). Speech: after this many body chunks. */
  brokenStreamAfter?: number;
  /** 'invalid-json' (default): a `data:` line that is not JSON, then the body ends. 'destroy': the socket is destroyed. */
  brokenStreamMode?: 'invalid-json' | 'destroy';
  /** A 200 whose body is not what the protocol promises: `true` sends an HTML page, a string sends that string. */
  garbage?: boolean | string;
  /** Content type of the garbage body (default text/html). */
  garbageContentType?: string;
  /** Send 200 and the headers, then nothing until the client gives up. */
  hangAfterHeaders?: boolean;
  /** Demand `Authorization: Bearer <key>`; anything else gets OpenAI's 401 body. */
  requireApiKey?: string;
  /** `status`, `garbage` and `hangAfterHeaders` apply to GET /v1/models too (default: POST endpoints only). */
  faultsOnModels?: boolean;
  /** Known model ids: GET /v1/models lists them, and a POST naming another model gets a 404 model_not_found. */
  models?: string[];
  /** Transcription text (default 'hello world'). */
  transcript?: string | ((file: Buffer, info: TranscriptInfo) => string);
  /** Speech audio at 24 kHz mono (default: a 220 Hz tone, ~60 ms per character). */
  speech?: (text: string, voice: string) => Float32Array;
  /** Bytes per speech body chunk (default: the whole body in one write). */
  speechChunkBytes?: number;
  /** Gap between speech chunks (default 0). */
  speechChunkIntervalMs?: number;
  /** Delay before the first speech byte (default 0). */
  speechFirstByteDelayMs?: number;
  /** Embedding dimension when the request names none (default 64). */
  embeddingDim?: number;
  /** Replaces one text's embedding (default hashEmbedding(text, dim)): lets a test send wrong lengths or non-numbers. */
  embeddingFor?: (text: string, dim: number) => unknown;
  /** Model id echoed in answers when the request names none (default 'test-model'). */
  model?: string;
  /** Port to listen on (default: a free one). Lets a test stop the server and start it again at the same URL. */
  port?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Lower-cased header names, as Node parses them. */
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON (or the multipart fields, with the file under `file`), undefined for GET. */
  body: Record<string, unknown> | undefined;
  /** Multipart uploads: the file bytes and name. */
  file?: { bytes: Buffer; name: string; type: string };
  /** performance.now() when the request arrived / when the first body byte was written / when it ended. */
  receivedAt: number;
  firstByteAt?: number;
  endedAt?: number;
  /** Content chunks (chat) or body chunks (speech) written. */
  chunksSent: number;
  /** The HTTP status sent. */
  status?: number;
  /** The server finished the response normally. */
  completed: boolean;
  /** The client closed the connection before the response was complete. */
  aborted: boolean;
}

export interface OpenAiServer {
  /** Base URL ending in /v1, for `new OpenAI({ baseURL })`. */
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Changes options for later requests (merged into the current ones; `undefined` values clear). */
  setOptions(partial: Partial<OpenAiServerOptions>): void;
  /** Resolves with the first recorded request matching `pred` (now or later); rejects after timeoutMs. */
  waitFor(pred: (r: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

const CJK = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}\u3000-\u303f\uff00-\uffef';
const TOKEN_RE = new RegExp(`[${CJK}]|[^\\s${CJK}]+\\s*|\\s+`, 'gu');

/** Splits text into stream pieces the way a tokenizer roughly would: words with their trailing space, one CJK character each. */
export function tokenize(text: string): string[] {
  return text.match(TOKEN_RE) ?? [];
}

/** 24 kHz tone burst with a short fade in/out; length scales with the text. */
export function defaultSpeech(text: string): Float32Array {
  const n = Math.max(4800, Math.round(24_000 * 0.06 * [...text].length));
  const out = new Float32Array(n);
  const fade = 240;
  for (let i = 0; i < n; i++) {
    const g = Math.min(1, i / fade, (n - 1 - i) / fade);
    out[i] = 0.3 * g * Math.sin((2 * Math.PI * 220 * i) / 24_000);
  }
  return out;
}

/** Deterministic embedding: hashed bag of lower-cased words (FNV-1a, signed buckets), L2-normalised. */
export function hashEmbedding(text: string, dim: number): number[] {
  const v = new Array<number>(dim).fill(0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    let h = 0x811c9dc5;
    for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193) >>> 0;
    v[h % dim]! += h & 0x80000000 ? -1 : 1;
  }
  const norm = Math.hypot(...v);
  return norm > 0 ? v.map((x) => x / norm) : v;
}

const DEFAULT_ERRORS: Record<number, { message: string; type: string; code: string | null }> = {
  400: { message: 'Bad request.', type: 'invalid_request_error', code: null },
  401: { message: 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.', type: 'invalid_request_error', code: 'invalid_api_key' },
  403: { message: 'You are not allowed to use this model.', type: 'invalid_request_error', code: 'model_not_allowed' },
  404: { message: 'The model does not exist or you do not have access to it.', type: 'invalid_request_error', code: 'model_not_found' },
  429: { message: 'Rate limit reached. Please try again later.', type: 'requests', code: 'rate_limit_exceeded' },
  500: { message: 'The server had an error while processing your request.', type: 'server_error', code: null },
  503: { message: 'The engine is currently overloaded, please try again later.', type: 'server_error', code: null },
};

const GARBAGE_HTML = '<!DOCTYPE html><html><head><title>Welcome</title></head><body><h1>It works!</h1></body></html>\n';

export async function startOpenAiServer(initial: OpenAiServerOptions = {}): Promise<OpenAiServer> {
  let opts: OpenAiServerOptions = { ...initial };
  const requests: RecordedRequest[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const changed = () => events.emit('change');
  let seq = 0;

  const server = http.createServer((req, res) => {
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0]!,
      headers: req.headers,
      body: undefined,
      receivedAt: performance.now(),
      chunksSent: 0,
      completed: false,
      aborted: false,
    };
    requests.push(rec);
    const timers = new Set<NodeJS.Timeout>();
    res.on('close', () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      if (!res.writableFinished) rec.aborted = true;
      rec.endedAt = performance.now();
      changed();
    });
    res.on('finish', () => {
      rec.completed = true;
      changed();
    });
    const ctx: Ctx = {
      req,
      res,
      rec,
      o: opts,
      closed: () => res.destroyed || res.writableEnded,
      later: (ms, fn) => {
        if (!ms || ms <= 0) return fn();
        const t = setTimeout(() => {
          timers.delete(t);
          fn();
        }, ms);
        timers.add(t);
      },
      id: `chatcmpl-test${++seq}`,
      changed,
    };
    readBody(req)
      .then((raw) => route(ctx, raw))
      .catch((err: unknown) => {
        if (!res.headersSent) sendError(ctx, 400, err instanceof Error ? err.message : String(err));
        else res.destroy();
      })
      .finally(changed);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(initial.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    setOptions(partial) {
      opts = { ...opts, ...partial };
    },
    waitFor(pred, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = requests.find(pred);
          if (!hit) return false;
          cleanup();
          resolve(hit);
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`openai-server: no matching request within ${timeoutMs} ms (${requests.length} recorded)`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          events.off('change', check);
        };
        if (!check()) events.on('change', check);
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Ctx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  rec: RecordedRequest;
  /** Options as they were when the request arrived. */
  o: OpenAiServerOptions;
  closed(): boolean;
  later(ms: number | undefined, fn: () => void): void;
  id: string;
  /** Wakes waitFor() (after each chunk sent). */
  changed(): void;
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function route(ctx: Ctx, raw: Buffer): Promise<void> {
  const { rec, o } = ctx;
  const ct = String(ctx.req.headers['content-type'] ?? '');
  if (rec.method === 'POST') {
    if (ct.startsWith('multipart/form-data')) await parseMultipart(ctx, raw, ct);
    else if (raw.length) {
      try {
        rec.body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        return sendError(ctx, 400, 'We could not parse the JSON body of your request.');
      }
    } else rec.body = {};
  }
  if (o.requireApiKey !== undefined && ctx.req.headers.authorization !== `Bearer ${o.requireApiKey}`) {
    return sendError(ctx, 401);
  }
  const listModels = rec.method === 'GET' && rec.path === '/v1/models';
  if (listModels && !o.faultsOnModels) return models(ctx);
  const handler = listModels ? models : POST_ROUTES[rec.path];
  if ((rec.method !== 'POST' && !listModels) || !handler) {
    return sendJson(ctx, 404, { error: { message: `Invalid URL (${rec.method} ${rec.path})`, type: 'invalid_request_error', param: null, code: null } });
  }
  if (o.status !== undefined && o.status >= 400) return sendError(ctx, o.status);
  const model = typeof rec.body?.model === 'string' ? rec.body.model : undefined;
  if (o.models && model !== undefined && !o.models.includes(model)) {
    return sendError(ctx, 404, `The model \`${model}\` does not exist or you do not have access to it.`);
  }
  if (o.hangAfterHeaders) {
    ctx.res.writeHead(200, { 'content-type': rec.path === '/v1/chat/completions' && rec.body?.stream ? 'text/event-stream' : 'application/json' });
    ctx.res.flushHeaders();
    rec.status = 200;
    return; // nothing more until the client closes; close() destroys it otherwise
  }
  if (o.garbage) {
    rec.status = 200;
    ctx.res.writeHead(200, { 'content-type': o.garbageContentType ?? 'text/html; charset=utf-8' });
    rec.firstByteAt = performance.now();
    ctx.res.end(typeof o.garbage === 'string' ? o.garbage : GARBAGE_HTML);
    return;
  }
  handler(ctx);
}

const POST_ROUTES: Record<string, (ctx: Ctx) => void> = {
  '/v1/chat/completions': chat,
  '/v1/audio/transcriptions': transcription,
  '/v1/audio/speech': speech,
  '/v1/embeddings': embeddings,
};

function sendJson(ctx: Ctx, status: number, body: unknown): void {
  if (ctx.closed()) return;
  ctx.rec.status = status;
  const text = JSON.stringify(body);
  ctx.res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  ctx.rec.firstByteAt = performance.now();
  ctx.res.end(text);
}

function sendError(ctx: Ctx, status: number, message?: string): void {
  const d = DEFAULT_ERRORS[status] ?? { message: `HTTP ${status}`, type: 'server_error', code: null };
  sendJson(ctx, status, { error: { message: message ?? ctx.o.errorMessage ?? d.message, type: d.type, param: null, code: d.code } });
}

function models(ctx: Ctx): void {
  const ids = ctx.o.models ?? [ctx.o.model ?? 'test-model'];
  sendJson(ctx, 200, { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'test' })) });
}

function replyPieces(ctx: Ctx): string[] {
  const body = ctx.rec.body ?? {};
  const messages = Array.isArray(body.messages) ? (body.messages as ChatMessageIn[]) : [];
  const src = ctx.o.reply ?? 'Hello! This is the test server.';
  const out = typeof src === 'function' ? src(messages, body) : src;
  return typeof out === 'string' ? tokenize(out) : out;
}

function chat(ctx: Ctx): void {
  const { o, rec, res } = ctx;
  const body = rec.body ?? {};
  const model = typeof body.model === 'string' ? body.model : (o.model ?? 'test-model');
  const created = Math.floor(Date.now() / 1000);
  const pieces = replyPieces(ctx);
  if (!body.stream) {
    ctx.later(o.firstTokenDelayMs, () => {
      const content = pieces.join('');
      sendJson(ctx, 200, {
        id: ctx.id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
        usage: { prompt_tokens: 10, completion_tokens: pieces.length, total_tokens: 10 + pieces.length },
      });
    });
    return;
  }
  rec.status = 200;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
  const chunk = (delta: Record<string, unknown>, finish: string | null) =>
    `data: ${JSON.stringify({ id: ctx.id, object: 'chat.completion.chunk', created, model, system_fingerprint: null, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  const interval = o.tokenIntervalMs ?? (o.tokensPerSecond ? 1000 / o.tokensPerSecond : 0);
  const broken = o.brokenStreamAfter;
  let i = 0;
  const step = () => {
    if (ctx.closed()) return;
    if (broken !== undefined && i >= broken) {
      if (o.brokenStreamMode === 'destroy') res.destroy();
      else res.end('data: {"id":"broken","choices":[{"delta":{"content":"oops"\n\n');
      return;
    }
    if (i >= pieces.length) {
      res.write(chunk({}, 'stop'));
      const so = body.stream_options as { include_usage?: boolean } | undefined;
      if (so?.include_usage) {
        res.write(`data: ${JSON.stringify({ id: ctx.id, object: 'chat.completion.chunk', created, model, choices: [], usage: { prompt_tokens: 10, completion_tokens: pieces.length, total_tokens: 10 + pieces.length } })}\n\n`);
      }
      res.end('data: [DONE]\n\n');
      return;
    }
    res.write(chunk({ content: pieces[i] }, null));
    rec.chunksSent++;
    ctx.changed();
    i++;
    if (interval > 0) ctx.later(interval, step);
    else step();
  };
  ctx.later(o.firstTokenDelayMs, () => {
    if (ctx.closed()) return;
    rec.firstByteAt = performance.now();
    res.write(chunk({ role: 'assistant', content: '' }, null));
    step();
  });
}

async function parseMultipart(ctx: Ctx, raw: Buffer, contentType: string): Promise<void> {
  // Node's built-in undici (the fetch implementation) parses multipart/form-data per the spec.
  const form = await new Request('http://local/', { method: 'POST', headers: { 'content-type': contentType }, body: raw }).formData();
  const body: Record<string, unknown> = {};
  for (const [key, value] of form.entries()) {
    if (typeof value === 'string') body[key] = value;
    else {
      const bytes = Buffer.from(await value.arrayBuffer());
      ctx.rec.file = { bytes, name: value.name, type: value.type };
      body[key] = { name: value.name, type: value.type, size: bytes.length };
    }
  }
  ctx.rec.body = body;
}

function transcription(ctx: Ctx): void {
  const { rec, o } = ctx;
  const b = rec.body ?? {};
  if (!rec.file) return sendError(ctx, 400, "You must provide a 'file' field (multipart/form-data).");
  if (typeof b.model !== 'string') return sendError(ctx, 400, "You must provide a 'model' field.");
  const info: TranscriptInfo = {
    model: b.model,
    language: typeof b.language === 'string' ? b.language : undefined,
    filename: rec.file.name,
    prompt: typeof b.prompt === 'string' ? b.prompt : undefined,
  };
  const text = typeof o.transcript === 'function' ? o.transcript(rec.file.bytes, info) : (o.transcript ?? 'hello world');
  ctx.later(o.firstTokenDelayMs, () => {
    const format = typeof b.response_format === 'string' ? b.response_format : 'json';
    if (format === 'text') {
      if (ctx.closed()) return;
      rec.status = 200;
      ctx.res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      rec.firstByteAt = performance.now();
      ctx.res.end(text);
    } else if (format === 'verbose_json') {
      sendJson(ctx, 200, { task: 'transcribe', language: info.language ?? 'english', duration: 0, text, segments: [] });
    } else sendJson(ctx, 200, { text });
  });
}

function speech(ctx: Ctx): void {
  const { rec, o, res } = ctx;
  const b = rec.body ?? {};
  if (typeof b.input !== 'string' || b.input.length === 0) return sendError(ctx, 400, "'input' must be a non-empty string.");
  const format = typeof b.response_format === 'string' ? b.response_format : 'mp3';
  if (format !== 'pcm' && format !== 'wav') {
    return sendError(ctx, 400, `response_format '${format}' is not produced by the test server (use pcm or wav).`);
  }
  const voice = typeof b.voice === 'string' ? b.voice : 'alloy';
  let samples = (o.speech ?? defaultSpeech)(b.input, voice);
  const speed = typeof b.speed === 'number' && b.speed > 0 ? b.speed : 1;
  if (speed !== 1 && !o.speech) samples = samples.subarray(0, Math.max(1, Math.round(samples.length / speed)));
  const data = format === 'wav' ? encodeWav({ samples, sampleRate: 24_000 }, { streaming: true }) : floatToS16(samples);
  rec.status = 200;
  res.writeHead(200, { 'content-type': format === 'wav' ? 'audio/wav' : 'audio/pcm', 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  const size = o.speechChunkBytes && o.speechChunkBytes > 0 ? o.speechChunkBytes : data.length;
  let off = 0;
  const step = () => {
    if (ctx.closed()) return;
    if (o.brokenStreamAfter !== undefined && rec.chunksSent >= o.brokenStreamAfter) return void res.destroy();
    if (off >= data.length) return void res.end();
    rec.firstByteAt ??= performance.now();
    res.write(data.subarray(off, off + size));
    off += size;
    rec.chunksSent++;
    ctx.changed();
    if (o.speechChunkIntervalMs && off < data.length) ctx.later(o.speechChunkIntervalMs, step);
    else step();
  };
  ctx.later(o.speechFirstByteDelayMs ?? o.firstTokenDelayMs, step);
}

function embeddings(ctx: Ctx): void {
  const { rec, o } = ctx;
  const b = rec.body ?? {};
  const inputs = typeof b.input === 'string' ? [b.input] : Array.isArray(b.input) && b.input.every((x) => typeof x === 'string') ? (b.input as string[]) : undefined;
  if (!inputs) return sendError(ctx, 400, "'input' must be a string or an array of strings.");
  const dim = typeof b.dimensions === 'number' && b.dimensions > 0 ? b.dimensions : (o.embeddingDim ?? 64);
  const base64 = b.encoding_format === 'base64';
  const data = inputs.map((text, index) => {
    const v = o.embeddingFor ? o.embeddingFor(text, dim) : hashEmbedding(text, dim);
    const embedding = base64 && Array.isArray(v) ? Buffer.from(new Float32Array(v as number[]).buffer).toString('base64') : v;
    return { object: 'embedding', index, embedding };
  });
  const model = typeof b.model === 'string' ? b.model : (o.model ?? 'test-model');
  const tokens = inputs.reduce((n, t) => n + tokenize(t).length, 0);
  ctx.later(o.firstTokenDelayMs, () => sendJson(ctx, 200, { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } }));
}
