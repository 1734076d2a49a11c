/**
 * The output handler's settings (`settings.output` of the config schema): how long an audio gap
 * may wait, and how many turns are tracked and remembered.
 */
import { ConfigSchema, type Config } from '../../shared/config.js';

export type OutputKnobs = Config['output'];

/** The schema's defaults. */
export const DEFAULT_OUTPUT_KNOBS: OutputKnobs = ConfigSchema.shape.output.parse({});
