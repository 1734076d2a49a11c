import { describe, expect, it } from 'vitest';
import { backoffMs } from './source.js';

describe('backoffMs', () => {
  const mid = (): number => 0.5; // no jitter: 0.8 + 0.4 * 0.5 = 1

  it('starts at 1 s and doubles per attempt', () => {
    expect([0, 1, 2, 3, 4].map((a) => backoffMs(a, mid))).toEqual([1000, 2000, 4000, 8000, 16_000]);
  });

  it('is capped at 30 s however many attempts failed', () => {
    expect(backoffMs(5, mid)).toBe(30_000);
    expect(backoffMs(50, mid)).toBe(30_000);
    expect(backoffMs(5000, mid)).toBe(30_000);
  });

  it('jitters by ±20 % around the base, from the injected random', () => {
    expect(backoffMs(0, () => 0)).toBe(800);
    expect(backoffMs(0, () => 0.999_999)).toBe(1200);
    expect(backoffMs(3, () => 0)).toBe(6400);
    expect(backoffMs(10, () => 0)).toBe(24_000);
    expect(backoffMs(10, () => 0.999_999)).toBe(36_000);
  });

  it('treats a negative attempt as the first', () => {
    expect(backoffMs(-3, mid)).toBe(1000);
  });

  it('spreads clients that retry together', () => {
    let seed = 1;
    const lcg = (): number => ((seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647);
    const delays = new Set(Array.from({ length: 20 }, () => backoffMs(2, lcg)));
    expect(delays.size).toBeGreaterThan(10);
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(3200);
      expect(d).toBeLessThanOrEqual(4800);
    }
  });
});
