import { describe, expect, it } from 'vitest';
import { MAX_ID_PART, compareId, decrId, formatId, incrId, parseId } from './stream-id.js';
import { errText, id } from './stream-test-util.js';

const MAX = MAX_ID_PART;

describe('stream ids', () => {
  it('parses the forms redis-server accepts', () => {
    expect(parseId('-')).toEqual({ ms: 0, seq: 0 });
    expect(parseId('+')).toEqual({ ms: MAX, seq: MAX });
    expect(parseId('5')).toEqual({ ms: 5, seq: 0 });
    expect(parseId('5', { defaultSeq: 'max' })).toEqual({ ms: 5, seq: MAX });
    expect(parseId('05-01')).toEqual({ ms: 5, seq: 1 });
    expect(parseId(' 5')).toEqual({ ms: 5, seq: 0 }); // strtoull skips blanks
    expect(parseId('+5-+2')).toEqual({ ms: 5, seq: 2 });
    expect(parseId('1700000000000-42')).toEqual({ ms: 1700000000000, seq: 42 });
    expect(parseId(`${MAX}-${MAX}`)).toEqual({ ms: MAX, seq: MAX });
  });

  it('rejects malformed and out-of-range ids with the Redis text', () => {
    const bad = ['', 'abc', '1-x', '1-2-3', '-1', '5-', '-5', '5-*', '*', '1.5', '0x10', `${MAX + 1}`,
      '18446744073709551615-0', '18446744073709551616', '1'.repeat(128)];
    for (const s of bad) {
      expect(errText(() => parseId(s)), s).toBe('ERR Invalid stream ID specified as stream command argument');
    }
  });

  it('formats, compares and steps ids across the seq rollover', () => {
    expect(formatId({ ms: 12, seq: 3 })).toBe('12-3');
    expect(compareId(id('1-5'), id('2-0'))).toBe(-1);
    expect(compareId(id('2-1'), id('2-0'))).toBe(1);
    expect(compareId(id('2-1'), id('2-1'))).toBe(0);
    expect(incrId(id('3-4'))).toEqual(id('3-5'));
    expect(incrId({ ms: 3, seq: MAX })).toEqual(id('4-0'));
    expect(incrId({ ms: MAX, seq: MAX })).toBeNull();
    expect(decrId(id('3-4'))).toEqual(id('3-3'));
    expect(decrId(id('4-0'))).toEqual({ ms: 3, seq: MAX });
    expect(decrId(id('0-0'))).toBeNull();
    expect(decrId(id('0-1'))).toEqual(id('0-0'));
  });
});
