/**
 * Process knobs of the output handler (environment, for tests and tuning):
 *   FAV_OUTPUT_GAP_MS        audio waiting behind a missing sentence this long (nothing new for the
 *                            turn meanwhile) skips the missing part (5000). Happens only when a TTS
 *                            instance died with a sentence, or skipped one without saying so.
 *   FAV_OUTPUT_MAX_TURNS     turns tracked at once; past it the oldest is forgotten (1000)
 *   FAV_OUTPUT_CANCEL_KEEP_MS a cancelled turn whose turn_end never comes is forgotten after this (30000)
 *   FAV_OUTPUT_MAX_CLOSED    ids of ended turns remembered so their late chunks are dropped (10000)
 */
import { envNumber } from '../runtime/config.js';

export interface OutputKnobs {
  gapMs: number;
  maxTurns: number;
  cancelKeepMs: number;
  maxClosed: number;
}

export const DEFAULT_OUTPUT_KNOBS: OutputKnobs = { gapMs: 5000, maxTurns: 1000, cancelKeepMs: 30_000, maxClosed: 10_000 };


export function outputKnobsFromEnv(env: NodeJS.ProcessEnv = process.env): OutputKnobs {
  return {
    gapMs: envNumber(env, 'FAV_OUTPUT_GAP_MS', DEFAULT_OUTPUT_KNOBS.gapMs, 1),
    maxTurns: envNumber(env, 'FAV_OUTPUT_MAX_TURNS', DEFAULT_OUTPUT_KNOBS.maxTurns, 1),
    cancelKeepMs: envNumber(env, 'FAV_OUTPUT_CANCEL_KEEP_MS', DEFAULT_OUTPUT_KNOBS.cancelKeepMs, 1),
    maxClosed: envNumber(env, 'FAV_OUTPUT_MAX_CLOSED', DEFAULT_OUTPUT_KNOBS.maxClosed, 1),
  };
}
