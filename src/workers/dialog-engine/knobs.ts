/**
 * Timings of the dialog engine. The user-facing policy lives in the app settings
 * (`settings.dialog`); these are process knobs with safe defaults, set by environment so tests
 * can shorten them:
 *   FAV_DIALOG_WATCHDOG_MS        a turn with no progress this long ends with worker_lost (60000).
 *                                 Generous on purpose: a worker killed mid-turn gets its task back
 *                                 from the reliable queue after its restart, seconds later.
 *   FAV_DIALOG_NOISE_MS           after speech_end, how long to wait for the utterance's input
 *                                 before deciding it was noise and going back to idle (5000)
 *   FAV_DIALOG_LISTEN_MAX_MS      listening with no speech_end this long -> idle (30000)
 *   FAV_DIALOG_PLAYBACK_MARGIN_MS when no client reports playback_done, the turn ends this long
 *                                 after its audio would have finished playing (1500)
 *   FAV_DIALOG_MAX_SESSIONS       sessions kept in memory; idle ones are forgotten first (1000)
 */
import { envNumber } from '../runtime/config.js';
import type { Config } from '../../shared/config.js';

export type DialogSettings = Config['dialog'];

export interface DialogKnobs {
  watchdogMs: number;
  noiseMs: number;
  listenMaxMs: number;
  playbackMarginMs: number;
  maxSessions: number;
}

export const DEFAULT_KNOBS: DialogKnobs = {
  watchdogMs: 60_000,
  noiseMs: 5000,
  listenMaxMs: 30_000,
  playbackMarginMs: 1500,
  maxSessions: 1000,
};


export function knobsFromEnv(env: NodeJS.ProcessEnv = process.env): DialogKnobs {
  return {
    watchdogMs: envNumber(env, 'FAV_DIALOG_WATCHDOG_MS', DEFAULT_KNOBS.watchdogMs, 1),
    noiseMs: envNumber(env, 'FAV_DIALOG_NOISE_MS', DEFAULT_KNOBS.noiseMs, 1),
    listenMaxMs: envNumber(env, 'FAV_DIALOG_LISTEN_MAX_MS', DEFAULT_KNOBS.listenMaxMs, 1),
    playbackMarginMs: envNumber(env, 'FAV_DIALOG_PLAYBACK_MARGIN_MS', DEFAULT_KNOBS.playbackMarginMs, 0),
    maxSessions: envNumber(env, 'FAV_DIALOG_MAX_SESSIONS', DEFAULT_KNOBS.maxSessions, 1),
  };
}
