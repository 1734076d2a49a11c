/**
 * LLM extraction against the configured OpenAI-compatible server, mem0 style, in two small
 * non-streaming calls:
 *   1. extract: the turn -> {memories: [{text, subject, kind, importance}]}
 *   2. decide: one candidate and its nearest stored memories, shown with temporary ids 0, 1, 2…
 *      -> {actions: [{op, id?, text?}]}; the ids are mapped back to the store's, so an id the model
 *      made up (or one of another subject) matches nothing and the action is rejected.
 * Replies are parsed leniently (a reasoning model's <think> block, code fences, prose around the
 * JSON) and validated with zod. Failures throw `FactLlmError`: 'down' (the server cannot be reached,
 * timed out or answered an HTTP error: the pipeline backs off) or 'malformed' (an answer that is not
 * what was asked: the rules take over for that turn).
 */
import type OpenAI from 'openai';
import { z } from 'zod';
import { resolveLlm, type Config } from '../../../shared/config.js';
import { MEMORY_TEXT_MAX, type LtmTurn } from '../../../shared/long-term.js';
import { createOpenAiClient, openAiFailure, type Logger } from '../../runtime/index.js';
import { DECIDE_SYSTEM_PROMPT, EXTRACT_SYSTEM_PROMPT, decideUserPrompt, extractUserPrompt } from './prompts.js';
import type { Candidate, Decision, Nearby } from './rules.js';

export interface FactLlmOptions {
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** Per call. */
  timeoutMs: number;
  /** Ask for `response_format: json_object` (servers that support it); the parse is lenient either way. */
  jsonMode?: boolean;
}

/** Presets whose servers accept `response_format: {type: 'json_object'}` (as the chat arbiter's pick). */
const JSON_OBJECT_PRESETS = new Set<Config['llm']['preset']>(['openai', 'deepseek', 'ollama', 'llamacpp']);

/** The extraction LLM from the settings: the chat LLM, or undefined when it cannot be called (no URL, a key missing). */
export function factLlmOptions(config: Pick<Config, 'llm'>, timeoutMs = 20_000): FactLlmOptions | undefined {
  const { baseUrl, model, apiKey, needsKey } = resolveLlm(config.llm);
  if (!baseUrl || (needsKey && !apiKey)) return undefined;
  return { baseUrl, model, ...(apiKey ? { apiKey } : {}), timeoutMs, jsonMode: JSON_OBJECT_PRESETS.has(config.llm.preset) };
}

export class FactLlmError extends Error {
  override readonly name = 'FactLlmError';
  constructor(
    message: string,
    readonly kind: 'down' | 'malformed',
  ) {
    super(message);
  }
}

const ExtractReply = z.object({
  memories: z
    .array(
      z.object({
        text: z.string().trim().min(1).max(MEMORY_TEXT_MAX),
        subject: z.enum(['speaker', 'streamer', 'avatar', 'world']),
        kind: z.enum(['fact', 'preference', 'promise', 'event']),
        importance: z.coerce.number().min(0).max(1).default(0.5),
      }),
    )
    .max(20),
});

const DecideReply = z.object({
  actions: z
    .array(
      z.object({
        op: z.preprocess((v) => (typeof v === 'string' ? v.toUpperCase() : v), z.enum(['ADD', 'UPDATE', 'DELETE', 'NONE'])),
        id: z.union([z.number(), z.string()]).nullish(),
        text: z.string().trim().max(MEMORY_TEXT_MAX).nullish(),
      }),
    )
    .max(10),
});

/** The JSON object in a model's answer: <think> blocks, fences and prose around it skipped. */
export function parseJsonReply(reply: string): unknown {
  const text = reply.replace(/<think>[\s\S]*?<\/think>/gi, '').trim();
  const unfenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text)?.[1] ?? text;
  const a = unfenced.indexOf('{');
  const b = unfenced.lastIndexOf('}');
  for (const candidate of [unfenced, a >= 0 && b > a ? unfenced.slice(a, b + 1) : undefined]) {
    if (!candidate) continue;
    try {
      return JSON.parse(candidate);
    } catch {
      // try the next shape
    }
  }
  throw new FactLlmError(`the LLM's answer is not JSON: ${JSON.stringify(text.slice(0, 120))}`, 'malformed');
}

function validate<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new FactLlmError(`the LLM's ${what} is malformed (${issue ? `${issue.path.join('.') || 'answer'}: ${issue.message}` : 'schema'})`, 'malformed');
}

export interface Decided {
  decisions: Decision[];
  /** Actions thrown away: ids that were not shown, an UPDATE without text. */
  rejected: string[];
}

export class FactLlm {
  private readonly client: OpenAI;

  constructor(
    private readonly o: FactLlmOptions,
    log?: Pick<Logger, 'warn' | 'debug'>,
  ) {
    this.client = createOpenAiClient({ baseUrl: o.baseUrl, apiKey: o.apiKey, timeoutMs: o.timeoutMs, ...(log ? { log } : {}) });
  }

  /** Step 1: candidate memories of a turn. */
  async extract(turn: LtmTurn, signal?: AbortSignal): Promise<Candidate[]> {
    const raw = await this.call(EXTRACT_SYSTEM_PROMPT, extractUserPrompt(turn), 600, signal);
    return validate(ExtractReply, parseJsonReply(raw), 'list of memories').memories;
  }

  /** Step 2: what to do with one candidate, given its nearest memories (never called with none). */
  async decide(candidate: Candidate, nearest: readonly Nearby[], signal?: AbortSignal): Promise<Decided> {
    const raw = await this.call(DECIDE_SYSTEM_PROMPT, decideUserPrompt(candidate.text, nearest.map((n) => n.text)), 300, signal);
    const { actions } = validate(DecideReply, parseJsonReply(raw), 'decision');
    const decisions: Decision[] = [];
    const rejected: string[] = [];
    const realId = (id: number | string | null | undefined): number | undefined => {
      const i = typeof id === 'number' ? id : typeof id === 'string' && /^\s*\d+\s*$/.test(id) ? Number(id) : NaN;
      return Number.isInteger(i) && i >= 0 && i < nearest.length ? nearest[i]!.id : undefined;
    };
    for (const a of actions) {
      const id = realId(a.id);
      if (a.op === 'ADD') decisions.push({ op: 'ADD', text: a.text || candidate.text });
      else if (a.op === 'NONE') decisions.push(id !== undefined ? { op: 'NONE', id } : { op: 'NONE' });
      else if (id === undefined) rejected.push(`${a.op} of id ${JSON.stringify(a.id ?? null)}, which was not shown`);
      else if (a.op === 'DELETE') decisions.push({ op: 'DELETE', id });
      else decisions.push({ op: 'UPDATE', id, text: a.text || candidate.text });
    }
    return { decisions, rejected };
  }

  private async call(system: string, user: string, maxTokens: number, signal?: AbortSignal): Promise<string> {
    let res: unknown;
    // The SDK's time-out covers the headers only: a server that stalls in the body is cut off here.
    const deadline = AbortSignal.timeout(this.o.timeoutMs);
    try {
      res = await this.client.chat.completions.create(
        {
          model: this.o.model,
          messages: [
            { role: 'system', content: system },
            { role: 'user', content: user },
          ],
          temperature: 0,
          max_tokens: maxTokens,
          stream: false,
          ...(this.o.jsonMode ? { response_format: { type: 'json_object' as const } } : {}),
        },
        { signal: signal ? AbortSignal.any([signal, deadline]) : deadline },
      );
    } catch (e) {
      if (signal?.aborted) throw e;
      const f = deadline.aborted ? { kind: 'timeout' as const, detail: '' } : openAiFailure(e, this.o.apiKey);
      if (f.kind === 'bad-json') throw new FactLlmError(`the LLM at ${this.o.baseUrl} sent a body that is not JSON (is it an OpenAI-compatible /v1 URL?)`, 'malformed');
      const why =
        f.kind === 'http'
          ? `answered HTTP ${f.status}${f.detail ? `: ${f.detail}` : ''}`
          : f.kind === 'timeout'
            ? `did not answer within ${this.o.timeoutMs} ms`
            : `is unreachable (${f.cause ?? f.kind}${f.detail ? `: ${f.detail}` : ''})`;
      throw new FactLlmError(`the LLM at ${this.o.baseUrl} ${why}`, 'down');
    }
    const content = (res as { choices?: Array<{ message?: { content?: unknown } }> }).choices?.[0]?.message?.content;
    if (typeof content !== 'string') throw new FactLlmError(`the LLM at ${this.o.baseUrl} sent no message content (is it an OpenAI-compatible /v1 URL?)`, 'malformed');
    return content;
  }
}
