/**
 * Audio helpers for the conversation-panel browser tests: the fake-mic WAV (flite speech, padded
 * with silence, at 48 kHz as a sound card would give), test tones with a known loudness envelope,
 * and the envelope comparison used to check that what the page sent is the speech it was fed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { encodeWav, envelope, parseWav, resample, s16ToFloat } from '../../src/workers/audio/pcm.js';
import { ENVELOPE_FRAME_MS, type ClientEvent } from '../../src/shared/voice.js';

export const FLITE = '/usr/bin/flite';

export function fliteMissing(): string | undefined {
  return existsSync(FLITE) ? undefined : `no flite at ${FLITE} (apt-get install -y flite): the fake microphone's speech is made with it`;
}

export interface FakeMic {
  /** The WAV Chromium plays as the microphone. */
  file: string;
  /** The speech alone at 16 kHz (no padding): the reference for what the page must send. */
  speech16k: Float32Array;
  leadSeconds: number;
}

/** flite's `slt` voice (16 kHz), with `leadSeconds` of silence before and 1.5 s after, written at 48 kHz. */
export function makeFakeMic(text: string, file: string, leadSeconds: number): FakeMic {
  const raw = `${file}.flite.wav`;
  execFileSync(FLITE, ['-voice', 'slt', '-t', text, '-o', raw], { timeout: 20_000 });
  const speech = parseWav(readFileSync(raw));
  const speech16k = resample(speech.samples, speech.sampleRate, 16000);
  const at48 = resample(speech.samples, speech.sampleRate, 48000);
  const lead = Math.round(leadSeconds * 48000);
  const padded = new Float32Array(lead + at48.length + 72000);
  padded.set(at48, lead);
  writeFileSync(file, encodeWav({ samples: padded, sampleRate: 48000 }));
  return { file, speech16k, leadSeconds };
}

/** A tone whose loudness swells and fades `syllables` times (speech-like for a mouth meter). */
export function syllableTone(seconds: number, sampleRate: number, syllables: number, hz = 220): Float32Array {
  const n = Math.round(seconds * sampleRate);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    const swell = Math.sin((Math.PI * syllables * i) / n) ** 2;
    out[i] = 0.5 * swell * Math.sin(2 * Math.PI * hz * t);
  }
  return out;
}

export function envelopeOf(samples: Float32Array, sampleRate: number): number[] {
  return envelope(samples, sampleRate, ENVELOPE_FRAME_MS);
}

export function pcmBytesToFloat(chunks: Buffer[]): Float32Array {
  return s16ToFloat(Buffer.concat(chunks));
}

function pearson(a: number[], b: number[]): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]! - ma;
    const y = b[i]! - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/**
 * Best Pearson correlation of the reference envelope against every placement inside the received
 * envelope (the reference must lie wholly inside it: where the page's capture started relative to
 * the file is unknown). Returns the correlation and the offset in frames.
 */
export function bestAlignment(received: number[], reference: number[]): { r: number; offset: number } {
  let best = { r: -1, offset: -1 };
  for (let off = 0; off + reference.length <= received.length; off++) {
    const r = pearson(received.slice(off, off + reference.length), reference);
    if (r > best.r) best = { r, offset: off };
  }
  return best;
}

/** Float samples in [-1, 1] to s16le bytes. */
export function toS16(samples: Float32Array): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(Math.round(Math.max(-1, Math.min(1, samples[i]!)) * 32767), i * 2);
  return out;
}

/** One reply audio chunk of `samples` as output-handler delivers it (metadata with the PCM inline). */
export function audioChunkEvent(session: string, turn: string, seq: number, samples: Float32Array, rate: number): Extract<ClientEvent, { type: 'audio' }> {
  return {
    type: 'audio',
    session_id: session,
    turn_id: turn,
    task_id: turn,
    seq,
    index: 0,
    chunk: seq,
    format: 'pcm_s16le',
    sample_rate: rate,
    envelope: envelopeOf(samples, rate),
    envelope_frame_ms: 20,
    visemes: [],
    pcm_b64: toS16(samples).toString('base64'),
  };
}
