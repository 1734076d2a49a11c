/**
 * MP3 (MPEG-1/2/2.5 Layer I/II/III) to mono float PCM, with `mpg123-decoder` (libmpg123 in WASM).
 *
 * One decoder per process, created on first use and reset after each file (a reset is ~0.5 ms once
 * warm; without it the gapless trimming state of one file leaks into the next). Calls are serialised:
 * the decoder is a single WASM instance. `freeMp3Decoder()` releases it (service dispose).
 *
 * libmpg123 happily "finds" frames in any byte soup (a WAV decodes to noise), so the bytes are first
 * walked frame by frame here: `scanMp3` finds the first run of consistent frame headers (after an
 * ID3v2 tag) and tells whether the stream ends inside a frame (a cut-off upload) or has junk between
 * frames. Both are `audio_corrupt` unless `allowDamage` is set (a TTS engine's stream, where a short
 * tail is better than nothing).
 */
import { MPEGDecoder } from 'mpg123-decoder';
import { AudioFormatError, downmix, type Pcm } from './pcm.js';

// ---------------------------------------------------------------------------------------------
// Frame headers

const BITRATES_KBPS = {
  // [version 1][layer] and [version 2/2.5][layer]; index 0 = free format, 15 = invalid
  v1: {
    1: [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
    2: [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
    3: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  },
  v2: {
    1: [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
    2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    3: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  },
} as const;
const SAMPLE_RATES = { 1: [44100, 48000, 32000], 2: [22050, 24000, 16000], 2.5: [11025, 12000, 8000] } as const;

export interface Mp3FrameHeader {
  /** MPEG version: 1, 2 or 2.5. */
  version: 1 | 2 | 2.5;
  layer: 1 | 2 | 3;
  bitrateKbps: number;
  sampleRate: number;
  channels: 1 | 2;
  /** Whole frame length in bytes, header included. */
  length: number;
}

/** Parses the 4-byte frame header at `off`, or undefined when it is not a valid (non-free-format) one. */
export function parseMp3FrameHeader(b: Uint8Array, off: number): Mp3FrameHeader | undefined {
  if (off + 4 > b.length) return undefined;
  const b1 = b[off + 1]!;
  const b2 = b[off + 2]!;
  if (b[off] !== 0xff || (b1 & 0xe0) !== 0xe0) return undefined;
  const vBits = (b1 >> 3) & 3;
  const lBits = (b1 >> 1) & 3;
  const brIdx = b2 >> 4;
  const srIdx = (b2 >> 2) & 3;
  if (vBits === 1 || lBits === 0 || brIdx === 0 || brIdx === 15 || srIdx === 3) return undefined;
  const version = vBits === 3 ? 1 : vBits === 2 ? 2 : 2.5;
  const layer = (4 - lBits) as 1 | 2 | 3;
  const bitrateKbps = (version === 1 ? BITRATES_KBPS.v1 : BITRATES_KBPS.v2)[layer][brIdx]!;
  const sampleRate = SAMPLE_RATES[version][srIdx]!;
  const pad = (b2 >> 1) & 1;
  const bps = bitrateKbps * 1000;
  let length: number;
  if (layer === 1) length = (Math.floor((12 * bps) / sampleRate) + pad) * 4;
  else if (layer === 3 && version !== 1) length = Math.floor((72 * bps) / sampleRate) + pad;
  else length = Math.floor((144 * bps) / sampleRate) + pad;
  const channels = ((b[off + 3]! >> 6) & 3) === 3 ? 1 : 2;
  return { version, layer, bitrateKbps, sampleRate, channels, length };
}

/** Size of an ID3v2 tag at the start (0 when there is none). */
export function id3v2Size(b: Uint8Array): number {
  if (b.length < 10 || b[0] !== 0x49 || b[1] !== 0x44 || b[2] !== 0x33) return 0; // 'ID3'
  const size = ((b[6]! & 0x7f) << 21) | ((b[7]! & 0x7f) << 14) | ((b[8]! & 0x7f) << 7) | (b[9]! & 0x7f);
  const footer = b[5]! & 0x10 ? 10 : 0;
  return 10 + size + footer;
}

/** Two consistent headers in a row (or one frame that ends exactly at the end of the bytes). */
function isFrameRun(b: Uint8Array, off: number): Mp3FrameHeader | undefined {
  const h = parseMp3FrameHeader(b, off);
  if (!h) return undefined;
  const next = off + h.length;
  if (next === b.length) return h;
  const h2 = parseMp3FrameHeader(b, next);
  if (!h2 || h2.version !== h.version || h2.layer !== h.layer || h2.sampleRate !== h.sampleRate) return undefined;
  return h;
}

export interface Mp3Scan {
  /** Offset of the first frame. */
  start: number;
  first: Mp3FrameHeader;
  frames: number;
  /** Bytes the stream would need for its last frame to be whole (0 = it is whole). */
  missingBytes: number;
  /** Offsets where bytes that are no frame (and no tag) were found between frames. */
  junkAt: number[];
}

/**
 * Walks the frames. `searchLimit` bounds how far past an ID3v2 tag the first frame may start
 * (sniffing wants a small one). Undefined when no run of MP3 frames is found.
 */
export function scanMp3(b: Uint8Array, searchLimit = 64 * 1024): Mp3Scan | undefined {
  const tag = id3v2Size(b);
  let start = -1;
  let first: Mp3FrameHeader | undefined;
  for (let off = tag, end = Math.min(b.length - 4, tag + searchLimit); off <= end; off++) {
    if (b[off] !== 0xff) continue;
    first = isFrameRun(b, off);
    if (first) {
      start = off;
      break;
    }
  }
  if (!first) return undefined;
  let frames = 0;
  let missingBytes = 0;
  const junkAt: number[] = [];
  let off = start;
  while (off < b.length) {
    const h = parseMp3FrameHeader(b, off);
    if (h && h.sampleRate === first.sampleRate && h.layer === first.layer) {
      if (off + h.length > b.length) {
        missingBytes = off + h.length - b.length;
        break;
      }
      frames++;
      off += h.length;
      continue;
    }
    if (isTrailer(b, off)) break;
    if (b.length - off < 4 && b[off] === 0xff) {
      missingBytes = 4 - (b.length - off); // the file ends inside the next frame's header
      break;
    }
    // Not a frame: look for the next run of frames; bytes up to the end are trailing junk.
    let resume = -1;
    for (let k = off + 1; k <= b.length - 4; k++) {
      if (b[k] === 0xff && isFrameRun(b, k)) {
        resume = k;
        break;
      }
    }
    if (resume < 0) {
      if (!isZeros(b, off)) junkAt.push(off);
      break;
    }
    junkAt.push(off);
    off = resume;
  }
  return { start, first, frames, missingBytes, junkAt };
}

/** Samples per frame: 384 (Layer I), 1152 (Layer II, and Layer III of MPEG-1), 576 (Layer III of MPEG-2/2.5). */
export function mp3SamplesPerFrame(h: Mp3FrameHeader): number {
  return h.layer === 1 ? 384 : h.layer === 3 && h.version !== 1 ? 576 : 1152;
}

/** Duration from the frame count (the first frame may be a Xing/Info header: at most one frame off). */
export function mp3DurationS(scan: Mp3Scan): number {
  return (scan.frames * mp3SamplesPerFrame(scan.first)) / scan.first.sampleRate;
}

function isTrailer(b: Uint8Array, off: number): boolean {
  const s = Buffer.from(b.buffer, b.byteOffset + off, Math.min(8, b.length - off)).toString('latin1');
  return s.startsWith('TAG') || s.startsWith('APETAGEX') || s.startsWith('LYRICS') || s.startsWith('ID3');
}

function isZeros(b: Uint8Array, off: number): boolean {
  for (let i = off; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Bytes fed to the decoder per slice (64 KB: ~10 s at 48 kbit/s, ~4 s at 128 kbit/s). */
const MP3_SLICE_BYTES = 64 * 1024;

let decoder: MPEGDecoder | undefined;
let decoderReady: Promise<MPEGDecoder> | undefined;
/** Serialises decodes: one WASM instance. */
let queue: Promise<unknown> = Promise.resolve();

function getDecoder(): Promise<MPEGDecoder> {
  if (!decoderReady) {
    const d = new MPEGDecoder();
    decoderReady = d.ready.then(() => {
      decoder = d;
      return d;
    });
    decoderReady.catch(() => {
      decoderReady = undefined;
    });
  }
  return decoderReady;
}

/** Loads the WASM decoder now (service init), so the first upload does not pay for it. */
export async function initMp3Decoder(): Promise<void> {
  await getDecoder();
}

/** Releases the decoder (service dispose). A later decode creates a new one. */
export async function freeMp3Decoder(): Promise<void> {
  await queue.catch(() => undefined);
  const d = decoder;
  decoder = undefined;
  decoderReady = undefined;
  d?.free();
}

export interface Mp3Options {
  /** Decode what is there even when the stream is cut off or has junk between frames. */
  allowDamage?: boolean;
}

/** Decodes a whole MP3 file to mono float PCM at the file's own rate. */
export function decodeMp3(bytes: Uint8Array, opts: Mp3Options = {}): Promise<Pcm> {
  const run = queue.then(() => decodeNow(bytes, opts));
  queue = run.catch(() => undefined);
  return run;
}

async function decodeNow(bytes: Uint8Array, opts: Mp3Options): Promise<Pcm> {
  if (bytes.length === 0) throw new AudioFormatError('the MP3 file is empty (0 bytes)', 'audio_empty');
  const scan = scanMp3(bytes);
  if (!scan) throw new AudioFormatError(`no MP3 frames found in ${bytes.length} bytes: the file is damaged or not MP3`, 'audio_corrupt');
  if (!opts.allowDamage) {
    if (scan.missingBytes > 0) {
      throw new AudioFormatError(
        `the MP3 file ends in the middle of a frame (${scan.missingBytes} bytes missing after ${scan.frames} whole frames): the upload looks cut off`,
        'audio_corrupt',
      );
    }
    if (scan.junkAt.length > 0) {
      throw new AudioFormatError(
        `the MP3 file has ${scan.junkAt.length} damaged stretch(es) between frames (first at byte ${scan.junkAt[0]})`,
        'audio_corrupt',
      );
    }
  }
  const d = await getDecoder();
  try {
    const input = new Uint8Array(bytes.buffer, bytes.byteOffset + scan.start, bytes.length - scan.start);
    // Fed in slices (~10 s of speech-rate MP3 each), yielding between them: a long file must not
    // hold the event loop. libmpg123 keeps its state across calls (feed mode).
    const parts: Float32Array[][] = [];
    const errors: string[] = [];
    let total = 0;
    let rate = 0;
    for (let off = 0; off < input.length; off += MP3_SLICE_BYTES) {
      if (off > 0) await new Promise<void>((r) => setImmediate(r));
      // libmpg123's wrapper console.error()s each bad frame; the errors come back in `out.errors`.
      const consoleError = console.error;
      console.error = () => undefined;
      let out: ReturnType<MPEGDecoder['decode']>;
      try {
        out = d.decode(input.subarray(off, off + MP3_SLICE_BYTES));
      } finally {
        console.error = consoleError;
      }
      for (const e of out.errors) errors.push(e.message);
      if (out.samplesDecoded > 0) {
        parts.push(out.channelData.map((c) => c.subarray(0, out.samplesDecoded)));
        total += out.samplesDecoded;
        rate = out.sampleRate;
      }
    }
    if (total === 0) {
      throw new AudioFormatError(`the MP3 file decoded to no samples${errors[0] ? ` (${errors[0]})` : ''}`, scan.frames > 1 ? 'audio_corrupt' : 'audio_empty');
    }
    if (errors.length > 0 && !opts.allowDamage) {
      throw new AudioFormatError(`the MP3 file is damaged: ${errors.length} frame(s) failed to decode (${errors[0]})`, 'audio_corrupt');
    }
    const nch = scan.first.channels === 1 ? 1 : 2;
    const channels: Float32Array[] = [];
    for (let c = 0; c < nch; c++) {
      const a = new Float32Array(total);
      let o = 0;
      for (const p of parts) {
        a.set(p[c] ?? p[0]!, o);
        o += p[0]!.length;
      }
      channels.push(a);
    }
    return { samples: downmix(channels), sampleRate: rate };
  } finally {
    await d.reset();
  }
}
