/**
 * Microphone capture for the session socket: getUserMedia (echo cancellation and noise suppression
 * on, so the avatar's own voice from the speakers is not heard as the user barging in) -> the mic
 * AudioWorklet (downmix, resample to 16 kHz, 20 ms s16le frames) -> `onFrame`.
 *
 * Everything is opened on start and released on stop (tracks stopped, context closed), so the
 * browser's "mic in use" indicator is honest. A permission prompt happens only on the first start.
 */
import micWorkletUrl from './mic-worklet.ts?worker&url';
import { micDeviceConstraint } from './mic-device.js';
import { MIC_PROCESSOR, type FromWorklet, type ToWorklet } from './mic-protocol.js';
import { STRINGS } from './strings.js';

export interface MicCallbacks {
  /** One frame of 16 kHz s16le mono PCM (the buffer is the page's to keep). */
  onFrame(pcm: ArrayBuffer, level: number): void;
  /** The device went away while capturing (unplugged, permission revoked). */
  onEnded(message: string): void;
}

export interface MicHandle {
  /** The context's own rate (what the worklet resamples from). */
  readonly inputRate: number;
  /** Posts the partial last frame, then releases the device. Resolves when done. */
  stop(): Promise<void>;
}

/** A readable reason for a getUserMedia / AudioWorklet failure. */
export class MicError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'MicError';
  }
}

export function describeMicError(err: unknown): MicError {
  if (err instanceof MicError) return err;
  const name = err instanceof DOMException || err instanceof Error ? err.name : '';
  const detail = err instanceof Error ? err.message : String(err);
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
      return new MicError(STRINGS.micDenied, 'denied');
    case 'NotFoundError':
    case 'DevicesNotFoundError':
      return new MicError(STRINGS.micNotFound, 'not_found');
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return new MicError(STRINGS.micBusy, 'busy');
    case 'OverconstrainedError':
      return new MicError(STRINGS.micNotFound, 'not_found');
    case 'SecurityError':
      return new MicError(STRINGS.micInsecure, 'insecure');
    default:
      return new MicError(`${STRINGS.micFailed} (${detail || name || 'unknown error'})`, 'failed');
  }
}

const FLUSH_TIMEOUT_MS = 200;

export async function openMic(cb: MicCallbacks): Promise<MicHandle> {
  if (!navigator.mediaDevices?.getUserMedia) throw new MicError(STRINGS.micInsecure, 'insecure');
  let stream: MediaStream | undefined;
  let ctx: AudioContext | undefined;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: { ideal: 1 }, ...micDeviceConstraint() },
      video: false,
    });
    ctx = new AudioContext({ latencyHint: 'interactive' });
    await ctx.audioWorklet.addModule(micWorkletUrl);
    const source = ctx.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(ctx, MIC_PROCESSOR, { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
    const tracks = stream.getAudioTracks();
    const context = ctx;
    let flushed: (() => void) | undefined;
    let closed = false;

    node.port.onmessage = (e: MessageEvent<FromWorklet>) => {
      const msg = e.data;
      if (msg.type === 'frame') cb.onFrame(msg.pcm, msg.level);
      else if (msg.type === 'flushed') flushed?.();
      else if (msg.type === 'error') cb.onEnded(`${STRINGS.micFailed} (${msg.message})`);
    };
    const onTrackEnded = () => {
      if (!closed) cb.onEnded(STRINGS.micLost);
    };
    for (const t of tracks) t.addEventListener('ended', onTrackEnded);

    // The worklet writes silence to its output; connecting it to the destination keeps it pulled.
    source.connect(node);
    node.connect(context.destination);
    if (context.state !== 'running') await context.resume();

    return {
      inputRate: context.sampleRate,
      async stop() {
        if (closed) return;
        closed = true;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, FLUSH_TIMEOUT_MS);
          flushed = () => {
            clearTimeout(timer);
            resolve();
          };
          node.port.postMessage({ type: 'flush' } satisfies ToWorklet);
        });
        node.port.onmessage = null;
        for (const t of tracks) {
          t.removeEventListener('ended', onTrackEnded);
          t.stop();
        }
        source.disconnect();
        node.disconnect();
        await context.close().catch(() => {});
      },
    };
  } catch (err) {
    stream?.getTracks().forEach((t) => t.stop());
    await ctx?.close().catch(() => {});
    throw describeMicError(err);
  }
}
