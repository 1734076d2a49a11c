/**
 * FactPipelineApi (types.ts): one finished turn in, memories stored.
 *
 *   1. the turn's recalled memories are touched (they were used: their decay is refreshed);
 *   2. candidates: the LLM's (llm-extract.ts) with `mode: 'llm'`, else, or when the LLM failed for
 *      this turn or is backing off, the rules' (rules.ts); a trivial user text ("hi", "thanks")
 *      costs no LLM call: the rules look at it and at the avatar's reply for promises;
 *   3. whose: 'speaker' is the turn's speaker; in a viewer's turn anything about the streamer, the
 *      world or anyone else is kept only as that viewer's claim (asViewerClaim), and an avatar
 *      memory must be grounded in the avatar's own reply — whatever the model was talked into;
 *   4. for each candidate: a stored memory that says the same (store.findDuplicate) is NONE at once;
 *      else its nearest memories of the same persona and subject (hybrid search with the
 *      candidate's vector when the embedder is ready) and a decision, the LLM's or the rules';
 *   5. the decisions are applied: ADD, UPDATE (new text, new vector), DELETE, NONE (refreshed). A
 *      pinned memory is the streamer's own word: extraction never deletes or rewrites it (an UPDATE
 *      of it is added beside it instead).
 *
 * An LLM that cannot be reached (refused, timed out, HTTP error) is left alone for `backoffMs`,
 * doubling up to `backoffMaxMs` while it stays down: the rules work meanwhile, and each such turn
 * says why in `llmError`. A malformed answer only sends that turn to the rules.
 */
import { resolveLlm, type Config } from '../../../shared/config.js';
import { MEMORY_TEXT_MAX, type LtmTurn, type MemoryKind } from '../../../shared/long-term.js';
import type { Logger } from '../../runtime/index.js';
import type { Embedder } from '../embedders/types.js';
import type { MemoryStoreApi, Vector } from '../store/types.js';
import { canonical, isTrivial, termSet } from '../text.js';
import { FactLlm, FactLlmError, factLlmOptions, type FactLlmOptions } from './llm-extract.js';
import { decideByRules, extractPromises, extractUserFacts, type Candidate, type Decision, type Nearby } from './rules.js';
import type { FactPipelineApi, TurnOutcome } from './types.js';

export const FACT_BACKOFF_MS = 30_000;
export const FACT_BACKOFF_MAX_MS = 10 * 60_000;
/** Nearest memories a candidate is decided against. */
export const FACT_NEAREST_K = 5;
/** Share of an avatar memory's terms that must occur in the avatar's reply (viewer turns). */
const GROUNDED = 0.5;

export interface FactPipelineOptions {
  store: MemoryStoreApi;
  /** Texts are stored without vectors while it is absent or not ready (the background re-embed adds them). */
  embedder?: Embedder;
  llm: FactLlmOptions | undefined;
  /** Why `llm` is undefined, with the fix (said in each turn's llmError in the 'llm' mode). */
  llmMissing?: string;
  mode: 'llm' | 'rules' | 'off';
  log: Pick<Logger, 'warn' | 'info' | 'debug'>;
  /** Epoch ms (stored times, back-off). */
  now?: () => number;
  backoffMs?: number;
  backoffMaxMs?: number;
}

/** A candidate with its subject resolved. */
interface Resolved {
  text: string;
  subject: string;
  subject_name?: string;
  kind: MemoryKind;
  importance: number;
}

const HAN = /\p{Script=Han}/u;

/** A viewer's statement about someone else, kept as what it is: their claim. */
export function asViewerClaim(text: string): string {
  const t = text.trim();
  if (/^(?:claimed|said)\b|^声称/iu.test(t)) return t.slice(0, MEMORY_TEXT_MAX);
  return (HAN.test(t) ? `声称：“${t}”` : `Claimed: "${t}"`).slice(0, MEMORY_TEXT_MAX);
}

function grounded(text: string, reply: string): boolean {
  const terms = termSet(text.replace(/^(?:Promised:|承诺：)\s*/u, ''));
  if (terms.size === 0) return false;
  const said = termSet(reply);
  let hit = 0;
  for (const t of terms) if (said.has(t)) hit++;
  return hit / terms.size >= GROUNDED;
}

export class FactPipeline implements FactPipelineApi {
  private readonly llm: FactLlm | undefined;
  private readonly now: () => number;
  private readonly backoffMs: number;
  private readonly backoffMaxMs: number;
  private nextBackoff: number;
  private downUntil = 0;
  private lastError: string | undefined;

  /**
   * The pipeline the settings ask for: `memory.extraction`, with the chat LLM (llm.*) for the 'llm'
   * mode (each call bounded by llm.firstTokenTimeoutMs).
   */
  static fromSettings(settings: Pick<Config, 'llm' | 'memory'>, o: Pick<FactPipelineOptions, 'store' | 'embedder' | 'log' | 'now'>): FactPipeline {
    const mode = settings.memory.extraction;
    const llm = mode === 'llm' ? factLlmOptions(settings, settings.llm.firstTokenTimeoutMs) : undefined;
    const { baseUrl, needsKey } = resolveLlm(settings.llm);
    const llmMissing = baseUrl && needsKey
      ? `the '${settings.llm.preset}' LLM needs an API key for memory extraction: set FAV_LLM_API_KEY (or memory.extraction: rules)`
      : `no LLM server is set for memory extraction: set FAV_LLM_BASE_URL (or memory.extraction: rules)`;
    return new FactPipeline({ ...o, mode, llm, ...(mode === 'llm' && !llm ? { llmMissing } : {}) });
  }

  constructor(private readonly o: FactPipelineOptions) {
    this.llm = o.mode === 'llm' && o.llm ? new FactLlm(o.llm, o.log) : undefined;
    this.now = o.now ?? Date.now;
    this.backoffMs = o.backoffMs ?? FACT_BACKOFF_MS;
    this.backoffMaxMs = o.backoffMaxMs ?? FACT_BACKOFF_MAX_MS;
    this.nextBackoff = this.backoffMs;
  }

  /** For LtmStatus: how memories are extracted right now, and the last LLM failure. */
  status(): { extraction: 'llm' | 'rules' | 'off'; last_extraction_error?: string } {
    const extraction = this.o.mode === 'off' ? 'off' : this.llm && this.now() >= this.downUntil ? 'llm' : 'rules';
    return { extraction, ...(this.lastError ? { last_extraction_error: this.lastError } : {}) };
  }

  async handleTurn(turn: LtmTurn, signal?: AbortSignal): Promise<TurnOutcome> {
    const at = this.now();
    const { store } = this.o;
    if (turn.recalled_ids.length) store.touch(turn.recalled_ids, at);
    const out: TurnOutcome = { via: 'off', added: [], updated: [], deleted: [], unchanged: 0 };
    if (this.o.mode === 'off') return out;

    const trivial = isTrivial(turn.user);
    let candidates: Candidate[] | undefined;
    if (this.o.mode === 'llm' && !trivial) {
      const r = await this.llmCandidates(turn, signal);
      if (Array.isArray(r)) {
        candidates = r;
        out.via = 'llm';
      } else out.llmError = r.error;
    }
    if (!candidates) {
      out.via = 'rules';
      candidates = [...extractUserFacts(turn.user), ...(turn.status === 'done' ? extractPromises(turn.assistant) : [])];
    }

    const seen = new Set<string>();
    for (const c of candidates) {
      const r = this.resolve(c, turn);
      if (!r || seen.has(`${r.subject}\n${canonical(r.text)}`)) continue;
      seen.add(`${r.subject}\n${canonical(r.text)}`);
      signal?.throwIfAborted();
      const dup = store.findDuplicate(turn.persona, r.subject, r.text);
      const known = dup !== undefined ? store.get(dup, at) : undefined;
      if (known) {
        await this.apply(out, turn, r, undefined, [{ id: known.id, text: known.text, importance: known.importance, pinned: known.pinned }], [{ op: 'NONE', id: known.id }], at, signal);
        continue;
      }
      const vector = await this.vectorFor(r.text, signal);
      const found = store.search({ persona: turn.persona, subjects: [r.subject], text: r.text, ...(vector ? { vector } : {}), k: FACT_NEAREST_K, now: at });
      const nearest = found.items.map((i) => ({ id: i.id, text: i.text, importance: i.importance, pinned: i.pinned }));
      const decisions = await this.decide(out, c, r, nearest, signal);
      await this.apply(out, turn, r, vector, nearest, decisions, at, signal);
    }
    if (out.llmError) this.lastError = out.llmError;
    this.o.log.debug({ turn_id: turn.turn_id, via: out.via, added: out.added.length, updated: out.updated.length, deleted: out.deleted.length, unchanged: out.unchanged, ...(out.llmError ? { llm_error: out.llmError } : {}) }, 'turn remembered');
    return out;
  }

  async close(): Promise<void> {
    // Nothing held open: the store and the embedder belong to the service.
  }

  /** The LLM's candidates, or why there are none from it this turn. */
  private async llmCandidates(turn: LtmTurn, signal?: AbortSignal): Promise<Candidate[] | { error: string }> {
    if (!this.llm) return { error: this.o.llmMissing ?? 'no LLM is configured for memory extraction: set the LLM server (or memory.extraction: rules)' };
    if (this.now() < this.downUntil) return { error: `${this.lastError ?? 'the LLM is unreachable'}; rules until ${new Date(this.downUntil).toISOString()}` };
    try {
      const c = await this.llm.extract(turn, signal);
      this.nextBackoff = this.backoffMs;
      return c;
    } catch (e) {
      return { error: this.failed(e) };
    }
  }

  /** Notes an LLM failure (a 'down' one starts or lengthens the back-off) and returns its message. */
  private failed(e: unknown): string {
    if (!(e instanceof FactLlmError)) throw e;
    if (e.kind === 'down') {
      this.downUntil = this.now() + this.nextBackoff;
      this.o.log.warn({ err: e.message, retry_in_ms: this.nextBackoff }, 'extraction LLM failed: memories by rules meanwhile');
      this.nextBackoff = Math.min(this.nextBackoff * 2, this.backoffMaxMs);
    } else this.o.log.warn({ err: e.message }, 'extraction LLM answered garbage: rules for this turn');
    this.lastError = e.message;
    return e.message;
  }

  /** The candidate's subject as stored; a viewer's words about others become their claim. */
  private resolve(c: Candidate, turn: LtmTurn): Resolved | undefined {
    const text = c.text.trim().slice(0, MEMORY_TEXT_MAX);
    if (!text) return undefined;
    const viewer = turn.speaker.startsWith('viewer:');
    const named = viewer && turn.speaker_name ? { subject_name: turn.speaker_name } : {};
    const subject = c.subject === 'speaker' ? turn.speaker : c.subject;
    if (!viewer) return { text, subject, kind: c.kind, importance: c.importance };
    if (subject === turn.speaker && !c.said) return { text, subject, ...named, kind: c.kind, importance: c.importance };
    if (subject === 'avatar' && turn.status === 'done' && grounded(text, turn.assistant)) return { text, subject, kind: c.kind, importance: c.importance };
    return { text: asViewerClaim(text), subject: turn.speaker, ...named, kind: 'fact', importance: Math.min(c.importance, 0.3) };
  }

  private async decide(out: TurnOutcome, c: Candidate, r: Resolved, nearest: Nearby[], signal?: AbortSignal): Promise<Decision[]> {
    if (nearest.length === 0) return [{ op: 'ADD', text: r.text }];
    if (out.via === 'llm' && this.llm && this.now() >= this.downUntil) {
      try {
        const d = await this.llm.decide({ ...c, text: r.text }, nearest, signal);
        if (d.rejected.length) out.llmError = `the LLM's decision was rejected in part: ${d.rejected.join('; ')}`;
        if (d.decisions.length) return d.decisions;
        out.llmError ??= 'the LLM decided nothing';
      } catch (e) {
        out.llmError = this.failed(e);
      }
    }
    return decideByRules({ text: r.text }, nearest);
  }

  private async apply(out: TurnOutcome, turn: LtmTurn, r: Resolved, vector: Vector | undefined, nearest: Array<Nearby & { importance: number; pinned: boolean }>, decisions: Decision[], at: number, signal?: AbortSignal): Promise<void> {
    const { store } = this.o;
    const vectorOf = async (text: string) => (text === r.text ? vector : this.vectorFor(text, signal));
    const pinned = (id: number) => nearest.some((n) => n.id === id && n.pinned);
    for (const decided of decisions) {
      const d: Decision = decided.op === 'UPDATE' && pinned(decided.id) ? { op: 'ADD', text: decided.text } : decided.op === 'DELETE' && pinned(decided.id) ? { op: 'NONE', id: decided.id } : decided;
      if (d.op === 'ADD') {
        const text = d.text.slice(0, MEMORY_TEXT_MAX);
        const v = await vectorOf(text);
        const m = { text, subject: r.subject, ...(r.subject_name ? { subject_name: r.subject_name } : {}), kind: r.kind, importance: r.importance, pinned: false };
        out.added.push(store.add({ ...m, persona: turn.persona, source_session: turn.session_id, source_turn: turn.turn_id, at }, v));
      } else if (d.op === 'UPDATE') {
        const text = d.text.slice(0, MEMORY_TEXT_MAX);
        const old = nearest.find((n) => n.id === d.id);
        const v = await vectorOf(text);
        if (store.update(d.id, { text, importance: Math.max(old?.importance ?? 0, r.importance) }, v, at)) out.updated.push(d.id);
      } else if (d.op === 'DELETE') {
        if (store.delete(d.id)) out.deleted.push(d.id);
      } else {
        out.unchanged++;
        const known = d.id !== undefined ? nearest.find((n) => n.id === d.id) : undefined;
        // Said again: it is still true, and worth at least what it is worth now.
        if (known) store.update(known.id, { importance: Math.max(known.importance, r.importance) }, undefined, at);
      }
    }
  }

  /** The text's vector, or none (no embedder, not ready, cannot embed it, failed: the re-embed will add it). */
  private async vectorFor(text: string, signal?: AbortSignal): Promise<Vector | undefined> {
    const e = this.o.embedder;
    if (!e || e.dim === 0 || e.state().engine_state !== 'ready') return undefined;
    try {
      const [vec] = await e.embed([text], { purpose: 'document', ...(signal ? { signal } : {}) });
      return vec ? { space: e.id, vec } : undefined;
    } catch (err) {
      signal?.throwIfAborted();
      this.o.log.warn({ err: (err as Error).message }, 'could not embed a memory: stored without a vector for now');
      return undefined;
    }
  }
}
