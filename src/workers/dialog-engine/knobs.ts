/**
 * The dialog engine's settings (`settings.dialog` of the config schema): the user-facing policy
 * (barge-in, what happens to input while a turn runs) and its timings (watchdog, noise, listening,
 * playback margin, sessions kept).
 */
import { ConfigSchema, type Config } from '../../shared/config.js';

/** The policy: barge-in, and what happens to input while a turn runs. */
export type DialogSettings = Pick<Config['dialog'], 'bargeIn' | 'typedPolicy' | 'chatPolicy' | 'maxQueue'>;

/** The timings the engine runs on. */
export type DialogKnobs = Pick<Config['dialog'], 'watchdogMs' | 'noiseMs' | 'listenMaxMs' | 'playbackMarginMs' | 'maxSessions'>;

export function knobsOf(d: DialogKnobs): DialogKnobs {
  return { watchdogMs: d.watchdogMs, noiseMs: d.noiseMs, listenMaxMs: d.listenMaxMs, playbackMarginMs: d.playbackMarginMs, maxSessions: d.maxSessions };
}

/** The schema's defaults. */
export const DEFAULT_KNOBS: DialogKnobs = knobsOf(ConfigSchema.shape.dialog.parse({}));
