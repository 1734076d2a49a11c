/**
 * Mouth motion for lip sync, without the DOM: turns a loudness level into a mouth-open value, and
 * smooths what the mouth source says frame by frame so the mouth opens quickly, closes a little
 * slower (as lips do), and settles at exactly 0 when the source goes quiet or away.
 */

/** What a mouth source gives each frame: open in [0, 1], and a form in [-1, 1] where known (visemes). */
export interface MouthShape {
  open: number;
  form?: number;
}

export interface MouthState {
  open: number;
  form: number;
  /** How much of the form to apply over the model's own (0 when no source gives a form). */
  formWeight: number;
}

/** Time constants of the exponential approach, ms. */
export interface MouthSmoothing {
  attackMs: number;
  releaseMs: number;
  formMs: number;
}

export const DEFAULT_SMOOTHING: MouthSmoothing = { attackMs: 20, releaseMs: 45, formMs: 50 };

/** Below this the mouth counts as shut (and is written as exactly 0). */
const CLOSED = 0.004;
/** Envelope values under this are breath or noise, not voice. */
const LEVEL_FLOOR = 0.03;
/** Normal speech (envelope ~0.6) opens the mouth ~80%; loud speech fully. */
const LEVEL_GAIN = 1.35;

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/**
 * A loudness envelope value (the TTS chunks' `envelope`: frame RMS x 6 clipped to [0, 1], so normal
 * speech is ~0.6) to a mouth-open value: linear above a noise floor, so the mouth follows the
 * syllables in proportion.
 */
export function mouthOpenFromLevel(level: number): number {
  if (!Number.isFinite(level) || level <= LEVEL_FLOOR) return 0;
  return clamp((level - LEVEL_FLOOR) * LEVEL_GAIN, 0, 1);
}

export class MouthSmoother {
  private state: MouthState = { open: 0, form: 0, formWeight: 0 };

  constructor(private readonly smoothing: MouthSmoothing = DEFAULT_SMOOTHING) {}

  get current(): Readonly<MouthState> {
    return this.state;
  }

  /** The mouth is shut and no form is applied: nothing left to animate. */
  get settled(): boolean {
    return this.state.open === 0 && this.state.formWeight === 0;
  }

  /** Moves toward `target` (undefined: the source is silent or gone) over `dtMs`. */
  step(target: MouthShape | undefined, dtMs: number): Readonly<MouthState> {
    const dt = Math.max(0, dtMs);
    const s = this.state;
    const wantOpen = target && Number.isFinite(target.open) ? clamp(target.open, 0, 1) : 0;
    const tau = wantOpen > s.open ? this.smoothing.attackMs : this.smoothing.releaseMs;
    let open = s.open + (wantOpen - s.open) * (1 - Math.exp(-dt / tau));
    if (wantOpen === 0 && open < CLOSED) open = 0;

    const hasForm = target?.form !== undefined && Number.isFinite(target.form);
    const k = 1 - Math.exp(-dt / this.smoothing.formMs);
    const form = hasForm ? s.form + (clamp(target.form!, -1, 1) - s.form) * k : s.form;
    let formWeight = s.formWeight + ((hasForm ? 1 : 0) - s.formWeight) * k;
    if (!hasForm && formWeight < CLOSED) formWeight = 0;

    this.state = { open, form: formWeight === 0 ? 0 : form, formWeight };
    return this.state;
  }

  /** Shut at once (a model swap). */
  reset(): void {
    this.state = { open: 0, form: 0, formWeight: 0 };
  }
}
