import { describe, expect, it } from 'vitest';
import { MAX_ID_PART, RedisStream, compareId, decrId, formatId, incrId, parseId, type Field, type StreamEntry } from './stream.js';
import { ALL, errText, filled, id, ids } from './stream-test-util.js';

const MAX = MAX_ID_PART;

describe('XADD', () => {
  it('auto ids use max(now, last ms) and bump seq within a millisecond', () => {
    const s = new RedisStream();
    expect(formatId(s.add('*', ['a', '1'], 1000))).toBe('1000-0');
    expect(formatId(s.add('*', ['a', '2'], 1000))).toBe('1000-1');
    expect(formatId(s.add('*', ['a', '3'], 999))).toBe('1000-2'); // clock went back
    expect(formatId(s.add('*', ['a', '4'], 1001))).toBe('1001-0');
    expect(s.length).toBe(4);
    expect(s.entriesAdded).toBe(4);
    expect(formatId(s.lastId)).toBe('1001-0');
  });

  it('ms-* picks the next seq of that millisecond, 0-* starts at 0-1', () => {
    const s = new RedisStream();
    expect(formatId(s.add('0-*', ['a', '1'], 0))).toBe('0-1');
    expect(formatId(s.add('0-*', ['a', '1'], 0))).toBe('0-2');
    expect(formatId(s.add('5-*', ['a', '1'], 0))).toBe('5-0');
    expect(formatId(s.add('5-*', ['a', '1'], 0))).toBe('5-1');
    expect(errText(() => s.add('4-*', ['a', '1'], 0))).toMatch(/equal or smaller than the target stream top item/);
    expect(errText(() => s.add('x-*', ['a', '1'], 0))).toMatch(/Invalid stream ID/);
  });

  it('explicit ids must grow and be above 0-0', () => {
    const s = new RedisStream();
    expect(errText(() => s.add('0-0', ['a', '1'], 0))).toBe('ERR The ID specified in XADD must be greater than 0-0');
    expect(errText(() => s.add('0', ['a', '1'], 0))).toBe('ERR The ID specified in XADD must be greater than 0-0');
    expect(formatId(s.add('0-1', ['a', '1'], 0))).toBe('0-1');
    expect(errText(() => s.add('0-1', ['a', '1'], 0))).toBe('ERR The ID specified in XADD is equal or smaller than the target stream top item');
    expect(formatId(s.add('7', ['a', '1'], 0))).toBe('7-0');
    expect(errText(() => s.add('-', ['a', '1'], 0))).toMatch(/Invalid stream ID/);
    expect(errText(() => s.add('+', ['a', '1'], 0))).toMatch(/Invalid stream ID/);
    expect(s.length).toBe(2);
  });

  it('rolls seq over into the next millisecond and reports exhaustion at the top', () => {
    const s = new RedisStream();
    s.add(`5-${MAX}`, ['a', '1'], 0);
    expect(formatId(s.add('*', ['a', '2'], 3))).toBe('6-0');
    const t = new RedisStream();
    t.add(`5-${MAX}`, ['a', '1'], 0);
    expect(errText(() => t.add('5-*', ['a', '1'], 0))).toMatch(/equal or smaller/);
    t.add(`${MAX}-${MAX}`, ['a', '1'], 0);
    const exhausted = 'ERR The stream has exhausted the last possible ID, unable to add more items';
    expect(errText(() => t.add('*', ['a', '1'], 0))).toBe(exhausted);
    expect(errText(() => t.add(`${MAX}-*`, ['a', '1'], 0))).toBe(exhausted);
    expect(errText(() => t.add('9-9', ['a', '1'], 0))).toBe(exhausted);
  });

  it('takes a flat even list of fields, keeping strings and Buffers as given', () => {
    const s = new RedisStream();
    expect(errText(() => s.add('*', [], 1))).toBe("ERR wrong number of arguments for 'xadd' command");
    expect(errText(() => s.add('*', ['a'], 1))).toBe("ERR wrong number of arguments for 'xadd' command");
    const big = Buffer.alloc(2048, 7);
    s.add('1-1', ['k', big, '\xff\x00', 'v'], 0);
    const e = s.firstEntry!;
    expect(e.fields[1]).toBe(big);
    expect(e.fields[2]).toBe('\xff\x00');
  });
});

describe('XRANGE, XREVRANGE, XREAD', () => {
  it('ranges are inclusive, COUNT limits, reverse walks from the end', () => {
    const s = filled(10);
    expect(ids(s.range(id('3'), id('5', ), undefined))).toEqual(['3-0', '4-0', '5-0']);
    expect(ids(s.range(id('3'), parseId('5', { defaultSeq: 'max' })))).toEqual(['3-0', '4-0', '5-0']);
    expect(ids(s.range(...ALL, 2))).toEqual(['1-0', '2-0']);
    expect(ids(s.range(...ALL, 3, true))).toEqual(['10-0', '9-0', '8-0']);
    expect(ids(s.range(id('2'), id('4'), undefined, true))).toEqual(['4-0', '3-0', '2-0']);
    expect(s.range(...ALL, 0)).toEqual([]);
    expect(s.range(...ALL, -1)).toEqual([]);
    expect(s.range(id('5'), id('4'))).toEqual([]);
    expect(s.range(id('11'), id('+'))).toEqual([]);
    expect(s.range(...ALL)[0].fields).toEqual(['f', 'v1']);
  });

  it('exclusive bounds via incrId/decrId', () => {
    const s = filled(5);
    expect(ids(s.range(incrId(id('2-0'))!, decrId(id('5-0'))!))).toEqual(['3-0', '4-0']);
  });

  it('after() gives entries past an id, COUNT 0 meaning all', () => {
    const s = filled(5);
    expect(ids(s.after(id('3-0')))).toEqual(['4-0', '5-0']);
    expect(ids(s.after(id('2-5'), 1))).toEqual(['3-0']);
    expect(ids(s.after(id('0-0'), 0))).toHaveLength(5);
    expect(s.after(id('5-0'))).toEqual([]);
    expect(s.after(parseId('+'))).toEqual([]);
  });
});

describe('XDEL', () => {
  it('deletes by id, skips missing ones, tracks max-deleted-id and the edges', () => {
    const s = filled(6);
    expect(s.delete([id('3-0'), id('3-0'), id('9-0'), id('1-0')])).toBe(2);
    expect(s.length).toBe(4);
    expect(formatId(s.maxDeletedId)).toBe('3-0');
    expect(formatId(s.firstEntry!.id)).toBe('2-0');
    expect(formatId(s.firstId)).toBe('2-0');
    expect(ids(s.range(...ALL))).toEqual(['2-0', '4-0', '5-0', '6-0']);
    expect(ids(s.range(...ALL, undefined, true))).toEqual(['6-0', '5-0', '4-0', '2-0']);
    expect(s.get(id('3-0'))).toBeUndefined();
    expect(s.delete([id('6-0')])).toBe(1);
    expect(formatId(s.lastEntry!.id)).toBe('5-0');
    expect(formatId(s.lastId)).toBe('6-0'); // the top id stays
    expect(formatId(s.maxDeletedId)).toBe('6-0');
    expect(() => s.add('6-0', ['a', 'b'], 0)).toThrow(/equal or smaller/);
    s.delete([id('2-0'), id('4-0'), id('5-0')]);
    expect(s.length).toBe(0);
    expect(s.firstEntry).toBeUndefined();
    expect(s.lastEntry).toBeUndefined();
    expect(formatId(s.firstId)).toBe('0-0');
    expect(s.entriesAdded).toBe(6);
  });

  it('stays correct through many middle deletions (tombstone compaction)', () => {
    const s = filled(2000);
    const gone = [];
    for (let i = 2; i <= 1999; i++) if (i % 3 !== 0) gone.push(id(`${i}-0`));
    expect(s.delete(gone)).toBe(gone.length);
    const left = s.range(...ALL).map((e) => e.id.ms);
    expect(left).toEqual([1, ...Array.from({ length: 666 }, (_, k) => 3 * (k + 1)), 2000]);
    expect(ids(s.range(id('10'), id('20')))).toEqual(['12-0', '15-0', '18-0']);
  });
});

describe('XTRIM', () => {
  it('keeps ranges, lookups and tombstones right when the trimmed head is reclaimed', () => {
    const s = filled(5000);
    s.delete([id('3500-0'), id('4000-0'), id('4500-0')]);
    expect(s.trimMaxLen(1500)).toBe(3497); // head moves past 3497 live slots: the array is rebuilt
    expect(s.length).toBe(1500);
    expect(formatId(s.firstEntry!.id)).toBe('3498-0');
    expect(s.get(id('3500-0'))).toBeUndefined();
    expect(ids(s.range(id('3999'), id('4001')))).toEqual(['3999-0', '4001-0']);
    expect(ids(s.range(id('4499'), id('4502'), undefined, true))).toEqual(['4502-0', '4501-0', '4499-0']);
    expect(s.delete([id('4000-0'), id('4001-0')])).toBe(1);
    expect(s.trimMinId(id('4600-0'))).toBe(1098); // 3498..4599 less 4 deleted
    expect(ids(s.range(...ALL, 2))).toEqual(['4600-0', '4601-0']);
    expect(s.after(id('4999-0')).map((e) => e.fields)).toEqual([['f', 'v5000']]);
  });

  it('MAXLEN exact removes the oldest live entries', () => {
    const s = filled(10);
    s.delete([id('2-0')]);
    expect(s.trimMaxLen(5)).toBe(4);
    expect(ids(s.range(...ALL))).toEqual(['6-0', '7-0', '8-0', '9-0', '10-0']);
    expect(s.trimMaxLen(7)).toBe(0);
    expect(s.trimMaxLen(0)).toBe(5);
    expect(s.length).toBe(0);
    expect(s.entriesAdded).toBe(10);
    expect(formatId(s.maxDeletedId)).toBe('2-0'); // trimming is not XDEL
  });

  it('MINID removes entries below the id', () => {
    const s = filled(10);
    expect(s.trimMinId(id('4-0'))).toBe(3);
    expect(formatId(s.firstEntry!.id)).toBe('4-0');
    expect(s.trimMinId(id('1-0'))).toBe(0);
    expect(s.trimMinId(id('100-0'))).toBe(7);
  });

  it('~ trims exactly but honours LIMIT (10000 by default, 0 = none); LIMIT needs ~', () => {
    const s = filled(30);
    expect(s.trimMaxLen(10, true, 5)).toBe(5);
    expect(s.length).toBe(25);
    expect(s.trimMinId(id('20-0'), true, 4)).toBe(4);
    expect(formatId(s.firstEntry!.id)).toBe('10-0');
    expect(s.trimMaxLen(3, true, 0)).toBe(18);
    expect(errText(() => s.trimMaxLen(1, false, 5))).toBe('ERR syntax error, LIMIT cannot be used without the special ~ option');
    const big = new RedisStream();
    for (let i = 1; i <= 12_000; i++) big.add(`${i}`, ['f', 'v'], 0);
    expect(big.trimMaxLen(0, true)).toBe(10_000);
    expect(big.trimMaxLen(0)).toBe(2000);
  });
});

describe('randomized against a reference model', () => {
  it('add, delete, trim and range agree with a sorted array', () => {
    let seed = 12345;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    const s = new RedisStream();
    let model: StreamEntry[] = [];
    let now = 0;
    for (let step = 0; step < 20_000; step++) {
      const op = rnd(100);
      if (op < 50) {
        now += rnd(3);
        const fields: Field[] = ['n', String(step)];
        const nid = s.add(rnd(4) === 0 ? `${now + 1}-*` : '*', fields, now);
        if (nid.ms > now) now = nid.ms;
        model.push({ id: nid, fields });
      } else if (op < 75 && model.length) {
        const victims = [model[rnd(model.length)].id, { ms: rnd(now + 2), seq: rnd(3) }];
        const expected = new Set(victims.filter((v) => model.some((e) => compareId(e.id, v) === 0)).map(formatId)).size;
        expect(s.delete(victims)).toBe(expected);
        model = model.filter((e) => !victims.some((v) => compareId(e.id, v) === 0));
      } else if (op < 78) {
        const keep = rnd(model.length + 5);
        expect(s.trimMaxLen(keep)).toBe(Math.max(0, model.length - keep));
        model = model.slice(Math.max(0, model.length - keep));
      } else if (op < 80) {
        const min = { ms: rnd(now + 1), seq: rnd(2) };
        const n = model.filter((e) => compareId(e.id, min) < 0).length;
        expect(s.trimMinId(min)).toBe(n);
        model = model.slice(n);
      } else {
        const a = { ms: rnd(now + 2), seq: rnd(3) }, b = { ms: rnd(now + 2), seq: rnd(3) };
        const [lo, hi] = compareId(a, b) <= 0 ? [a, b] : [b, a];
        const count = rnd(3) === 0 ? rnd(10) : undefined;
        const inRange = model.filter((e) => compareId(e.id, lo) >= 0 && compareId(e.id, hi) <= 0);
        const reverse = rnd(2) === 0;
        const want = (reverse ? [...inRange].reverse() : inRange).slice(0, count ?? Infinity);
        expect(s.range(lo, hi, count, reverse)).toEqual(want);
        expect(s.after(lo, count)).toEqual(model.filter((e) => compareId(e.id, lo) > 0).slice(0, count || Infinity));
      }
      expect(s.length).toBe(model.length);
      expect(s.firstEntry).toEqual(model[0]);
      expect(s.lastEntry).toEqual(model[model.length - 1]);
    }
  });
});
