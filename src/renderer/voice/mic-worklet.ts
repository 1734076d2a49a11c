/**
 * The mic AudioWorklet: downmixes the input to mono, resamples it from the context's rate to 16 kHz
 * and posts 20 ms frames of s16le PCM (320 samples, 640 bytes) with their RMS level to the page.
 * Loaded with `audioWorklet.addModule(url)` where the URL comes from `import ...?worker&url`: a
 * same-origin file, as the CSP requires (a data: URL would be blocked). Bundled on its own, so it
 * may import plain modules (the resampler) but nothing that touches the DOM.
 *
 * Messages: page -> worklet `{ type: 'flush' }` posts the partial last frame (if any) and then
 * `{ type: 'flushed' }`; worklet -> page `{ type: 'frame', pcm: ArrayBuffer, level }` (buffer
 * transferred) and `{ type: 'error', message }` if the context's rate cannot be handled.
 */
import { MIC_FRAME_SAMPLES, MIC_PROCESSOR, MIC_SAMPLE_RATE, type FromWorklet, type ToWorklet } from './mic-protocol.js';
import { StreamResampler } from './resampler.js';

/** AudioWorkletGlobalScope (TypeScript ships no lib for it). */
declare const sampleRate: number;
declare function registerProcessor(name: string, ctor: new (options?: unknown) => AudioWorkletProcessorLike): void;
interface AudioWorkletProcessorLike {
  readonly port: MessagePort;
  process(inputs: Float32Array[][], outputs: Float32Array[][], parameters: Record<string, Float32Array>): boolean;
}
declare const AudioWorkletProcessor: { prototype: AudioWorkletProcessorLike; new (): AudioWorkletProcessorLike };

const FRAME_SAMPLES = MIC_FRAME_SAMPLES;

class MicCapture extends AudioWorkletProcessor {
  private resampler: StreamResampler | undefined;
  private mono = new Float32Array(128);
  private resampled = new Float32Array(0);
  private frame = new Int16Array(FRAME_SAMPLES);
  private fill = 0;
  private sumSquares = 0;
  private running = true;

  constructor() {
    super();
    try {
      this.resampler = new StreamResampler(sampleRate, MIC_SAMPLE_RATE);
      this.resampled = new Float32Array(this.resampler.maxOutput(128));
    } catch (err) {
      this.send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    }
    this.port.onmessage = (e: MessageEvent<ToWorklet>) => {
      if (e.data?.type === 'flush') {
        if (this.fill > 0) this.post(this.fill);
        this.running = false;
        this.send({ type: 'flushed' });
      }
    };
  }

  override process(inputs: Float32Array[][]): boolean {
    const resampler = this.resampler;
    if (!this.running || !resampler) return this.running;
    const channels = inputs[0];
    // An input with no channels (nothing connected yet, or the track ended) carries no samples.
    if (!channels || channels.length === 0 || !channels[0]) return true;
    const n = channels[0].length;
    if (this.mono.length < n) this.mono = new Float32Array(n);
    const mono = this.mono;
    if (channels.length === 1) mono.set(channels[0]);
    else {
      mono.fill(0, 0, n);
      const g = 1 / channels.length;
      for (const ch of channels) for (let i = 0; i < n; i++) mono[i]! += ch[i]! * g;
    }
    const need = resampler.maxOutput(n);
    if (this.resampled.length < need) this.resampled = new Float32Array(need);
    const count = resampler.process(n === mono.length ? mono : mono.subarray(0, n), this.resampled);
    for (let i = 0; i < count; i++) {
      const v = Math.max(-1, Math.min(1, this.resampled[i]!));
      this.sumSquares += v * v;
      this.frame[this.fill++] = v < 0 ? Math.round(v * 32768) : Math.round(v * 32767);
      if (this.fill === FRAME_SAMPLES) this.post(FRAME_SAMPLES);
    }
    return true;
  }

  private send(msg: FromWorklet, transfer: Transferable[] = []): void {
    this.port.postMessage(msg, transfer);
  }

  private post(samples: number): void {
    const level = Math.sqrt(this.sumSquares / samples);
    const pcm = samples === FRAME_SAMPLES ? this.frame.buffer : this.frame.slice(0, samples).buffer;
    this.send({ type: 'frame', pcm, level }, [pcm]);
    this.frame = new Int16Array(FRAME_SAMPLES);
    this.fill = 0;
    this.sumSquares = 0;
  }
}

registerProcessor(MIC_PROCESSOR, MicCapture);
