import { describe, expect, it } from 'vitest';
import { shapeMouth, VisemeTrack, VISEME_SHAPES } from './visemes.js';

describe('VisemeTrack', () => {
  it('anchors each sentence at its first chunk and finds the viseme playing at a time', () => {
    const track = new VisemeTrack();
    // Sentence 0 plays from 10.0 s: chunk 0 (0.1 s) then chunk 1 (0.2 s), visemes on the chunk they start in.
    track.add('t1', 0, 0, 10.0, 10.1, [
      { t_ms: 0, v: 'sil' },
      { t_ms: 50, v: 'A' },
    ]);
    track.add('t1', 0, 1, 10.1, 10.3, [
      { t_ms: 120, v: 'M' },
      { t_ms: 200, v: 'I' },
    ]);
    expect(track.visemeAt(9.99)).toBeUndefined();
    expect(track.visemeAt(10.01)).toBe('sil');
    expect(track.visemeAt(10.06)).toBe('A');
    expect(track.visemeAt(10.15)).toBe('M');
    expect(track.visemeAt(10.25)).toBe('I');
    expect(track.visemeAt(10.3)).toBeUndefined();
  });

  it('keeps sentences apart, and forgets a stopped turn', () => {
    const track = new VisemeTrack();
    track.add('t1', 0, 0, 1, 2, [{ t_ms: 0, v: 'O' }]);
    track.add('t1', 1, 0, 2, 3, [{ t_ms: 500, v: 'U' }]);
    track.add('t2', 0, 0, 3, 4, [{ t_ms: 0, v: 'E' }]);
    expect(track.visemeAt(1.5)).toBe('O');
    expect(track.visemeAt(2.2)).toBeUndefined(); // sentence 1 starts silent until 2.5 s
    expect(track.visemeAt(2.6)).toBe('U');
    track.stop('t1');
    expect(track.visemeAt(1.5)).toBeUndefined();
    expect(track.visemeAt(3.5)).toBe('E');
    track.prune(4);
    expect(track.visemeAt(3.5)).toBeUndefined();
  });

  it('has nothing for chunks without visemes (an engine without timings)', () => {
    const track = new VisemeTrack();
    track.add('t1', 0, 0, 0, 1, []);
    expect(track.visemeAt(0.5)).toBeUndefined();
  });
});

describe('shapeMouth', () => {
  it('leaves the opening alone without a viseme', () => {
    expect(shapeMouth(0.6, undefined)).toEqual({ open: 0.6 });
    expect(shapeMouth(0.6, 'unknown')).toEqual({ open: 0.6 });
  });

  it('spreads for I, rounds for U, and nearly shuts the lips for M', () => {
    expect(shapeMouth(0.8, 'I').form).toBeGreaterThan(0);
    expect(shapeMouth(0.8, 'U').form).toBeLessThan(0);
    expect(shapeMouth(0.8, 'M').open).toBeLessThan(0.1);
    expect(shapeMouth(0.8, 'A')).toEqual({ open: 0.8, form: 0 });
    for (const s of Object.values(VISEME_SHAPES)) expect(Math.abs(s.form)).toBeLessThanOrEqual(1);
  });
});
