/**
 * Every OpenAI-compatible client of the workers (chat-ai's LLM, memory's summariser, long-term
 * memory's embeddings, the openai ASR and TTS engines) comes from here:
 *   - the base URL and the key as configured; a server that needs no key (Ollama, LM Studio,
 *     llama.cpp, Speaches, Kokoro-FastAPI) gets KEYLESS_API_KEY, because the SDK refuses to build a
 *     client without one;
 *   - retries off: every caller has a deadline of its own (a turn, a sentence, a recall), and a
 *     retry with back-off would only spend it; the caller reports the failure and goes on;
 *   - one time-out per client (per request where the caller passes its own);
 *   - the SDK's own complaints go to the worker's log, not stderr.
 * `openAiFailure` reads any error the SDK throws into one shape, so each caller words it for its
 * own settings without re-implementing the detection.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { Logger } from './logger.js';

/** The key sent to servers that take none (any non-empty value works; this one says why it is there). */
export const KEYLESS_API_KEY = 'not-needed';

export interface OpenAiClientOptions {
  baseUrl: string;
  /** Empty or absent: KEYLESS_API_KEY. */
  apiKey?: string;
  timeoutMs: number;
  log?: Pick<Logger, 'warn' | 'debug'>;
}

export function createOpenAiClient(o: OpenAiClientOptions): OpenAI {
  return new OpenAI({
    baseURL: o.baseUrl,
    apiKey: o.apiKey || KEYLESS_API_KEY,
    maxRetries: 0,
    timeout: o.timeoutMs,
    ...(o.log ? { logLevel: 'warn' as const, logger: sdkLogger(o.log) } : {}),
  });
}

function sdkLogger(log: Pick<Logger, 'warn' | 'debug'>) {
  const line = (args: unknown[]) =>
    args
      .map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : JSON.stringify(a)))
      .join(' ')
      .slice(0, 300);
  return {
    error: (...args: unknown[]) => log.warn({ sdk: line(args) }, 'openai sdk'),
    warn: (...args: unknown[]) => log.warn({ sdk: line(args) }, 'openai sdk'),
    info: (...args: unknown[]) => log.debug({ sdk: line(args) }, 'openai sdk'),
    debug: () => undefined,
  };
}

export type OpenAiFailureKind =
  /** The caller's signal aborted the request. */
  | 'aborted'
  /** No response headers within the time-out. */
  | 'timeout'
  /** DNS could not resolve the host. */
  | 'host-not-found'
  /** Connection refused, reset, TLS failure... (`cause` says which). */
  | 'unreachable'
  /** An HTTP error status (`status`, `detail`). */
  | 'http'
  /** An error object inside a stream, without a status. */
  | 'stream-error'
  /** A body that is not JSON. */
  | 'bad-json'
  | 'other';

export interface OpenAiFailure {
  kind: OpenAiFailureKind;
  status?: number;
  /** The server's own message (key redacted, whitespace folded, at most 200 characters). */
  detail: string;
  /** The innermost system error code (ECONNREFUSED, ENOTFOUND, UND_ERR_SOCKET...). */
  cause?: string;
  /** The SDK's error code (`model_not_found`...). */
  code?: string;
}

/** What an SDK call failed with. `apiKey` is removed from the server's message if it echoes it. */
export function openAiFailure(e: unknown, apiKey?: string): OpenAiFailure {
  const cause = causeCode(e);
  const base = { ...(cause ? { cause } : {}) };
  if (e instanceof APIUserAbortError) return { kind: 'aborted', detail: '', ...base };
  if (e instanceof APIConnectionTimeoutError) return { kind: 'timeout', detail: '', ...base };
  if (e instanceof APIConnectionError) {
    const kind = cause === 'ENOTFOUND' || cause === 'EAI_AGAIN' ? 'host-not-found' : 'unreachable';
    return { kind, detail: '', ...base };
  }
  if (e instanceof APIError) {
    const detail = serverDetail(e, apiKey);
    const code = typeof e.code === 'string' ? { code: e.code } : {};
    if (e.status !== undefined) return { kind: 'http', status: e.status, detail, ...code, ...base };
    return { kind: 'stream-error', detail: detail || e.message, ...code, ...base };
  }
  if (e instanceof SyntaxError) return { kind: 'bad-json', detail: e.message, ...base };
  return { kind: 'other', detail: e instanceof Error ? e.message : String(e), ...base };
}

/** The innermost `code` of an error's cause chain (ECONNREFUSED, ENOTFOUND, UND_ERR_SOCKET...). */
export function causeCode(e: unknown): string | undefined {
  let code: string | undefined;
  for (let cur: unknown = e, depth = 0; cur && typeof cur === 'object' && depth < 6; cur = (cur as { cause?: unknown }).cause, depth++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && /^[A-Z_]+$/.test(c)) code = c;
  }
  return code;
}

function serverDetail(e: APIError, apiKey?: string): string {
  const err = e.error as { message?: unknown } | undefined;
  let m = typeof err?.message === 'string' ? err.message : '';
  if (apiKey) m = m.split(apiKey).join('***');
  m = m.replace(/\s+/g, ' ').trim();
  return m.length > 200 ? `${m.slice(0, 200)}...` : m;
}
