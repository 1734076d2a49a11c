import { describe, expect, it } from 'vitest';
import { Chunker } from './chunker.js';

const tone = (n: number, rate = 16000) => Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * 220 * i) / rate) * 0.3);

describe('Chunker', () => {
  it('cuts a whole sentence into a short first chunk, then 200 ms chunks, the last final', () => {
    const c = new Chunker();
    const samples = tone(16000); // 1 s at 16 kHz
    const out = c.push({ samples, sampleRate: 16000 });
    const last = c.finish()!;
    const all = [...out, last];
    expect(all.map((x) => x.samples.length)).toEqual([1600, 3200, 3200, 3200, 3200, 1600]);
    expect(all.map((x) => x.chunk)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(all.map((x) => x.final)).toEqual([false, false, false, false, false, true]);
    // Sizes are whole 20 ms frames and the audio is intact, in order.
    expect(Float32Array.from(all.flatMap((x) => [...x.samples]))).toEqual(samples);
    expect(all.map((x) => x.startMs)).toEqual([0, 100, 300, 500, 700, 900]);
    expect(last.durationMs).toBe(100);
  });

  it('streams: emits as soon as enough audio is buffered and never ends on an empty chunk', () => {
    const c = new Chunker();
    const rate = 24000;
    const src = tone(rate, rate);
    const chunks = [];
    for (let off = 0; off < src.length; off += 1000) chunks.push(...c.push({ samples: src.subarray(off, off + 1000), sampleRate: rate }));
    const last = c.finish();
    expect(last).toBeDefined();
    expect(last!.samples.length).toBeGreaterThan(0);
    expect(chunks[0]!.samples.length).toBe(2400);
    const total = chunks.reduce((n, x) => n + x.samples.length, 0) + last!.samples.length;
    expect(total).toBe(src.length);
    expect(c.finish()).toBeUndefined();
  });

  it('puts each viseme on the chunk it starts in, with sentence-relative times', () => {
    const c = new Chunker();
    const visemes = [
      { t_ms: 0, v: 'sil' },
      { t_ms: 90, v: 'A' },
      { t_ms: 150, v: 'M' },
      { t_ms: 650, v: 'O' },
    ];
    const out = [...c.push({ samples: tone(16000), sampleRate: 16000, visemes }), c.finish()!];
    expect(out[0]!.visemes.map((v) => v.v)).toEqual(['sil', 'A']);
    expect(out[1]!.visemes.map((v) => v.v)).toEqual(['M']);
    expect(out[3]!.visemes).toEqual([{ t_ms: 650, v: 'O' }]);
    expect(out.flatMap((x) => x.visemes)).toHaveLength(4);
  });

  it('resamples a piece that comes at another rate', () => {
    const c = new Chunker();
    c.push({ samples: tone(1600), sampleRate: 16000 });
    c.push({ samples: tone(3200, 32000), sampleRate: 32000 });
    const last = c.finish()!;
    expect(last.sampleRate).toBe(16000);
    expect(c.totalSamples).toBe(3200);
  });

  it('gives nothing for no audio', () => {
    const c = new Chunker();
    expect(c.push({ samples: new Float32Array(0), sampleRate: 16000 })).toEqual([]);
    expect(c.finish()).toBeUndefined();
  });
});
