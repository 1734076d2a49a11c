/**
 * Opus packets (as demuxed from WebM or Ogg) to mono float PCM, with `opus-decoder` (libopus in WASM).
 *
 * libopus decodes natively at 8/12/16/24/48 kHz, so the pipeline asks for 16 kHz directly (no
 * resampling step; libopus band-limits properly). Decoders are kept per channel layout and output
 * rate (one or two per process in practice) and reset after each file; `freeOpusDecoders()` releases
 * them. Pre-skip (the encoder's look-ahead, in 48 kHz samples per the Ogg Opus spec) is trimmed here.
 */
import { OpusDecoder, type OpusDecoderSampleRate } from 'opus-decoder';
import { AudioFormatError, downmix, type Pcm } from './pcm.js';

export const OPUS_RATES: readonly OpusDecoderSampleRate[] = [8000, 12000, 16000, 24000, 48000];

/** The OpusHead identification header (the codec private data in WebM, the first page in Ogg). */
export interface OpusHead {
  channels: number;
  /** Samples at 48 kHz to drop from the start. */
  preSkip: number;
  inputSampleRate: number;
  mappingFamily: number;
  streamCount: number;
  coupledStreamCount: number;
  channelMapping: number[];
}

export function parseOpusHead(b: Uint8Array | undefined, fallbackChannels = 1): OpusHead {
  if (!b || b.length < 19 || Buffer.from(b.buffer, b.byteOffset, 8).toString('latin1') !== 'OpusHead') {
    // WebM may carry no CodecPrivate; RFC 7845 defaults.
    const channels = Math.min(2, Math.max(1, fallbackChannels));
    return { channels, preSkip: 0, inputSampleRate: 48000, mappingFamily: 0, streamCount: 1, coupledStreamCount: channels - 1, channelMapping: channels === 2 ? [0, 1] : [0] };
  }
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const channels = b[9]!;
  const mappingFamily = b[18]!;
  if (channels < 1) throw new AudioFormatError('the Opus header declares 0 channels', 'audio_corrupt');
  let streamCount = 1;
  let coupledStreamCount = channels - 1;
  let channelMapping = channels === 2 ? [0, 1] : [0];
  if (mappingFamily !== 0) {
    if (b.length < 21 + channels) throw new AudioFormatError('the Opus header is truncated (channel mapping)', 'audio_corrupt');
    streamCount = b[19]!;
    coupledStreamCount = b[20]!;
    channelMapping = Array.from(b.subarray(21, 21 + channels));
  } else if (channels > 2) {
    throw new AudioFormatError(`the Opus header declares ${channels} channels with mapping family 0 (at most 2)`, 'audio_corrupt');
  }
  return { channels, preSkip: v.getUint16(10, true), inputSampleRate: v.getUint32(12, true), mappingFamily, streamCount, coupledStreamCount, channelMapping };
}

const decoders = new Map<string, Promise<OpusDecoder<OpusDecoderSampleRate>>>();
let queue: Promise<unknown> = Promise.resolve();
/** libopus's largest packet is 1275 bytes per stream x 6 frames (120 ms); the wrapper's input buffer holds 3840 x channels. */
const maxPacketBytes = (channels: number) => 3840 * channels;

function decoderFor(head: OpusHead, rate: OpusDecoderSampleRate): Promise<OpusDecoder<OpusDecoderSampleRate>> {
  const key = `${rate}/${head.channels}/${head.streamCount}/${head.coupledStreamCount}/${head.channelMapping.join(',')}`;
  let d = decoders.get(key);
  if (!d) {
    const dec = new OpusDecoder<OpusDecoderSampleRate>({
      sampleRate: rate,
      channels: head.channels,
      streamCount: head.streamCount,
      coupledStreamCount: head.coupledStreamCount,
      channelMappingTable: head.channelMapping,
      preSkip: 0,
    });
    d = dec.ready.then(() => dec);
    d.catch(() => decoders.delete(key));
    decoders.set(key, d);
  }
  return d;
}

/** Loads a mono 16 kHz decoder now (service init): the common case of a browser upload. */
export async function initOpusDecoder(): Promise<void> {
  await decoderFor(parseOpusHead(undefined, 1), 16000);
}

export async function freeOpusDecoders(): Promise<void> {
  await queue.catch(() => undefined);
  const all = [...decoders.values()];
  decoders.clear();
  for (const d of all) (await d.catch(() => undefined))?.free();
}

export interface OpusDecodeOptions {
  /** Output rate: one of libopus's rates (default 48 kHz, Opus's own). */
  sampleRate?: OpusDecoderSampleRate;
  /** Total duration in seconds from the container (end trimming), when known. */
  durationS?: number;
  /** Called between batches of packets so a long file does not block the event loop. */
  yieldEvery?: number;
}

/** Decodes the packets of one Opus stream to mono float PCM. */
export function decodeOpusPackets(packets: Uint8Array[], head: OpusHead, opts: OpusDecodeOptions = {}): Promise<Pcm> {
  const run = queue.then(() => decodeNow(packets, head, opts));
  queue = run.catch(() => undefined);
  return run;
}

async function decodeNow(packets: Uint8Array[], head: OpusHead, opts: OpusDecodeOptions): Promise<Pcm> {
  const rate = opts.sampleRate ?? 48000;
  if (packets.length === 0) throw new AudioFormatError('the Opus stream has no audio packets', 'audio_empty');
  const limit = maxPacketBytes(head.streamCount + head.coupledStreamCount);
  const big = packets.findIndex((p) => p.length > limit);
  if (big >= 0) throw new AudioFormatError(`Opus packet ${big} is ${packets[big]!.length} bytes, larger than any valid Opus packet: the file is damaged`, 'audio_corrupt');
  const d = await decoderFor(head, rate);
  const batch = opts.yieldEvery ?? 250; // 250 x 20 ms = 5 s of audio per batch
  const parts: Float32Array[][] = [];
  let total = 0;
  let errors = 0;
  let firstError = '';
  const consoleError = console.error;
  try {
    for (let i = 0; i < packets.length; i += batch) {
      if (i > 0) await new Promise<void>((r) => setImmediate(r));
      // The wrapper console.error()s each bad packet; the errors come back in `errors`.
      console.error = () => undefined;
      let out: ReturnType<OpusDecoder<OpusDecoderSampleRate>['decodeFrames']>;
      try {
        out = d.decodeFrames(packets.slice(i, i + batch));
      } finally {
        console.error = consoleError;
      }
      errors += out.errors.length;
      if (out.errors.length && !firstError) firstError = out.errors[0]!.message;
      parts.push(out.channelData.map((c) => c.subarray(0, out.samplesDecoded)));
      total += out.samplesDecoded;
    }
  } finally {
    await d.reset();
  }
  if (errors > 0) {
    throw new AudioFormatError(`the Opus stream is damaged: ${errors} of ${packets.length} packets failed to decode (${firstError})`, 'audio_corrupt');
  }
  const channels = head.channels;
  const joined: Float32Array[] = [];
  for (let c = 0; c < channels; c++) {
    const a = new Float32Array(total);
    let off = 0;
    for (const p of parts) {
      const ch = p[c] ?? p[0]!;
      a.set(ch, off);
      off += ch.length;
    }
    joined.push(a);
  }
  let mono = downmix(joined);
  const skip = Math.round((head.preSkip * rate) / 48000);
  let end = mono.length;
  if (opts.durationS !== undefined && opts.durationS > 0) end = Math.min(end, skip + Math.round(opts.durationS * rate));
  mono = mono.subarray(Math.min(skip, end), end);
  return { samples: mono, sampleRate: rate };
}
