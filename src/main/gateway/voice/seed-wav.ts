/**
 * The reply audio of a seed task as one playable file. The seed's front end joins the binary
 * frames of `/ws/output/{task_id}` into a Blob and hands it to `decodeAudioData`, which decodes
 * WAV or MP3 but not raw PCM: the turn's PCM (s16le mono) gets a RIFF/WAVE header.
 */

/** Bytes per binary frame of the file (the seed's output handler sent 64 KiB chunks). */
export const SEED_AUDIO_CHUNK_BYTES = 64 * 1024;

/** A 44-byte canonical WAVE header for `dataBytes` of 16-bit mono PCM at `sampleRate`. */
export function wavHeader(dataBytes: number, sampleRate: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(16, 16); // fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28); // byte rate
  h.writeUInt16LE(2, 32); // block align
  h.writeUInt16LE(16, 34); // bits per sample
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

/** The WAV file of `pcm` (s16le mono), split into frames of at most `chunkBytes`. */
export function wavFrames(pcm: Buffer[], sampleRate: number, chunkBytes = SEED_AUDIO_CHUNK_BYTES): Buffer[] {
  const dataBytes = pcm.reduce((n, b) => n + b.byteLength, 0);
  const file = Buffer.concat([wavHeader(dataBytes, sampleRate), ...pcm], 44 + dataBytes);
  const frames: Buffer[] = [];
  for (let off = 0; off < file.byteLength; off += chunkBytes) frames.push(file.subarray(off, off + chunkBytes));
  return frames;
}

/**
 * Linear resampling of s16le mono PCM: one file has one rate, and a turn whose engine changed
 * rate mid-reply (a fallback voice) is brought to the rate of its first chunk.
 */
export function resampleS16(pcm: Buffer, from: number, to: number): Buffer {
  if (from === to) return pcm;
  const n = pcm.byteLength >> 1;
  const m = Math.max(0, Math.round((n * to) / from));
  const out = Buffer.alloc(m * 2);
  for (let i = 0; i < m; i++) {
    const x = (i * from) / to;
    const j = Math.floor(x);
    const a = pcm.readInt16LE(Math.min(j, n - 1) * 2);
    const b = pcm.readInt16LE(Math.min(j + 1, n - 1) * 2);
    out.writeInt16LE(Math.round(a + (b - a) * (x - j)), i * 2);
  }
  return out;
}
