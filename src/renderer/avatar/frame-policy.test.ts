import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clampFps, FramePolicy } from './frame-policy.js';

describe('FramePolicy', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  const policy = (cap = 60) => new FramePolicy({ cap, idleFps: 20, idleAfterMs: 4000 }, () => Date.now());

  it('runs at the cap while things move, and drops to the idle rate after a quiet while', () => {
    const p = policy();
    expect(p.fps(false)).toBe(60);
    vi.advanceTimersByTime(3999);
    expect(p.fps(false)).toBe(60);
    vi.advanceTimersByTime(1);
    expect(p.idle).toBe(true);
    expect(p.fps(false)).toBe(20);
  });

  it('is back at the cap on any activity, and throttles again only after another quiet while', () => {
    const p = policy();
    vi.advanceTimersByTime(10_000);
    expect(p.fps(false)).toBe(20);
    p.activity();
    expect(p.fps(false)).toBe(60);
    vi.advanceTimersByTime(3000);
    p.activity();
    vi.advanceTimersByTime(3000);
    expect(p.fps(false)).toBe(60);
    vi.advanceTimersByTime(1000);
    expect(p.fps(false)).toBe(20);
  });

  it('renders nothing while hidden, whatever moves', () => {
    const p = policy();
    p.activity();
    expect(p.fps(true)).toBe(0);
  });

  it('never idles above the cap: a 15 fps cap stays 15', () => {
    const p = policy(15);
    vi.advanceTimersByTime(10_000);
    expect(p.fps(false)).toBe(15);
  });

  it('takes a new cap at once, clamped to a sane range', () => {
    const p = policy();
    p.setCap(30);
    expect(p.fps(false)).toBe(30);
    p.setCap(0);
    expect(p.cap).toBe(5);
    p.setCap(10_000);
    expect(p.cap).toBe(240);
    expect(clampFps(Number.NaN)).toBe(60);
    expect(clampFps(29.6)).toBe(30);
  });
});
