import { describe, expect, it } from 'vitest';
import { visemeOf, visemesFromPhoneTimes } from './visemes.js';

describe('visemeOf', () => {
  it.each([
    ['pau', 'sil'],
    ['aa', 'A'],
    ['iy', 'I'],
    ['uw', 'U'],
    ['eh', 'E'],
    ['ow', 'O'],
    ['m', 'M'],
    ['b', 'M'],
    ['p', 'M'],
    ['f', 'F'],
    ['v', 'F'],
    ['t', 'T'],
    ['s', 'T'],
    ['AA1', 'A'],
    ['zzz', 'T'],
  ])('%s -> %s', (phone, v) => expect(visemeOf(phone)).toBe(v));
});

describe('visemesFromPhoneTimes', () => {
  it('starts each viseme where the previous phone ended, merging repeats', () => {
    const v = visemesFromPhoneTimes('pau:0.164 hh:0.255 ax:0.304 l:0.412 ow:0.523 pau:0.700 \n');
    expect(v).toEqual([
      { t_ms: 0, v: 'sil', phone: 'pau' },
      { t_ms: 164, v: 'A', phone: 'hh' }, // hh and ax both open: one viseme
      { t_ms: 304, v: 'T', phone: 'l' },
      { t_ms: 412, v: 'O', phone: 'ow' },
      { t_ms: 523, v: 'sil', phone: 'pau' },
    ]);
  });

  it('keeps times monotonic when a second line restarts at zero', () => {
    const v = visemesFromPhoneTimes('pau:0.1 m:0.2 aa:0.3\npau:0.1 f:0.2 iy:0.3\n');
    const times = v.map((x) => x.t_ms);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(v.at(-1)).toMatchObject({ v: 'I', t_ms: 500 });
  });

  it('ignores noise', () => {
    expect(visemesFromPhoneTimes('warning: something\n')).toEqual([]);
  });
});
