/**
 * Memories from finished turns (mem0 style), the interface the service calls (facts/pipeline.ts
 * implements it):
 *   1. candidates: the LLM lists facts worth keeping from the turn (about the speaker, the
 *      streamer, the avatar's promises, preferences, events), each with a subject, a kind and an
 *      importance; by rules (rules.ts, English and Chinese patterns) when the LLM is unreachable,
 *      answers garbage, or `memory.extraction` is 'rules';
 *   2. for each candidate, the nearest stored memories of the same persona and subject (the store's
 *      hybrid search), and a decision: ADD it, UPDATE one of them (merged text), DELETE one it
 *      contradicts, or NONE (already known; the known one is refreshed);
 *   3. the decisions are applied to the store, new texts embedded first (a text that could not be
 *      embedded is stored without a vector and picked up by the background re-embed).
 * The recalled memories of the turn are touched (used: their importance stops decaying for now).
 */
import type { LtmTurn } from '../../../shared/long-term.js';

export interface TurnOutcome {
  /** How the candidates were found for this turn. */
  via: 'llm' | 'rules' | 'off';
  added: number[];
  updated: number[];
  deleted: number[];
  /** Candidates that were already known. */
  unchanged: number;
  /** Why the LLM was not used (unreachable, garbage answer), when it was meant to be. */
  llmError?: string;
}

export interface FactPipelineApi {
  /**
   * Handles one finished turn. Resolves when its memories are stored (the stream entry is then
   * acknowledged); rejects only when the store itself fails (the entry stays pending and is
   * retried), never because the LLM failed.
   */
  handleTurn(turn: LtmTurn, signal?: AbortSignal): Promise<TurnOutcome>;
  close(): Promise<void>;
}
