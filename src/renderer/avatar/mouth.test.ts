import { describe, expect, it } from 'vitest';
import { MouthSmoother, mouthOpenFromLevel } from './mouth.js';

/** Runs the smoother at 60 fps for `ms` toward `target`. */
function run(s: MouthSmoother, target: Parameters<MouthSmoother['step']>[0], ms: number) {
  let out = s.current;
  for (let t = 0; t < ms; t += 16) out = s.step(target, 16);
  return out;
}

describe('mouthOpenFromLevel', () => {
  it('is shut for silence and noise, proportional above the floor, full for loud speech', () => {
    expect(mouthOpenFromLevel(0)).toBe(0);
    expect(mouthOpenFromLevel(0.02)).toBe(0);
    expect(mouthOpenFromLevel(Number.NaN)).toBe(0);
    const quiet = mouthOpenFromLevel(0.2);
    const normal = mouthOpenFromLevel(0.6);
    expect(quiet).toBeGreaterThan(0.1);
    expect(normal).toBeGreaterThan(quiet * 2.5);
    expect(normal).toBeCloseTo(0.77, 2);
    expect(mouthOpenFromLevel(1)).toBe(1);
  });
});

describe('MouthSmoother', () => {
  it('opens quickly toward the target', () => {
    const s = new MouthSmoother();
    expect(s.step({ open: 1 }, 16).open).toBeGreaterThan(0.4);
    expect(run(s, { open: 1 }, 100).open).toBeGreaterThan(0.98);
  });

  it('closes a little slower than it opens, and settles at exactly 0 when the source goes silent or away', () => {
    const a = new MouthSmoother();
    run(a, { open: 1 }, 200);
    const opened = new MouthSmoother().step({ open: 1 }, 16).open;
    const closed = 1 - a.step({ open: 0 }, 16).open;
    expect(closed).toBeLessThan(opened);
    expect(run(a, undefined, 400).open).toBe(0);
    expect(a.settled).toBe(true);
    const b = new MouthSmoother();
    run(b, { open: 0.7 }, 200);
    expect(run(b, { open: 0 }, 400).open).toBe(0);
  });

  it('follows a syllable rhythm rather than holding the peak', () => {
    const s = new MouthSmoother();
    const trace: number[] = [];
    for (let i = 0; i < 60; i++) trace.push(s.step({ open: Math.sin((Math.PI * i) / 15) ** 2 }, 16).open);
    const valleys = trace.filter((v, i) => i > 0 && i < trace.length - 1 && v < trace[i - 1]! && v <= trace[i + 1]!);
    expect(valleys.length).toBeGreaterThanOrEqual(3);
    expect(Math.min(...trace.slice(10))).toBeLessThan(0.2);
  });

  it('blends a form in while a source gives one, and lets go of it when none does', () => {
    const s = new MouthSmoother();
    const withForm = run(s, { open: 0.5, form: 0.8 }, 300);
    expect(withForm.form).toBeCloseTo(0.8, 2);
    expect(withForm.formWeight).toBeGreaterThan(0.99);
    const without = run(s, { open: 0.5 }, 500);
    expect(without.formWeight).toBe(0);
    expect(without.form).toBe(0);
  });

  it('clamps a source out of range, and a swap resets at once', () => {
    const s = new MouthSmoother();
    expect(run(s, { open: 3, form: -5 }, 400)).toMatchObject({ open: expect.closeTo(1, 3), form: expect.closeTo(-1, 3) });
    s.reset();
    expect(s.current).toEqual({ open: 0, form: 0, formWeight: 0 });
  });

  it('takes a long frame (a throttled or late frame) in one step without overshooting', () => {
    const s = new MouthSmoother();
    expect(s.step({ open: 0.6 }, 500).open).toBeCloseTo(0.6, 3);
    expect(s.step({ open: 0 }, 500).open).toBe(0);
  });
});
