/**
 * Incremental readers for audio that arrives in pieces over a pipe or an HTTP body:
 * - `S16Stream`: raw 16-bit little-endian mono PCM; keeps an odd byte across piece boundaries.
 * - `WavStream`: a RIFF/WAVE header (sizes ignored: streaming writers put 0 or 0xFFFFFFFF there)
 *   followed by 16-bit PCM; yields samples once the header is complete.
 */
import { AudioFormatError } from '../audio/pcm.js';

export class S16Stream {
  private carry: number | undefined;

  /** Converts a piece of s16le bytes to samples; an odd trailing byte waits for the next piece. */
  push(bytes: Uint8Array): Float32Array {
    let start = 0;
    const total = bytes.length + (this.carry === undefined ? 0 : 1);
    const n = total >> 1;
    const out = new Float32Array(n);
    let i = 0;
    if (this.carry !== undefined && bytes.length > 0) {
      const v = this.carry | (bytes[0]! << 8);
      out[i++] = (v >= 0x8000 ? v - 0x10000 : v) / 32768;
      start = 1;
      this.carry = undefined;
    }
    for (; i < n; i++, start += 2) {
      const v = bytes[start]! | (bytes[start + 1]! << 8);
      out[i] = (v >= 0x8000 ? v - 0x10000 : v) / 32768;
    }
    if (start < bytes.length) this.carry = bytes[start];
    return out;
  }

  /** Bytes left over (an odd byte at the end of the stream). */
  get pending(): number {
    return this.carry === undefined ? 0 : 1;
  }
}

export class WavStream {
  private head: Buffer = Buffer.alloc(0);
  private pcm: S16Stream | undefined;
  /** Known once the header is parsed. */
  sampleRate: number | undefined;

  push(bytes: Uint8Array): Float32Array {
    if (this.pcm) return this.pcmPiece(bytes);
    this.head = Buffer.concat([this.head, bytes]);
    if (this.head.length < 12) return new Float32Array(0);
    if (this.head.toString('latin1', 0, 4) !== 'RIFF' || this.head.toString('latin1', 8, 12) !== 'WAVE') {
      throw new AudioFormatError('the audio stream is not WAV (no RIFF/WAVE header)', 'audio_unsupported');
    }
    let off = 12;
    while (off + 8 <= this.head.length) {
      const id = this.head.toString('latin1', off, off + 4);
      const size = this.head.readUInt32LE(off + 4);
      const body = off + 8;
      if (id === 'fmt ') {
        if (body + 16 > this.head.length) return new Float32Array(0);
        const format = this.head.readUInt16LE(body);
        const channels = this.head.readUInt16LE(body + 2);
        const bits = this.head.readUInt16LE(body + 14);
        if ((format !== 1 && format !== 0xfffe) || bits !== 16 || channels !== 1) {
          throw new AudioFormatError(`the WAV stream is ${channels}-channel ${bits}-bit (format ${format}); expected mono 16-bit PCM`, 'audio_unsupported');
        }
        this.sampleRate = this.head.readUInt32LE(body + 4);
      } else if (id === 'data') {
        if (this.sampleRate === undefined) throw new AudioFormatError('WAV data chunk before its fmt chunk');
        this.pcm = new S16Stream();
        const rest = this.head.subarray(body);
        this.head = Buffer.alloc(0);
        return this.pcmPiece(rest);
      }
      off = body + size + (size & 1);
    }
    return new Float32Array(0);
  }

  /** true once the header has been read. */
  get started(): boolean {
    return this.pcm !== undefined;
  }

  private pcmPiece(bytes: Uint8Array): Float32Array {
    return this.pcm!.push(bytes);
  }
}
