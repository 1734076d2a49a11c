/**
 * The LLM section's two checks, run by the gateway against the endpoint the form names (unsaved
 * values over the saved ones): the endpoint's model list (GET /models) and one short streamed prompt
 * with its time to first token. Plain fetch and a small SSE reader rather than the SDK: the point is
 * to tell apart every way it fails (nothing listening, a web page instead of the API, a refused key,
 * a model the server does not have, no answer in time) and to say what to do about each.
 */
import { LLM_PRESETS, resolveLlm, type Config } from '../../shared/config.js';
import type { LlmModelsResult, LlmProbe, LlmTestResult, ProbeCode, ProbeFailure } from '../../shared/settings-api.js';

export interface LlmTarget {
  preset: Config['llm']['preset'];
  baseUrl: string;
  model: string;
  apiKey: string | undefined;
  temperature: number;
}

export interface LlmProbeOptions {
  /** Gives up after this long (the whole request, stream included). Default 20 s. */
  timeoutMs?: number;
  /** Clock for the timings (tests may inject one). */
  now?: () => number;
}

const TEST_PROMPT = 'Say hello to the stream in one short sentence.';

/** The form's values over the saved ones; '' means "not set" (the preset's URL or model). */
export function llmTarget(probe: LlmProbe, saved: Config['llm']): LlmTarget {
  const llm: Config['llm'] = { ...saved };
  if (probe.preset !== undefined && probe.preset in LLM_PRESETS) llm.preset = probe.preset as Config['llm']['preset'];
  if (probe.baseUrl !== undefined) llm.baseUrl = probe.baseUrl.trim() || undefined;
  if (probe.model !== undefined) llm.model = probe.model.trim() || undefined;
  if (probe.apiKey !== undefined) llm.apiKey = probe.apiKey || undefined;
  const r = resolveLlm(llm);
  return { preset: llm.preset, baseUrl: r.baseUrl.replace(/\/+$/, ''), model: r.model, apiKey: r.apiKey, temperature: llm.temperature };
}

function fail(code: ProbeCode, error: string, fix: string, params: Record<string, string> = {}): ProbeFailure {
  return { ok: false, code, error, fix, params };
}

function startFix(t: LlmTarget): string {
  switch (t.preset) {
    case 'ollama':
      return 'start Ollama (ollama serve) or check the URL';
    case 'lmstudio':
      return "start LM Studio's local server (Developer tab, Start Server) or check the URL";
    case 'llamacpp':
      return 'start llama-server (llama-server -m <model>.gguf --port 8080) or check the URL';
    default:
      return 'check the URL and that the server is running and reachable from this computer';
  }
}

function checkUrl(t: LlmTarget): ProbeFailure | undefined {
  if (!t.baseUrl) return fail('bad_url', 'no base URL: the custom preset has none', 'enter the server\'s OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1');
  try {
    const u = new URL(t.baseUrl);
    if (u.protocol === 'http:' || u.protocol === 'https:') return undefined;
  } catch {
    // falls through
  }
  return fail('bad_url', `'${t.baseUrl}' is not an http(s) URL`, 'enter the base URL as http://host:port/v1', { url: t.baseUrl });
}

function headers(t: LlmTarget, json = false): Record<string, string> {
  return { ...(t.apiKey ? { authorization: `Bearer ${t.apiKey}` } : {}), ...(json ? { 'content-type': 'application/json' } : {}), accept: 'application/json' };
}

/** A fetch that never threw reaches here only with an HTTP status or a body it could not read. */
function networkFailure(t: LlmTarget, err: unknown, timeoutMs: number): ProbeFailure {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const params = { url: t.baseUrl, seconds: String(Math.round(timeoutMs / 100) / 10) };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') {
    return fail('timeout', `no answer from ${t.baseUrl} within ${params.seconds} s`, 'the server may still be loading the model: try again in a moment; otherwise check the URL and any firewall between', params);
  }
  const code = e.cause?.code ?? '';
  const why = code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'no such host' : code === 'ECONNREFUSED' ? 'nothing listens there' : (e.cause?.message ?? e.message);
  return fail('unreachable', `cannot reach ${t.baseUrl} (${why})`, startFix(t), { ...params, reason: why });
}

async function readError(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    const msg = typeof body.error === 'string' ? body.error : (body.error?.message ?? body.message);
    if (msg) return msg.slice(0, 300);
  } catch {
    // not JSON: the start of the text is what there is to show
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 200);
}

async function httpFailure(t: LlmTarget, res: Response, what: 'models' | 'chat'): Promise<ProbeFailure> {
  const message = await readError(res);
  const status = String(res.status);
  const params = { url: t.baseUrl, status, message, model: t.model, preset: t.preset };
  const said = `HTTP ${status}${message ? `: ${message}` : ''}`;
  if (res.status === 401 || res.status === 403) {
    const fix = t.apiKey ? 'the key was refused: enter a valid API key for this server' : 'this server needs an API key: enter it in the key field';
    return fail('unauthorized', `${t.baseUrl} refused the request (${said})`, fix, params);
  }
  if (res.status === 404 && what === 'chat' && /model/i.test(message)) {
    const listed = await listModels(t).catch(() => undefined);
    const names = listed?.ok ? listed.models : [];
    const fix = names.length > 0 ? `pick one of the models the server has: ${names.slice(0, 10).join(', ')}` : t.preset === 'ollama' ? `download it first (ollama pull ${t.model}) or pick another model` : 'pick a model the server has (the model list shows them)';
    return fail('model_missing', `the server has no model '${t.model}' (${said})`, fix, { ...params, models: names.slice(0, 10).join(', ') });
  }
  if (res.status === 404) {
    return fail('not_found', `${t.baseUrl} has no OpenAI-compatible API (${said})`, 'check the base URL: it usually ends in /v1, e.g. http://127.0.0.1:11434/v1', params);
  }
  if (res.status === 429) return fail('rate_limited', `${t.baseUrl} is rate-limiting this key (${said})`, 'wait a minute, or check the plan and credit of the account', params);
  return fail('http_error', `${t.baseUrl} answered ${said}`, "the server's own message above says why; its log has more", params);
}

function badResponse(t: LlmTarget, contentType: string | null, detail: string): ProbeFailure {
  const what = contentType ? contentType.split(';')[0]! : 'an answer';
  return fail('bad_response', `${t.baseUrl} answered ${what} that is not the OpenAI API's (${detail})`, 'check the base URL: it must point at the OpenAI-compatible API (usually ending in /v1), not a web page or another service', { url: t.baseUrl, detail });
}

/** GET <baseUrl>/models: the ids the endpoint offers. */
export async function listModels(t: LlmTarget, o: LlmProbeOptions = {}): Promise<LlmModelsResult> {
  const bad = checkUrl(t);
  if (bad) return bad;
  const timeoutMs = o.timeoutMs ?? 20_000;
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${t.baseUrl}/models`, { headers: headers(t), signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return await httpFailure(t, res, 'models');
    text = await res.text();
  } catch (err) {
    return networkFailure(t, err, timeoutMs);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return badResponse(t, res.headers.get('content-type'), 'not JSON');
  }
  const data = (body as { data?: unknown }).data;
  if (!Array.isArray(data)) return badResponse(t, res.headers.get('content-type'), 'no model list');
  const models = data.map((m) => (m as { id?: unknown }).id).filter((id): id is string => typeof id === 'string');
  return { ok: true, baseUrl: t.baseUrl, models: [...new Set(models)].sort() };
}

/** Splits an SSE body into the payloads of its `data:` lines. */
async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).replace(/\r$/, '');
      buffered = buffered.slice(nl + 1);
      if (line.startsWith('data:')) yield line.slice(5).trim();
    }
  }
  if (buffered.startsWith('data:')) yield buffered.slice(5).trim();
}

/** One short prompt, streamed: time to the first token, total time and the reply. */
export async function testLlm(t: LlmTarget, o: LlmProbeOptions = {}): Promise<LlmTestResult> {
  const bad = checkUrl(t);
  if (bad) return bad;
  const timeoutMs = o.timeoutMs ?? 20_000;
  const now = o.now ?? (() => performance.now());
  const started = now();
  let firstTokenAt: number | undefined;
  let text = '';
  try {
    const res = await fetch(`${t.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { ...headers(t, true), accept: 'text/event-stream' },
      body: JSON.stringify({ model: t.model, stream: true, max_tokens: 32, temperature: t.temperature, messages: [{ role: 'user', content: TEST_PROMPT }] }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) return await httpFailure(t, res, 'chat');
    const type = res.headers.get('content-type');
    if (!type?.includes('text/event-stream') || !res.body) return badResponse(t, type, 'not a stream of tokens');
    for await (const data of sseData(res.body)) {
      if (data === '[DONE]') break;
      let chunk: { choices?: Array<{ delta?: { content?: unknown } }>; error?: { message?: string } };
      try {
        chunk = JSON.parse(data) as typeof chunk;
      } catch {
        return badResponse(t, type, 'a stream event that is not JSON');
      }
      if (chunk.error) return fail('http_error', `${t.baseUrl} broke off the reply: ${chunk.error.message ?? 'an error'}`, "the server's own message says why; its log has more", { url: t.baseUrl });
      const piece = chunk.choices?.[0]?.delta?.content;
      if (typeof piece === 'string' && piece.length > 0) {
        firstTokenAt ??= now();
        text += piece;
      }
    }
  } catch (err) {
    return networkFailure(t, err, timeoutMs);
  }
  if (firstTokenAt === undefined) {
    return fail('bad_response', `${t.baseUrl} streamed no text for model '${t.model}'`, 'try another model; some need a chat template or are embedding-only', { url: t.baseUrl, model: t.model });
  }
  const end = now();
  return { ok: true, model: t.model, firstTokenMs: Math.round(firstTokenAt - started), totalMs: Math.round(end - started), text: text.trim() };
}
