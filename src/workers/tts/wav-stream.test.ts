import { describe, expect, it } from 'vitest';
import { encodeWav, floatToS16, wavHeader } from '../audio/pcm.js';
import { S16Stream, WavStream } from './wav-stream.js';

const ramp = (n: number) => Float32Array.from({ length: n }, (_, i) => ((i % 200) - 100) / 128);

function feed(stream: { push(b: Uint8Array): Float32Array }, bytes: Uint8Array, sizes: number[]): Float32Array {
  const out: number[] = [];
  let off = 0;
  let k = 0;
  while (off < bytes.length) {
    const n = sizes[k++ % sizes.length]!;
    out.push(...stream.push(bytes.subarray(off, off + n)));
    off += n;
  }
  return Float32Array.from(out);
}

describe('S16Stream', () => {
  it('keeps sample alignment across odd piece boundaries', () => {
    const src = ramp(1000);
    const bytes = floatToS16(src);
    const s = new S16Stream();
    const got = feed(s, bytes, [1, 3, 7, 2, 501]);
    expect(got.length).toBe(1000);
    expect(Array.from(got)).toEqual(Array.from(new S16Stream().push(bytes)));
    expect(s.pending).toBe(0);
  });
});

describe('WavStream', () => {
  it('reads a streaming header (sizes 0) split anywhere, then raw PCM', () => {
    const src = ramp(800);
    const bytes = Buffer.concat([wavHeader(32000, 0), floatToS16(src)]);
    const w = new WavStream();
    const got = feed(w, bytes, [5, 13, 40, 3]);
    expect(w.sampleRate).toBe(32000);
    expect(got.length).toBe(800);
    expect(Math.abs(got[10]! - src[10]!)).toBeLessThan(1e-4);
  });

  it('reads a whole WAV file', () => {
    const w = new WavStream();
    const got = w.push(encodeWav({ samples: ramp(100), sampleRate: 22050 }));
    expect(w.sampleRate).toBe(22050);
    expect(got.length).toBe(100);
  });

  it('rejects what is not mono 16-bit WAV', () => {
    expect(() => new WavStream().push(Buffer.from('{"message":"tts failed"}'))).toThrow(/not WAV/);
    const stereo = wavHeader(16000, 0);
    stereo.writeUInt16LE(2, 22);
    expect(() => new WavStream().push(stereo)).toThrow(/2-channel/);
  });
});
