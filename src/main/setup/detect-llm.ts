/**
 * First-run detection of local LLM servers: Ollama, LM Studio and llama.cpp on their usual loopback
 * ports (the URLs of LLM_PRESETS), probed in parallel with a short timeout through the
 * OpenAI-compatible `GET /v1/models`. Ollama before 0.2 has no `/v1/models`; its own `GET /api/tags`
 * is asked when the OpenAI route is missing. A server counts as found only when it answers with a
 * model list in the expected shape: a web server on the port that answers HTML is "not found", with
 * the reason, never an exception.
 */
import { z } from 'zod';
import { LLM_PRESETS } from '../../shared/config.js';
import type { DetectedLlm } from '../../shared/settings-api.js';

export type LocalPreset = DetectedLlm['preset'];

export interface ProbeTarget {
  preset: LocalPreset;
  /** OpenAI-compatible base URL, ending in /v1. */
  baseUrl: string;
}

export type ProbeOutcome =
  | { found: true; preset: LocalPreset; baseUrl: string; models: string[] }
  | { found: false; preset: LocalPreset; baseUrl: string; code: 'unreachable' | 'timeout' | 'bad_response' | 'http_error'; reason: string };

export interface ProbeOptions {
  /** Per request; the probes run in parallel, so this bounds the whole detection (x2 for Ollama's fallback). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** SPEECH-NOTES: probe 127.0.0.1 (not localhost: it may resolve to ::1 first) with ~300 ms. */
export const DEFAULT_PROBE_TIMEOUT_MS = 400;

const LOCAL_PRESETS: readonly LocalPreset[] = ['ollama', 'lmstudio', 'llamacpp'];

/** The usual addresses of the local servers, from the presets. */
export function defaultProbeTargets(): ProbeTarget[] {
  return LOCAL_PRESETS.map((preset) => ({ preset, baseUrl: LLM_PRESETS[preset].baseUrl }));
}

const OpenAiModels = z.object({ data: z.array(z.object({ id: z.string().min(1) })) });
const OllamaTags = z.object({ models: z.array(z.object({ name: z.string().min(1) })) });

class ProbeFailed extends Error {
  constructor(
    readonly code: Extract<ProbeOutcome, { found: false }>['code'],
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

async function getJson(url: string, opts: Required<ProbeOptions>): Promise<unknown> {
  let res: Response;
  try {
    res = await opts.fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(opts.timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') throw new ProbeFailed('timeout', `no answer from ${url} within ${opts.timeoutMs} ms`);
    throw new ProbeFailed('unreachable', `nothing answers at ${url} (${e.cause?.code ?? e.message})`);
  }
  // Read the body within the same timeout: a server that sends headers and stalls is not an LLM server.
  let text: string;
  try {
    text = await res.text();
  } catch {
    throw new ProbeFailed('timeout', `${url} started answering but did not finish within ${opts.timeoutMs} ms`);
  }
  if (!res.ok) throw new ProbeFailed('http_error', `${url} answered HTTP ${res.status}`, res.status);
  try {
    return JSON.parse(text);
  } catch {
    const type = res.headers.get('content-type') ?? 'no content type';
    throw new ProbeFailed('bad_response', `${url} answered, but not with JSON (${type}): another program uses this port`);
  }
}

async function modelsOf(target: ProbeTarget, opts: Required<ProbeOptions>): Promise<string[]> {
  const base = target.baseUrl.replace(/\/+$/, '');
  try {
    const body = OpenAiModels.safeParse(await getJson(`${base}/models`, opts));
    if (!body.success) throw new ProbeFailed('bad_response', `${base}/models answered JSON that is not an OpenAI model list: another program uses this port`);
    return body.data.data.map((m) => m.id);
  } catch (err) {
    // An Ollama too old for the OpenAI routes still lists its models on /api/tags.
    if (target.preset !== 'ollama' || !(err instanceof ProbeFailed) || err.status !== 404) throw err;
    const tagsUrl = `${base.replace(/\/v1$/, '')}/api/tags`;
    const tags = OllamaTags.safeParse(await getJson(tagsUrl, opts));
    if (!tags.success) throw new ProbeFailed('bad_response', `${tagsUrl} answered JSON that is not Ollama's model list`);
    return tags.data.models.map((m) => m.name);
  }
}

/** One server: found with its models, or why not. Never throws. */
export async function probeLlm(target: ProbeTarget, options: ProbeOptions = {}): Promise<ProbeOutcome> {
  const opts: Required<ProbeOptions> = { timeoutMs: options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS, fetch: options.fetch ?? fetch };
  try {
    const models = await modelsOf(target, opts);
    return { found: true, preset: target.preset, baseUrl: target.baseUrl, models };
  } catch (err) {
    if (err instanceof ProbeFailed) return { found: false, preset: target.preset, baseUrl: target.baseUrl, code: err.code, reason: err.message };
    return { found: false, preset: target.preset, baseUrl: target.baseUrl, code: 'bad_response', reason: `probing ${target.baseUrl} failed: ${(err as Error).message}` };
  }
}

export interface Detection {
  detected: DetectedLlm[];
  notFound: Array<Extract<ProbeOutcome, { found: false }>>;
}

/** Every target at once; the answer comes after the slowest probe (bounded by the timeout). */
export async function detectLocalLlms(targets: readonly ProbeTarget[] = defaultProbeTargets(), options: ProbeOptions = {}): Promise<Detection> {
  const outcomes = await Promise.all(targets.map((t) => probeLlm(t, options)));
  const detected: DetectedLlm[] = [];
  const notFound: Detection['notFound'] = [];
  for (const o of outcomes) {
    if (o.found) detected.push({ preset: o.preset, baseUrl: o.baseUrl, models: o.models });
    else notFound.push(o);
  }
  return { detected, notFound };
}
