/**
 * How often the avatar renders, without the DOM: the frame-rate cap the streamer chose (30/60), no
 * frames while the page is hidden, and an idle throttle: when nothing has moved for a while (no
 * speech, no pointer, no emotion, no drag) the idle animation (breathing, blinking, idle motion)
 * runs at a lower rate, which still looks alive but costs a fraction of the GPU and CPU while a
 * game runs beside it.
 */

export interface FramePolicyOptions {
  /** Frames per second at most (the setting). */
  cap: number;
  /** Frames per second once idle. */
  idleFps: number;
  /** Quiet time before the throttle starts, ms. */
  idleAfterMs: number;
}

export const DEFAULT_FRAME_POLICY: FramePolicyOptions = { cap: 60, idleFps: 15, idleAfterMs: 4000 };

/** Caps outside this range are clamped (a typo must not stop the avatar or spin the GPU). */
export const MIN_FPS = 5;
export const MAX_FPS = 240;

export function clampFps(n: number): number {
  if (!Number.isFinite(n)) return DEFAULT_FRAME_POLICY.cap;
  return Math.min(MAX_FPS, Math.max(MIN_FPS, Math.round(n)));
}

export class FramePolicy {
  private opts: FramePolicyOptions;
  private lastActivity: number;

  /** `now` is any monotonic clock in ms (performance.now on the page). */
  constructor(
    opts: Partial<FramePolicyOptions>,
    private readonly now: () => number,
  ) {
    this.opts = { ...DEFAULT_FRAME_POLICY, ...opts };
    this.opts.cap = clampFps(this.opts.cap);
    this.lastActivity = now();
  }

  get cap(): number {
    return this.opts.cap;
  }

  setCap(n: number): void {
    this.opts.cap = clampFps(n);
  }

  /** Something moved (speech, pointer, emotion, drag, a new model): full rate again. */
  activity(): void {
    this.lastActivity = this.now();
  }

  get idle(): boolean {
    return this.now() - this.lastActivity >= this.opts.idleAfterMs;
  }

  /** The frame rate to run at now; 0 means do not render at all. */
  fps(hidden: boolean): number {
    if (hidden) return 0;
    return this.idle ? Math.min(this.opts.cap, this.opts.idleFps) : this.opts.cap;
  }
}
