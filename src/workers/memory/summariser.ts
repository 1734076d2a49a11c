/**
 * Running summary of the turns that fell out of the history window, made in the background (after a
 * reply ended, never while a turn waits for its context):
 *   - with the LLM (`resolveLlm(settings.llm)`, the `openai` SDK, a short prompt, low max_tokens):
 *     the previous summary plus the messages it does not cover yet, merged into one short summary;
 *   - extractive when the LLM is unreachable, fails, answers nothing usable, or needs a key that is
 *     not set: the first sentence of each uncovered message, appended to the previous summary and
 *     trimmed to the budget from the oldest end.
 * One summary job per session at a time; a request that arrives while one runs is coalesced into
 * one more run after it. After an LLM failure the LLM is not tried again for LLM_RETRY_AFTER_MS
 * (a down local server would otherwise cost a connection attempt per turn).
 */
import type OpenAI from 'openai';
import { resolveLlm, type Config } from '../../shared/config.js';
import { createOpenAiClient, type Logger } from '../runtime/index.js';
import { safeName } from '../common/chat-quote.js';
import type { MemoryStore, StoredMessage, Summary } from './store.js';
import { estimateTokens } from './tokens.js';

/** How long the LLM gets for one summary before the extractive fallback is used. */
const LLM_TIMEOUT_MS = 20_000;
/** After an LLM failure, summaries are extractive for this long. */
export const LLM_RETRY_AFTER_MS = 30_000;
/** Longest first sentence kept per message in an extractive summary, tokens. */
const SENTENCE_MAX_TOKENS = 40;

/** Token budget of the summary for a context budget: a fifth of it, between 60 and 300. */
export function summaryBudget(maxContextTokens: number): number {
  return Math.max(60, Math.min(300, Math.floor(maxContextTokens / 5)));
}

/** Cuts text to at most maxTokens (estimated), at a word or character boundary, with an ellipsis. */
export function truncateTokens(text: string, maxTokens: number): string {
  if (estimateTokens(text) <= maxTokens) return text;
  // Binary search on the code-point length (estimateTokens is monotonic in the prefix length).
  const cps = [...text];
  let lo = 0;
  let hi = cps.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (estimateTokens(cps.slice(0, mid).join('')) + 1 <= maxTokens) lo = mid;
    else hi = mid - 1;
  }
  let cut = cps.slice(0, lo).join('');
  const space = cut.lastIndexOf(' ');
  if (space > cut.length * 0.6) cut = cut.slice(0, space);
  return `${cut.trimEnd()}…`;
}

/** The first sentence of a text (Latin `.!?` followed by a space or the end; CJK `。！？` anywhere). */
export function firstSentence(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  const m = /^(.*?(?:[.!?…](?=\s|$)|[。！？]))/u.exec(t);
  const s = m ? m[1]! : t;
  return truncateTokens(s, SENTENCE_MAX_TOKENS);
}

/** Who said it, for summaries. */
function speaker(m: StoredMessage, personaName: string): string {
  if (m.role === 'user' && m.source === 'chat') return m.author ? `Viewer "${safeName(m.author)}"` : 'Viewers'; // a chat name is viewer data
  return m.role === 'assistant' ? personaName : m.author || 'User';
}

/**
 * Extractive summary: previous summary lines, then `Speaker: first sentence` per new message, the
 * oldest lines dropped until it fits `maxTokens` (a single line left over budget is truncated).
 */
export function extractiveSummary(previous: string | undefined, messages: StoredMessage[], personaName: string, maxTokens: number): string {
  const lines = (previous ? previous.split('\n').filter((l) => l.trim() !== '') : []).concat(
    messages.filter((m) => m.text.trim() !== '').map((m) => `${speaker(m, personaName)}: ${firstSentence(m.text)}${m.status === 'cancelled' ? ' (interrupted)' : ''}`),
  );
  let total = lines.reduce((n, l) => n + estimateTokens(l) + 1, 0);
  while (lines.length > 1 && total > maxTokens) total -= estimateTokens(lines.shift()!) + 1;
  return lines.length === 1 ? truncateTokens(lines[0]!, maxTokens) : lines.join('\n');
}

/** Removes reasoning blocks some local models emit, and tidies whitespace. */
export function cleanLlmSummary(raw: string): string {
  return raw
    .replace(/<think>[\s\S]*?<\/think>/gi, '')
    .replace(/^\s*(summary\s*:\s*)/i, '')
    .replace(/[ \t]+/g, ' ')
    .trim();
}

export interface SummariserOptions {
  /** Summarise only once at least this many messages are uncovered (default 2: one turn). */
  minMessages?: number;
  /** Clock for the LLM back-off (tests). */
  now?: () => number;
}

export interface SummaryResult {
  summary: Summary;
  covered: number;
}

export class Summariser {
  private readonly running = new Map<string, Promise<SummaryResult | undefined>>();
  private readonly again = new Set<string>();
  private readonly abort = new AbortController();
  private client: OpenAI | undefined;
  private llmDownUntil = 0;
  private disposed = false;
  private readonly minMessages: number;
  private readonly now: () => number;

  constructor(
    private readonly store: MemoryStore,
    private readonly settings: Config,
    private readonly log: Logger,
    opts: SummariserOptions = {},
  ) {
    this.minMessages = opts.minMessages ?? 2;
    this.now = opts.now ?? Date.now;
  }

  /** Budget of the history window when a summary is present (the rest is reserved for it). */
  get messageBudget(): number {
    return this.settings.memory.maxContextTokens - summaryBudget(this.settings.memory.maxContextTokens);
  }

  /** Asks for a summary run for the session (coalesced; errors are logged). Returns the run. */
  schedule(session_id: string): Promise<SummaryResult | undefined> {
    if (!this.settings.memory.summarise || this.disposed) return Promise.resolve(undefined);
    const current = this.running.get(session_id);
    if (current) {
      this.again.add(session_id);
      return current;
    }
    const run = (async () => {
      try {
        let result: SummaryResult | undefined;
        do {
          this.again.delete(session_id);
          result = (await this.summarise(session_id)) ?? result;
        } while (this.again.has(session_id) && !this.disposed);
        return result;
      } catch (e) {
        this.log.error({ session_id, err: (e as Error).message }, 'summary failed');
        return undefined;
      } finally {
        this.running.delete(session_id);
      }
    })();
    this.running.set(session_id, run);
    return run;
  }

  /** One pass: summarises what is older than the window and not covered yet, when there is enough. */
  private async summarise(session_id: string): Promise<SummaryResult | undefined> {
    const latest = this.store.latestPos(session_id);
    if (latest === undefined) return undefined;
    const win = this.store.window(session_id, latest, this.messageBudget);
    if (win.firstLeftOutPos === undefined) return undefined;
    const prev = this.store.latestSummary(session_id);
    const fresh = this.store.range(session_id, prev?.upto_pos ?? -Infinity, win.firstLeftOutPos);
    if (fresh.length === 0 || fresh.length < this.minMessages) return undefined;
    const maxTokens = summaryBudget(this.settings.memory.maxContextTokens);
    const upto = fresh[fresh.length - 1]!.pos;
    const started = performance.now();
    let text: string | undefined;
    let method: Summary['method'] = 'llm';
    if (this.now() >= this.llmDownUntil) text = await this.llmSummary(prev?.text, fresh, maxTokens);
    if (this.disposed) return undefined;
    if (!text) {
      method = 'extractive';
      text = extractiveSummary(prev?.text, fresh, this.settings.persona.name, maxTokens);
    }
    const summary = this.store.saveSummary({ session_id, text, upto_pos: upto, method });
    this.log.info({ session_id, method, covered: fresh.length, tokens: summary.tokens, ms: Math.round(performance.now() - started) }, 'summary updated');
    return { summary, covered: fresh.length };
  }

  private llm(): OpenAI | undefined {
    const llm = resolveLlm(this.settings.llm);
    if (!llm.baseUrl || (llm.needsKey && !llm.apiKey)) return undefined;
    this.client ??= createOpenAiClient({ baseUrl: llm.baseUrl, apiKey: llm.apiKey, timeoutMs: LLM_TIMEOUT_MS });
    return this.client;
  }

  private async llmSummary(previous: string | undefined, messages: StoredMessage[], maxTokens: number): Promise<string | undefined> {
    const client = this.llm();
    if (!client) return undefined;
    const name = this.settings.persona.name;
    const words = Math.max(30, Math.floor(maxTokens * 0.6));
    const transcript = messages
      .filter((m) => m.text.trim() !== '')
      .map((m) => `${speaker(m, name)}: ${m.text}${m.status === 'cancelled' ? ' (interrupted)' : ''}`)
      .join('\n');
    const user = `${previous ? `Summary so far:\n${previous}\n\n` : ''}New messages:\n${transcript}`;
    try {
      const res = await client.chat.completions.create(
        {
          model: resolveLlm(this.settings.llm).model,
          temperature: 0.2,
          max_tokens: Math.ceil(maxTokens * 1.5),
          messages: [
            {
              role: 'system',
              content:
                `You keep the memory of a live stream where ${name}, an AI VTuber, talks with viewers. ` +
                `Merge the summary so far and the new messages into one summary of at most ${words} words, ` +
                'in the language of the conversation. Keep names, facts about the viewers, preferences, promises and open questions. ' +
                'Plain sentences, no lists, no preamble.',
            },
            { role: 'user', content: user },
          ],
        },
        { signal: this.abort.signal },
      );
      const text = cleanLlmSummary(res.choices?.[0]?.message?.content ?? '');
      if (!text) {
        this.log.warn('LLM answered an empty summary; using the extractive one');
        return undefined;
      }
      return truncateTokens(text, maxTokens);
    } catch (e) {
      if (this.disposed) return undefined;
      this.llmDownUntil = this.now() + LLM_RETRY_AFTER_MS;
      this.log.warn({ err: (e as Error).message, retryInMs: LLM_RETRY_AFTER_MS }, 'LLM summary failed; using the extractive one');
      return undefined;
    }
  }

  /** Stops: aborts an LLM call in flight and waits (bounded) for running jobs. */
  async dispose(waitMs = 2000): Promise<void> {
    this.disposed = true;
    this.abort.abort(new Error('memory stopping'));
    let t: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.running.values()]), new Promise((r) => (t = setTimeout(r, waitMs)))]);
    clearTimeout(t);
  }
}
