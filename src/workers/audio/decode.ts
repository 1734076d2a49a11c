/**
 * Any accepted upload to PCM: WAV, WebM/Opus and Ogg/Opus (what browsers' MediaRecorder sends),
 * MP4 with Opus or MP3, MP3, PCM inside WebM (Chromium's `codecs=pcm`), and raw PCM announced by
 * its content type (`audio/pcm;rate=16000`, `audio/L16`, `audio/x-raw;format=S16LE;channels=2`).
 *
 * The container is recognised from the bytes; the content type is only a hint (clients lie), used
 * for raw PCM (which has no magic) and to word errors. Everything is in memory. Failures are
 * `AudioFormatError`s with an `ErrorCodes` code and a message that says what was received and
 * what is accepted.
 */
import { ALL_FORMATS, BufferSource, EncodedPacketSink, Input, type EncodedPacket } from 'mediabunny';
import { ErrorCodes, type ErrorCode } from '../../shared/voice.js';
import { CONTAINER_NAMES, checkEbml, checkIsoBmff, checkOgg, sniffContainer, type Container } from './containers.js';
import { decodeMp3, freeMp3Decoder, initMp3Decoder, mp3DurationS, scanMp3 } from './mp3.js';
import { OPUS_RATES, decodeOpusPackets, freeOpusDecoders, initOpusDecoder, parseOpusHead } from './opus.js';
import { AudioFormatError, downmix, parseWav, peak, resampleInto, type Pcm } from './pcm.js';

export const ACCEPTED_FORMATS = 'WAV, WebM/Opus, Ogg/Opus, MP3, or raw 16-bit PCM sent as audio/pcm;rate=<Hz>';
/** The pipeline's rate (ASR input). */
export const PIPELINE_RATE = 16000;

export interface DecodeOptions {
  /** Preferred output rate: decoders that can produce it natively do (Opus); others keep the file's rate. */
  preferRate?: number;
  /** Reject (audio_too_long) as soon as the duration is known to exceed this, before decoding. */
  maxDurationS?: number;
}

export interface AudioLimits {
  maxBytes: number;
  maxDurationS: number;
  /** Peak level under which audio counts as silent, dBFS (default -50). */
  silenceDbfs?: number;
}

// ---------------------------------------------------------------------------------------------
// Content types

export interface ContentType {
  /** Lower-case `type/subtype`, '' when none was given. */
  mime: string;
  params: Record<string, string>;
}

export function parseContentType(ct: string | undefined): ContentType {
  if (!ct) return { mime: '', params: {} };
  const [head, ...rest] = ct.split(';');
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return { mime: head!.trim().toLowerCase(), params };
}

const RAW_TYPES = new Set(['audio/pcm', 'audio/l16', 'audio/x-raw', 'audio/raw', 'audio/x-pcm', 'audio/basic-pcm']);
const HINTS: Record<string, Container> = {
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/wave': 'wav',
  'audio/vnd.wave': 'wav',
  'audio/webm': 'webm',
  'video/webm': 'webm',
  'audio/x-matroska': 'webm',
  'audio/ogg': 'ogg',
  'audio/opus': 'ogg',
  'application/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/mp4': 'mp4',
  'audio/x-m4a': 'mp4',
  'audio/aac': 'aac',
  'audio/flac': 'flac',
};

// ---------------------------------------------------------------------------------------------
// Decoders' life cycle

/** Loads the WASM decoders (service init), so the first upload does not wait for them. */
export async function initDecoders(): Promise<void> {
  await Promise.all([initMp3Decoder(), initOpusDecoder()]);
}

export async function freeDecoders(): Promise<void> {
  await Promise.all([freeMp3Decoder(), freeOpusDecoders()]);
}

// ---------------------------------------------------------------------------------------------
// Decoding

const err = (code: ErrorCode, message: string) => new AudioFormatError(message, code);
const kb = (n: number) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} bytes`);

const isMp3 = (b: Uint8Array) => scanMp3(b, 4096) !== undefined;

/** Which container the bytes are (undefined: none we know), for logs and tests. */
export function sniffAudio(bytes: Uint8Array): Container | undefined {
  return sniffContainer(bytes, isMp3);
}

/** Decodes a whole file to mono float PCM at the file's own rate (or `preferRate` where native). */
export async function decodeAudio(bytes: Uint8Array, contentType?: string, opts: DecodeOptions = {}): Promise<Pcm> {
  const ct = parseContentType(contentType);
  const declared = ct.mime ? ` (declared ${ct.mime})` : '';
  if (bytes.length === 0) throw err(ErrorCodes.audioEmpty, `the audio is empty: 0 bytes received${declared}`);
  const container = sniffAudio(bytes);
  let pcm: Pcm;
  if (!container) {
    if (RAW_TYPES.has(ct.mime)) pcm = decodeRawPcm(bytes, ct, opts);
    else if (HINTS[ct.mime]) {
      throw err(
        ErrorCodes.audioCorrupt,
        `the upload says ${ct.mime} but its ${kb(bytes.length)} are not a ${CONTAINER_NAMES[HINTS[ct.mime]!]} file: it is damaged or mislabelled (accepted: ${ACCEPTED_FORMATS})`,
      );
    } else {
      throw err(ErrorCodes.audioUnsupported, `unrecognised audio format${declared}, ${kb(bytes.length)} starting ${hexHead(bytes)}; accepted: ${ACCEPTED_FORMATS}`);
    }
  } else if (container === 'wav') {
    pcm = decodeWav(bytes, opts);
  } else if (container === 'mp3') {
    const scan = scanMp3(bytes);
    if (scan && opts.maxDurationS !== undefined) checkDuration(mp3DurationS(scan), opts.maxDurationS, 'MP3');
    pcm = await decodeMp3(bytes);
  } else if (container === 'webm' || container === 'ogg' || container === 'mp4') {
    pcm = await decodeContainer(bytes, container, opts);
  } else {
    throw err(ErrorCodes.audioUnsupported, `${CONTAINER_NAMES[container]} audio is not supported${declared}; accepted: ${ACCEPTED_FORMATS}`);
  }
  if (pcm.samples.length === 0) {
    throw err(ErrorCodes.audioEmpty, `the ${container ? CONTAINER_NAMES[container] : 'PCM'} audio holds no samples (${kb(bytes.length)} received)`);
  }
  return pcm;
}

function hexHead(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, Math.min(8, b.length)).toString('hex').replace(/(..)/g, '$1 ').trim();
}

function checkDuration(seconds: number, maxS: number, what: string): void {
  if (seconds > maxS + 0.05) {
    throw err(ErrorCodes.audioTooLong, `the ${what} audio is ${seconds.toFixed(1)} s long; the limit is ${maxS} s (settings input.maxDurationS)`);
  }
}

function decodeWav(bytes: Uint8Array, opts: DecodeOptions): Pcm {
  // Cheap duration check from the header before converting every sample.
  const info = wavInfo(bytes);
  if (info && opts.maxDurationS !== undefined) checkDuration(info.seconds, opts.maxDurationS, 'WAV');
  return parseWavStrict(bytes);
}

function parseWavStrict(bytes: Uint8Array): Pcm {
  try {
    return parseWav(bytes);
  } catch (e) {
    if (e instanceof AudioFormatError) {
      // parseWav's "not a WAV" cannot happen here (sniffed); its other errors are damage or an encoding we lack.
      throw err(e.code, `${e.message}; accepted: ${ACCEPTED_FORMATS}`);
    }
    throw err(ErrorCodes.audioCorrupt, `the WAV file is damaged: ${(e as Error).message}`);
  }
}

/** Duration from a WAV header (data size / byte rate), when the chunks are where they should be. */
function wavInfo(b: Uint8Array): { seconds: number } | undefined {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  let off = 12;
  let byteRate = 0;
  while (off + 8 <= buf.length) {
    const id = buf.toString('latin1', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === 'fmt ' && off + 16 <= buf.length) byteRate = buf.readUInt32LE(off + 8 + 8);
    if (id === 'data') {
      if (!byteRate) return undefined;
      return { seconds: Math.min(size, buf.length - off - 8) / byteRate };
    }
    off += 8 + size + (size & 1);
  }
  return undefined;
}

/** Raw PCM: `rate` (default 16000), `channels` (default 1), `format`/`endianness` (default s16le). */
function decodeRawPcm(bytes: Uint8Array, ct: ContentType, opts: DecodeOptions): Pcm {
  const rate = ct.params.rate !== undefined ? Number(ct.params.rate) : PIPELINE_RATE;
  const channels = ct.params.channels !== undefined ? Number(ct.params.channels) : 1;
  if (!Number.isInteger(rate) || rate < 4000 || rate > 384000) {
    throw err(ErrorCodes.audioUnsupported, `raw PCM rate=${ct.params.rate} is not usable; send rate=<Hz> between 4000 and 384000 (e.g. audio/pcm;rate=16000)`);
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > 8) {
    throw err(ErrorCodes.audioUnsupported, `raw PCM channels=${ct.params.channels} is not usable; send channels=1..8`);
  }
  const fmt = (ct.params.format ?? ct.params.encoding ?? 's16le').toLowerCase().replace(/^pcm_/, '');
  const bigEndian = (ct.params.endianness ?? '').toLowerCase().startsWith('big') || fmt.endsWith('be');
  const kind = fmt.replace(/(le|be)$/, '');
  const codec = kind === 's16' ? 's16' : kind === 'f32' ? 'f32' : kind === 's32' ? 's32' : undefined;
  if (!codec) throw err(ErrorCodes.audioUnsupported, `raw PCM format=${fmt} is not supported; send s16le (default), s16be, f32le or s32le`);
  const width = codec === 's16' ? 2 : 4;
  const frame = width * channels;
  if (bytes.length < frame) throw err(ErrorCodes.audioEmpty, `the raw PCM holds no whole sample frame (${bytes.length} bytes, ${frame} bytes a frame)`);
  if (opts.maxDurationS !== undefined) checkDuration(bytes.length / frame / rate, opts.maxDurationS, 'PCM');
  const chans = rawToChannels(bytes, channels, `pcm-${codec}${bigEndian ? 'be' : ''}`);
  return { samples: downmix(chans), sampleRate: rate };
}

/** Interleaved integer/float PCM to one Float32Array per channel (mediabunny's PCM codec names). */
function rawToChannels(bytes: Uint8Array, channels: number, codec: string): Float32Array[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const be = codec.endsWith('be');
  const base = codec.replace(/be$/, '');
  const width = { 'pcm-u8': 1, 'pcm-s8': 1, 'pcm-s16': 2, 'pcm-s24': 3, 'pcm-s32': 4, 'pcm-f32': 4, 'pcm-f64': 8 }[base];
  if (!width) throw err(ErrorCodes.audioUnsupported, `${codec} audio is not supported; accepted: ${ACCEPTED_FORMATS}`);
  const le = !be;
  const read: (o: number) => number =
    base === 'pcm-s16'
      ? (o) => v.getInt16(o, le) / 32768
      : base === 'pcm-f32'
        ? (o) => v.getFloat32(o, le)
        : base === 'pcm-s32'
          ? (o) => v.getInt32(o, le) / 2147483648
          : base === 'pcm-f64'
            ? (o) => v.getFloat64(o, le)
            : base === 'pcm-u8'
              ? (o) => (v.getUint8(o) - 128) / 128
              : base === 'pcm-s8'
                ? (o) => v.getInt8(o) / 128
                : (o) => {
                    const x = le ? v.getUint8(o) | (v.getUint8(o + 1) << 8) | (v.getInt8(o + 2) << 16) : (v.getInt8(o) << 16) | (v.getUint8(o + 1) << 8) | v.getUint8(o + 2);
                    return x / 8388608;
                  };
  const frame = width * channels;
  const n = Math.floor(bytes.length / frame);
  const out = Array.from({ length: channels }, () => new Float32Array(n));
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < channels; c++) {
      const x = read(i * frame + c * width);
      out[c]![i] = x >= -1 && x <= 1 ? x : x > 1 ? 1 : x < -1 ? -1 : 0; // NaN -> 0
    }
  }
  return out;
}

async function decodeContainer(bytes: Uint8Array, container: 'webm' | 'ogg' | 'mp4', opts: DecodeOptions): Promise<Pcm> {
  const name = CONTAINER_NAMES[container];
  const problem = container === 'webm' ? checkEbml(bytes) : container === 'ogg' ? checkOgg(bytes) : checkIsoBmff(bytes);
  if (problem) {
    throw err(
      ErrorCodes.audioCorrupt,
      problem.kind === 'truncated'
        ? `the ${name} file is cut off (${problem.detail}): the upload looks incomplete`
        : `the ${name} file is damaged: ${problem.detail}`,
    );
  }
  const input = new Input({ source: new BufferSource(bytes), formats: ALL_FORMATS });
  try {
    let track;
    try {
      track = await input.getPrimaryAudioTrack();
    } catch (e) {
      throw err(ErrorCodes.audioCorrupt, `the ${name} file could not be read: ${(e as Error).message}`);
    }
    if (!track) throw err(ErrorCodes.audioEmpty, `the ${name} file has no audio track`);
    const codec = await track.getCodec();
    const packets: EncodedPacket[] = [];
    try {
      // The demuxer resolves on microtasks: without a macrotask yield now and then, a long file
      // would hold the event loop for the whole demux.
      for await (const p of new EncodedPacketSink(track).packets()) {
        if (packets.push(p) % 500 === 0) await new Promise<void>((r) => setImmediate(r));
      }
    } catch (e) {
      throw err(ErrorCodes.audioCorrupt, `the ${name} file is damaged: ${(e as Error).message}`);
    }
    const last = packets[packets.length - 1];
    const endS = last ? last.timestamp + last.duration : 0;
    if (opts.maxDurationS !== undefined) checkDuration(endS - (packets[0]?.timestamp ?? 0), opts.maxDurationS, name);
    const datas = packets.map((p) => p.data);
    if (codec === 'opus') {
      const cfg = await track.getDecoderConfig();
      const description = cfg?.description ? toBytes(cfg.description) : undefined;
      const head = parseOpusHead(description, await track.getNumberOfChannels());
      const want = opts.preferRate;
      const rate = OPUS_RATES.find((r) => r === want) ?? 48000;
      // Ogg timestamps are exact (granule positions, pre-skip and end trim applied); WebM's are rounded ms.
      return await decodeOpusPackets(datas, head, { sampleRate: rate, durationS: container === 'ogg' && last && last.duration > 0 ? endS : undefined });
    }
    if (codec === 'mp3') return await decodeMp3(concat(datas));
    if (codec && codec.startsWith('pcm-')) {
      const channels = await track.getNumberOfChannels();
      const chans = rawToChannels(concat(datas), channels, codec);
      return { samples: downmix(chans), sampleRate: await track.getSampleRate() };
    }
    throw err(ErrorCodes.audioUnsupported, `${codec ? codecName(codec) : 'unknown-codec'} audio in ${name} is not supported; accepted: ${ACCEPTED_FORMATS}`);
  } finally {
    input.dispose();
  }
}

function codecName(c: string): string {
  return { aac: 'AAC', vorbis: 'Vorbis', flac: 'FLAC', ac3: 'AC-3', eac3: 'E-AC-3', dts: 'DTS', ulaw: 'G.711 u-law', alaw: 'G.711 A-law' }[c] ?? c;
}

function toBytes(d: ArrayBufferLike | ArrayBufferView): Uint8Array {
  if (d instanceof Uint8Array) return d;
  if (ArrayBuffer.isView(d)) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  return new Uint8Array(d);
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Normalising for the pipeline

/** Resamples in one-second slices, yielding to the event loop between them. */
export async function resampleAsync(samples: Float32Array, from: number, to: number): Promise<Float32Array> {
  if (from === to || samples.length === 0) return samples;
  const outLen = Math.max(0, Math.round((samples.length * to) / from));
  const out = new Float32Array(outLen);
  const slice = Math.max(1, to);
  for (let i = 0; i < outLen; i += slice) {
    if (i > 0) await new Promise<void>((r) => setImmediate(r));
    resampleInto(samples, from, to, out, i, Math.min(outLen, i + slice));
  }
  return out;
}

export function toDbfs(level: number): number {
  return level > 0 ? 20 * Math.log10(level) : -Infinity;
}

/**
 * Checks the limits, decodes and converts to 16 kHz mono: what the ASR stage takes. Errors: size
 * (audio_too_large, before anything is decoded), duration (audio_too_long, from headers or packet
 * timestamps where they give it, before decoding), silence (audio_silent), and decodeAudio's.
 */
export async function normaliseAudio(bytes: Uint8Array, contentType: string | undefined, limits: AudioLimits): Promise<{ pcm16k: Pcm; durationMs: number }> {
  if (bytes.length > limits.maxBytes) {
    throw err(ErrorCodes.audioTooLarge, `the upload is ${kb(bytes.length)}; the limit is ${kb(limits.maxBytes)} (settings input.maxBytes)`);
  }
  const pcm = await decodeAudio(bytes, contentType, { preferRate: PIPELINE_RATE, maxDurationS: limits.maxDurationS });
  const durationMs = (pcm.samples.length / pcm.sampleRate) * 1000;
  checkDuration(durationMs / 1000, limits.maxDurationS, 'uploaded');
  const level = toDbfs(peak(pcm.samples));
  const floor = limits.silenceDbfs ?? -50;
  if (level < floor) {
    throw err(
      ErrorCodes.audioSilent,
      `the recording is silent: its loudest sample is ${Number.isFinite(level) ? level.toFixed(0) : '-inf'} dBFS (speech needs at least ${floor} dBFS). Is the microphone muted or the wrong input selected?`,
    );
  }
  const samples = await resampleAsync(pcm.samples, pcm.sampleRate, PIPELINE_RATE);
  return { pcm16k: { samples, sampleRate: PIPELINE_RATE }, durationMs };
}
