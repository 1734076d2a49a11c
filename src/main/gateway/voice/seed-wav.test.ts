import { describe, expect, it } from 'vitest';
import { resampleS16, wavFrames, wavHeader } from './seed-wav.js';

const s16 = (...v: number[]) => {
  const b = Buffer.alloc(v.length * 2);
  v.forEach((x, i) => b.writeInt16LE(x, i * 2));
  return b;
};

describe('seed reply audio as WAV', () => {
  it('writes a canonical 16-bit mono header for the data that follows', () => {
    const h = wavHeader(1000, 22050);
    expect(h.length).toBe(44);
    expect(h.toString('latin1', 0, 4) + h.toString('latin1', 8, 16) + h.toString('latin1', 36, 40)).toBe('RIFFWAVEfmt data');
    expect([h.readUInt32LE(4), h.readUInt16LE(20), h.readUInt16LE(22), h.readUInt32LE(24), h.readUInt32LE(28), h.readUInt16LE(32), h.readUInt16LE(34), h.readUInt32LE(40)]).toEqual([
      1036, 1, 1, 22050, 44100, 2, 16, 1000,
    ]);
  });

  it('splits header + PCM into frames of at most chunkBytes, in order', () => {
    const pcm = [s16(1, 2, 3), s16(4, 5)];
    const frames = wavFrames(pcm, 16000, 16);
    expect(frames.map((f) => f.length)).toEqual([16, 16, 16, 6]);
    const file = Buffer.concat(frames);
    expect(file.readUInt32LE(40)).toBe(10);
    expect(file.subarray(44).equals(s16(1, 2, 3, 4, 5))).toBe(true);
  });

  it('resamples linearly: the same rate unchanged, double rate interpolated', () => {
    const x = s16(0, 100, -100);
    expect(resampleS16(x, 24000, 24000)).toBe(x);
    expect([...new Int16Array(new Uint8Array(resampleS16(x, 12000, 24000)).buffer)]).toEqual([0, 50, 100, 0, -100, -100]);
    expect(resampleS16(s16(1, 2, 3, 4), 48000, 24000).length).toBe(4);
  });
});
