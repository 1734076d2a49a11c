import { describe, expect, it } from 'vitest';
import { OutputLimits } from './output-limits.js';

const MB = 1024 * 1024;
const state = () => ({ obufSoftSince: -1 });

describe('client-output-buffer-limit rules', () => {
  it("starts with redis-server's defaults and reports them as CONFIG GET does", () => {
    const l = new OutputLimits();
    expect(l.format()).toBe('normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60');
  });

  it('parses units, classes and saturation like redis', () => {
    const l = new OutputLimits();
    l.set('pubsub 1m 1k 0 replica 1gb 1g 1 NORMAL 01 1KB -0');
    expect(l.format()).toBe('normal 1 1024 0 slave 1073741824 1000000000 1 pubsub 1000000 1000 0');
    l.set('pubsub 18446744073709551616 0 0');
    expect(l.get('pubsub').hard).toBe(18446744073709551615n);
    l.set('');
    expect(l.get('pubsub').hard).toBe(18446744073709551615n);
  });

  it("refuses bad values with redis's texts and changes nothing", () => {
    const l = new OutputLimits();
    const before = l.format();
    const prefix = "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - ";
    for (const [v, why] of [
      ['foo 1 2 3', 'Invalid client class specified in buffer limit configuration.'],
      ['master 1 1 1', 'Invalid client class specified in buffer limit configuration.'],
      ['pubsub 1 2', 'Wrong number of arguments in buffer limit configuration.'],
      ['pubsub  1 1 1', 'Wrong number of arguments in buffer limit configuration.'],
      ['pubsub x 2 3', 'Error in hard, soft or soft_seconds setting in buffer limit configuration.'],
      ['pubsub 1.5mb 0 0', 'Error in hard, soft or soft_seconds setting in buffer limit configuration.'],
      ['pubsub 1 2 -5', 'Error in hard, soft or soft_seconds setting in buffer limit configuration.'],
      ['pubsub 1 1 2147483648', 'Error in hard, soft or soft_seconds setting in buffer limit configuration.'],
      ['normal 1 1 1 pubsub 1 1 x', 'Error in hard, soft or soft_seconds setting in buffer limit configuration.'],
    ]) {
      expect(() => l.set(v), v).toThrow(prefix + why);
    }
    expect(l.format()).toBe(before);
  });

  it('closes at the hard limit at once', () => {
    const l = new OutputLimits();
    const st = state();
    expect(l.check('pubsub', 32 * MB - 1, st, 0)).toBe('ok');
    expect(l.check('pubsub', 32 * MB, st, 0)).toBe('hard');
    expect(l.check('normal', 1024 * MB, state(), 0)).toBe('ok');
  });

  it('closes above the soft limit only after soft_seconds of being above it without a break', () => {
    const l = new OutputLimits();
    const st = state();
    let now = 1_000;
    expect(l.due('pubsub', 8 * MB - 1, st)).toBe(false);
    expect(l.due('pubsub', 8 * MB, st)).toBe(true);
    expect(l.check('pubsub', 8 * MB, st, now)).toBe('ok');
    now += 60_000;
    expect(l.check('pubsub', 9 * MB, st, now)).toBe('ok');
    // Below the soft limit once: the timer starts again.
    expect(l.due('pubsub', 1, st)).toBe(true);
    expect(l.check('pubsub', 1, st, now)).toBe('ok');
    expect(st.obufSoftSince).toBe(-1);
    expect(l.due('pubsub', 1, st)).toBe(false);
    expect(l.check('pubsub', 8 * MB, st, now)).toBe('ok');
    now += 60_000;
    expect(l.check('pubsub', 8 * MB, st, now)).toBe('ok');
    now += 1;
    expect(l.check('pubsub', 8 * MB, st, now)).toBe('soft');
  });

  it('applies limits set for the normal class; 0 disables a limit', () => {
    const l = new OutputLimits();
    l.set('normal 2mb 0 0 pubsub 0 0 0');
    expect(l.due('pubsub', 1024 * MB, state())).toBe(false);
    expect(l.check('normal', 2 * MB, state(), 0)).toBe('hard');
  });
});
