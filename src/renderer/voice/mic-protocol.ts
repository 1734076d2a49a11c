/**
 * What the page and the mic AudioWorklet (mic-worklet.ts) say to each other. Kept apart from the
 * worklet file: importing that one would run `registerProcessor` on the page.
 */

/** Name the worklet registers its processor under. */
export const MIC_PROCESSOR = 'fav-mic-capture';
/** Rate and frame length of what the worklet posts (the session API's mic format). */
export const MIC_SAMPLE_RATE = 16000;
export const MIC_FRAME_MS = 20;
export const MIC_FRAME_SAMPLES = (MIC_SAMPLE_RATE * MIC_FRAME_MS) / 1000;

export type ToWorklet = { type: 'flush' };
export type FromWorklet =
  /** s16le mono PCM at MIC_SAMPLE_RATE (MIC_FRAME_SAMPLES samples, fewer for the flushed tail); level = RMS in [0, 1]. */
  | { type: 'frame'; pcm: ArrayBuffer; level: number }
  | { type: 'flushed' }
  | { type: 'error'; message: string };
