import { describe, expect, it } from 'vitest';
import { clampTransform, dragged, placement, sameTransform, wheeled } from './transform.js';

const canvas = { width: 600, height: 800 };

describe('placement', () => {
  it('centres the model and fits its own canvas into ours, with a margin', () => {
    const p = placement(canvas, { width: 1200, height: 1200 }, { x: 0, y: 0, scale: 1 });
    expect(p).toEqual({ x: 300, y: 400, scale: 0.5 * 0.95 });
  });

  it('offsets by canvas fractions and multiplies the fitted scale', () => {
    const p = placement(canvas, { width: 300, height: 1600 }, { x: 0.25, y: -0.1, scale: 2 });
    expect(p.x).toBe(450);
    expect(p.y).toBeCloseTo(320);
    expect(p.scale).toBeCloseTo(0.5 * 0.95 * 2);
  });

  it('survives a model with no size yet and a transform out of range', () => {
    expect(placement(canvas, { width: 0, height: 0 }, { x: 9, y: -9, scale: 100 })).toEqual({ x: 300 + 2 * 600, y: 400 - 2 * 800, scale: 0.95 * 10 });
  });
});

describe('gestures', () => {
  it('drag moves by the pointer distance in canvas fractions', () => {
    expect(dragged({ x: 0, y: 0, scale: 1 }, 60, -80, canvas)).toEqual({ x: 0.1, y: -0.1, scale: 1 });
    expect(dragged({ x: 1.95, y: 0, scale: 1 }, 600, 0, canvas).x).toBe(2);
    expect(dragged({ x: 0.3, y: 0, scale: 1 }, 10, 0, { width: 0, height: 0 })).toEqual({ x: 0.3, y: 0, scale: 1 });
  });

  it('wheel up grows, wheel down shrinks, about 10% a notch, within the saved range', () => {
    const up = wheeled({ x: 0, y: 0, scale: 1 }, -100);
    const down = wheeled({ x: 0, y: 0, scale: 1 }, 100);
    expect(up.scale).toBeCloseTo(1.105, 3);
    expect(down.scale).toBeCloseTo(0.905, 3);
    expect(wheeled({ x: 0, y: 0, scale: 0.06 }, 5000).scale).toBe(0.05);
    expect(wheeled({ x: 0, y: 0, scale: 9 }, -5000).scale).toBe(10);
  });

  it('clamps what cannot be saved and compares transforms', () => {
    expect(clampTransform({ x: Number.NaN, y: 3, scale: -1 })).toEqual({ x: 0, y: 2, scale: 0.05 });
    expect(sameTransform({ x: 0, y: 0, scale: 1 }, { x: 0, y: 0, scale: 1 })).toBe(true);
    expect(sameTransform({ x: 0, y: 0, scale: 1 }, { x: 0, y: 0, scale: 1.1 })).toBe(false);
  });
});
