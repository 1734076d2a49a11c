import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServerHandle } from '../../../test/helpers/redis-server.js';
import { RedisError } from './errors.js';
import {
  MAX_ID_PART, NoGroupError, RedisStream, compareId, decrId, formatId, incrId, noGroup, parseId,
  type Field, type StreamEntry, type StreamId,
} from './stream.js';

const id = (s: string): StreamId => parseId(s);
const ids = (entries: Array<{ id: StreamId }>) => entries.map((e) => formatId(e.id));
const MAX = MAX_ID_PART;
const ALL: [StreamId, StreamId] = [parseId('-'), parseId('+')];

/** A stream with entries 1-0 .. n-0, field f = v<i>. */
function filled(n: number): RedisStream {
  const s = new RedisStream();
  for (let i = 1; i <= n; i++) s.add(`${i}-0`, ['f', `v${i}`], 0);
  return s;
}

function errText(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RedisError);
    return (e as Error).message;
  }
  throw new Error('expected a RedisError');
}

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

describe('consumer groups', () => {
  it('create, BUSYGROUP, $, destroy', () => {
    const s = filled(3);
    s.createGroup('k', 'g', '$');
    expect(errText(() => s.createGroup('k', 'g', id('0')))).toBe('BUSYGROUP Consumer Group name already exists');
    s.createGroup('k', 'h', id('0'), 1);
    expect(s.hasGroup('g')).toBe(true);
    const info = s.groupInfo();
    expect(info.map((g) => [g.name, formatId(g.lastDeliveredId), g.entriesRead, g.lag])).toEqual([
      ['g', '3-0', null, 0],
      ['h', '0-0', 1, 2],
    ]);
    expect(s.readGroupNew('g', 'c', undefined, false, 0)).toEqual([]);
    expect(s.destroyGroup('g')).toBe(true);
    expect(s.destroyGroup('g')).toBe(false);
    expect(s.hasGroup('g')).toBe(false);
  });

  it('missing groups raise NOGROUP with each command wording', () => {
    const s = filled(1);
    const e = (() => { try { s.pendingSummary('nog'); } catch (x) { return x; } })() as NoGroupError;
    expect(e).toBeInstanceOf(NoGroupError);
    expect(e).toBeInstanceOf(RedisError);
    expect(e.withKey('k').message).toBe("NOGROUP No such key 'k' or consumer group 'nog'");
    const cmdOf = (fn: () => unknown) => { try { fn(); } catch (x) { return (x as NoGroupError).withKey('k').message; } return 'no error'; };
    expect(cmdOf(() => s.readGroupNew('nog', 'c', 1, false, 0))).toBe("NOGROUP No such key 'k' or consumer group 'nog' in XREADGROUP with GROUP option");
    expect(cmdOf(() => s.readGroupPending('nog', 'c', id('0'), 1))).toMatch(/in XREADGROUP with GROUP option$/);
    expect(cmdOf(() => s.autoClaim('nog', 'c', 0, id('0'), 1, 0))).toBe("NOGROUP No such key 'k' or consumer group 'nog'");
    expect(cmdOf(() => s.claim('nog', 'c', 0, [id('1')], 0))).toBe("NOGROUP No such key 'k' or consumer group 'nog'");
    expect(cmdOf(() => s.pendingRange('nog', ...ALL, 10))).toBe("NOGROUP No such key 'k' or consumer group 'nog'");
    expect(cmdOf(() => s.createConsumer('nog', 'c'))).toBe("NOGROUP No such consumer group 'nog' for key name 'k'");
    expect(cmdOf(() => s.deleteConsumer('nog', 'c'))).toBe("NOGROUP No such consumer group 'nog' for key name 'k'");
    expect(cmdOf(() => s.consumersInfo('nog'))).toBe("NOGROUP No such consumer group 'nog' for key name 'k'");
    expect(noGroup('k', 'g').message).toBe("NOGROUP No such key 'k' or consumer group 'g' in XREADGROUP with GROUP option");
    expect(s.ack('nog', [id('1')])).toBe(0);
  });

  it('reads new entries into the PEL, re-reads history, acks', () => {
    const s = filled(5);
    s.createGroup('k', 'g', id('0'));
    expect(ids(s.readGroupNew('g', 'alice', 2, false, 100))).toEqual(['1-0', '2-0']);
    expect(ids(s.readGroupNew('g', 'bob', undefined, false, 200))).toEqual(['3-0', '4-0', '5-0']);
    expect(s.readGroupNew('g', 'bob', undefined, false, 200)).toEqual([]);
    expect(s.pendingSummary('g')).toEqual({
      count: 5, min: id('1-0'), max: id('5-0'),
      consumers: [{ name: 'alice', count: 2 }, { name: 'bob', count: 3 }],
    });
    // History: the consumer's own pending entries after the id; each read counts a delivery.
    const hist = s.readGroupPending('g', 'alice', id('0'), undefined, 150);
    expect(ids(hist)).toEqual(['1-0', '2-0']);
    expect(ids(s.readGroupPending('g', 'alice', id('1-0'), 10, 160))).toEqual(['2-0']);
    expect(s.pendingRange('g', ...ALL, 10, 'alice')).toEqual([
      { id: id('1-0'), consumer: 'alice', deliveredAt: 150, deliveryCount: 2 },
      { id: id('2-0'), consumer: 'alice', deliveredAt: 160, deliveryCount: 3 },
    ]);
    expect(s.ack('g', [id('1-0'), id('1-0'), id('4-0'), id('9-0')])).toBe(2);
    expect(s.pendingSummary('g').consumers).toEqual([{ name: 'alice', count: 1 }, { name: 'bob', count: 2 }]);
    expect(ids(s.pendingRange('g', ...ALL, 10))).toEqual(['2-0', '3-0', '5-0']);
    s.ack('g', [id('2-0')]);
    expect(s.pendingSummary('g').consumers).toEqual([{ name: 'bob', count: 2 }]);
    s.ack('g', [id('3-0'), id('5-0')]);
    expect(s.pendingSummary('g')).toEqual({ count: 0, consumers: [] });
    expect(s.groupInfo()[0]).toMatchObject({ consumers: 2, pending: 0, entriesRead: 5, lag: 0 });
  });

  it('history of deleted entries comes back as null fields, without a delivery bump', () => {
    const s = filled(3);
    s.createGroup('k', 'g', id('0'));
    s.readGroupNew('g', 'c', undefined, false, 10);
    s.delete([id('2-0')]);
    const hist = s.readGroupPending('g', 'c', id('0'), undefined, 20);
    expect(hist.map((h) => [formatId(h.id), h.fields])).toEqual([['1-0', ['f', 'v1']], ['2-0', null], ['3-0', ['f', 'v3']]]);
    expect(s.pendingRange('g', ...ALL, 10).map((p) => p.deliveryCount)).toEqual([2, 1, 2]);
  });

  it('NOACK delivers without pending, still moving last-delivered-id', () => {
    const s = filled(3);
    s.createGroup('k', 'g', id('0'));
    expect(ids(s.readGroupNew('g', 'c', undefined, true, 0))).toEqual(['1-0', '2-0', '3-0']);
    expect(s.pendingSummary('g').count).toBe(0);
    expect(s.groupInfo()[0]).toMatchObject({ lastDeliveredId: id('3-0'), entriesRead: 3, lag: 0, consumers: 1 });
  });

  it('re-delivery after SETID back reassigns pending entries with count 1', () => {
    const s = filled(3);
    s.createGroup('k', 'g', id('0'));
    s.readGroupNew('g', 'a', undefined, false, 10);
    s.readGroupPending('g', 'a', id('0'), undefined, 11);
    s.setGroupId('g', id('1-0'));
    expect(ids(s.readGroupNew('g', 'b', 1, false, 20))).toEqual(['2-0']);
    expect(s.pendingRange('g', ...ALL, 10).map((p) => [formatId(p.id), p.consumer, p.deliveryCount, p.deliveredAt])).toEqual([
      ['1-0', 'a', 2, 11], ['2-0', 'b', 1, 20], ['3-0', 'a', 2, 11],
    ]);
    // SETID without ENTRIESREAD makes the counter unknown; 2-0 is neither the first nor the last entry.
    expect(s.groupInfo()[0]).toMatchObject({ entriesRead: null, lag: null });
  });

  it('consumers: create, delete (dropping their pending), XINFO CONSUMERS', () => {
    const s = filled(4);
    s.createGroup('k', 'g', id('0'));
    expect(s.createConsumer('g', 'idle', 5)).toBe(true);
    expect(s.createConsumer('g', 'idle', 6)).toBe(false);
    s.readGroupNew('g', 'busy', 3, false, 50);
    expect(s.consumersInfo('g')).toEqual([
      { name: 'busy', pending: 3, seenTime: 50 },
      { name: 'idle', pending: 0, seenTime: 5 },
    ]);
    expect(s.deleteConsumer('g', 'nobody')).toBe(0);
    expect(s.deleteConsumer('g', 'busy')).toBe(3);
    expect(s.pendingSummary('g').count).toBe(0);
    expect(s.consumersInfo('g').map((c) => c.name)).toEqual(['idle']);
  });

  it('XPENDING extended: range, count after the IDLE filter, consumer filter', () => {
    const s = filled(6);
    s.createGroup('k', 'g', id('0'));
    s.readGroupNew('g', 'a', 2, false, 1000);
    s.readGroupNew('g', 'b', 2, false, 2000);
    s.readGroupNew('g', 'a', 2, false, 3000);
    expect(ids(s.pendingRange('g', id('2'), id('5'), 10))).toEqual(['2-0', '3-0', '4-0', '5-0']);
    expect(ids(s.pendingRange('g', ...ALL, 2, undefined, 1500, 3500))).toEqual(['1-0', '2-0']);
    expect(ids(s.pendingRange('g', ...ALL, 3, undefined, 1000, 3500))).toEqual(['1-0', '2-0', '3-0']);
    expect(ids(s.pendingRange('g', id('2'), id('+'), 10, 'a', 1000, 3500))).toEqual(['2-0']);
    expect(ids(s.pendingRange('g', ...ALL, 10, 'a'))).toEqual(['1-0', '2-0', '5-0', '6-0']);
    expect(s.pendingRange('g', ...ALL, 10, 'ghost')).toEqual([]);
    expect(s.pendingRange('g', ...ALL, 0)).toEqual([]);
  });

  it('XAUTOCLAIM: cursor, COUNT, JUSTID, idle filter, deleted entries dropped and reported', () => {
    const s = filled(6);
    s.createGroup('k', 'g', id('0'));
    s.readGroupNew('g', 'zed', 2, false, 100);
    s.readGroupNew('g', 'bob', 3, false, 100);
    s.delete([id('2-0'), id('4-0')]);
    let r = s.autoClaim('g', 'newc', 0, id('0'), 2, 200);
    expect(ids(r.claimed)).toEqual(['1-0']);
    expect(r.claimed[0].fields).toEqual(['f', 'v1']);
    expect(r.deleted.map(formatId)).toEqual(['2-0']);
    expect(formatId(r.next)).toBe('3-0');
    r = s.autoClaim('g', 'newc', 0, id('0'), 1, 300, true);
    expect(ids(r.claimed)).toEqual(['1-0']);
    expect(formatId(r.next)).toBe('3-0');
    expect(s.pendingRange('g', ...ALL, 10).map((p) => [formatId(p.id), p.consumer, p.deliveredAt, p.deliveryCount])).toEqual([
      ['1-0', 'newc', 300, 2], ['3-0', 'bob', 100, 1], ['4-0', 'bob', 100, 1], ['5-0', 'bob', 100, 1],
    ]);
    r = s.autoClaim('g', 'other', 100_000, id('0'), 100, 400);
    expect(r.claimed).toEqual([]);
    expect(r.deleted.map(formatId)).toEqual(['4-0']);
    expect(formatId(r.next)).toBe('0-0');
    expect(s.consumersInfo('g').map((c) => c.name)).toEqual(['bob', 'newc', 'zed']); // 'other' not created
    expect(s.pendingSummary('g').consumers).toEqual([{ name: 'bob', count: 2 }, { name: 'newc', count: 1 }]);
    expect(errText(() => s.autoClaim('g', 'x', 0, id('0'), 0, 0))).toBe('ERR COUNT must be > 0');
  });

  it('XAUTOCLAIM scans at most COUNT*10 entries per call', () => {
    const s = filled(40);
    s.createGroup('k', 'g', id('0'));
    s.readGroupNew('g', 'fresh', 30, false, 1000);
    s.readGroupNew('g', 'old', undefined, false, 0);
    const r = s.autoClaim('g', 'c', 500, id('0'), 2, 1000);
    expect(r.claimed).toEqual([]); // 20 attempts, all on too-fresh entries
    expect(formatId(r.next)).toBe('21-0');
    const r2 = s.autoClaim('g', 'c', 500, r.next, 2, 1000);
    expect(ids(r2.claimed)).toEqual(['31-0', '32-0']);
    expect(formatId(r2.next)).toBe('33-0');
  });

  it('XCLAIM: idle filter, FORCE, RETRYCOUNT, JUSTID, delivery time, LASTID, deleted entries', () => {
    const s = filled(5);
    s.createGroup('k', 'g', id('0'));
    s.readGroupNew('g', 'c1', 3, false, 1000);
    s.delete([id('2-0')]);
    expect(s.claim('g', 'c2', 100_000, [id('1-0')], 1010)).toEqual([]);
    expect(s.consumersInfo('g').map((c) => c.name)).toEqual(['c1']);
    expect(ids(s.claim('g', 'c2', 0, [id('1-0'), id('2-0'), id('4-0'), id('9-0')], 1020))).toEqual(['1-0']);
    expect(ids(s.claim('g', 'c2', 0, [id('4-0')], 1030, { force: true, justId: true, retryCount: 7, lastId: id('9-0') }))).toEqual(['4-0']);
    expect(ids(s.claim('g', 'c2', 100_000, [id('5-0')], 1040, { force: true }))).toEqual(['5-0']); // minIdle skips forced NACKs
    expect(ids(s.claim('g', 'c3', 0, [id('3-0')], 1050, { deliveryTime: 1050 - 5000, justId: true }))).toEqual(['3-0']);
    expect(s.claim('g', 'c3', 0, [id('3-0')], 1060, { deliveryTime: 99_999 })[0].id).toEqual(id('3-0'));
    expect(s.pendingRange('g', ...ALL, 10).map((p) => [formatId(p.id), p.consumer, p.deliveredAt, p.deliveryCount])).toEqual([
      ['1-0', 'c2', 1020, 2], ['3-0', 'c3', 1060, 2], ['4-0', 'c2', 1030, 7], ['5-0', 'c2', 1040, 2],
    ]);
    expect(formatId(s.groupInfo()[0].lastDeliveredId)).toBe('9-0');
    expect(s.consumersInfo('g').map((c) => [c.name, c.pending])).toEqual([['c1', 0], ['c2', 3], ['c3', 1]]);
  });

  it('entries-read and lag follow Redis 7.0 across deletions', () => {
    const s = filled(4);
    s.createGroup('k', 'g', id('0'));
    s.readGroupNew('g', 'c', 1, false, 0);
    expect(s.groupInfo()[0]).toMatchObject({ entriesRead: 1, lag: 3 });
    s.delete([id('3-0')]); // a tombstone ahead of the group: counters past it are unknown
    expect(s.groupInfo()[0]).toMatchObject({ entriesRead: 1, lag: null });
    s.readGroupNew('g', 'c', 1, false, 0); // 2-0, still before the tombstone
    expect(s.groupInfo()[0]).toMatchObject({ entriesRead: null, lag: null });
    s.readGroupNew('g', 'c', 1, false, 0); // 4-0: the last entry, so exactly entries-added
    expect(s.groupInfo()[0]).toMatchObject({ entriesRead: 4, lag: 0 });
    s.add('5', ['f', 'v'], 0);
    expect(s.groupInfo()[0]).toMatchObject({ entriesRead: 4, lag: 1 });
  });

  it('XSETID checks and sets the top id, entries-added and max-deleted-id', () => {
    const s = filled(4);
    expect(errText(() => s.setLastId(id('3-0')))).toBe('ERR The ID specified in XSETID is smaller than the target stream top item');
    expect(errText(() => s.setLastId(id('5-0'), 2))).toBe('ERR The entries_added specified in XSETID is smaller than the target stream length');
    expect(errText(() => s.setLastId(id('5-0'), 9, id('6-0')))).toBe('ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id');
    expect(errText(() => s.setLastId(id('5-0'), -1))).toBe('ERR entries_added must be positive');
    s.setLastId(id('8-0'), 9, id('7-0'));
    expect([formatId(s.lastId), s.entriesAdded, formatId(s.maxDeletedId)]).toEqual(['8-0', 9, '7-0']);
    expect(() => s.add('8-0', ['a', 'b'], 0)).toThrow(/equal or smaller/);
    expect(formatId(s.add('*', ['a', 'b'], 0))).toBe('8-1');
  });
});

describe('snapshot JSON', () => {
  it('round-trips entries, counters, groups, consumers and PELs', () => {
    const s = new RedisStream();
    const big = Buffer.from([0, 1, 2, 255, 254]);
    s.add('1-1', ['s', '\xe9\x00x', 'b', big], 0);
    s.add('2-0', ['a', '1'], 0);
    s.add('3-0', ['a', '2'], 0);
    s.delete([id('2-0')]);
    s.createGroup('k', 'g', id('0'));
    s.createGroup('k', 'h', '$', 3);
    s.readGroupNew('g', 'c1', 1, false, 111);
    s.readGroupNew('g', 'c2', 1, false, 222);
    s.createConsumer('g', 'c3', 333);
    const json = JSON.parse(JSON.stringify(s));
    const r = RedisStream.fromJSON(json);
    expect(r.length).toBe(2);
    expect(r.range(...ALL)).toEqual(s.range(...ALL));
    expect(Buffer.isBuffer(r.firstEntry!.fields[3])).toBe(true);
    expect(r.firstEntry!.fields[1]).toBe('\xe9\x00x');
    expect([formatId(r.lastId), r.entriesAdded, formatId(r.maxDeletedId)]).toEqual(['3-0', 3, '2-0']);
    expect(r.groupInfo()).toEqual(s.groupInfo());
    expect(r.consumersInfo('g')).toEqual(s.consumersInfo('g'));
    expect(r.pendingRange('g', ...ALL, 10)).toEqual(s.pendingRange('g', ...ALL, 10));
    // The copy works on its own: ack and read go on as they would have.
    expect(r.ack('g', [id('1-1')])).toBe(1);
    expect(r.readGroupNew('g', 'c1', undefined, false, 5).length).toBe(0);
    expect(JSON.parse(JSON.stringify(RedisStream.fromJSON(JSON.parse(JSON.stringify(r)))))).toEqual(JSON.parse(JSON.stringify(r)));
  });

  it('rejects garbage with a clear Error', () => {
    const good = JSON.parse(JSON.stringify(filled(2))) as Record<string, unknown>;
    const cases: unknown[] = [
      null, 42, 'x', [], { ...good, format: 'other' }, { ...good, lastId: '1.5' }, { ...good, entriesAdded: -1 },
      { ...good, entries: [['2-0', ['f', 'v']], ['1-0', ['f', 'v']]] }, { ...good, entries: [['1-0', ['f']]] },
      { ...good, entries: [['9-0', ['f', 'v']]] }, { ...good, entries: [['1-0', ['f', { b64: '%%' }]]] },
      { ...good, entries: [['1-0', ['f', 3]]] }, { ...good, groups: [{ name: 'g', lastId: '0-0', entriesRead: null, consumers: [], pending: [['1-0', 'ghost', 0, 1]] }] },
      { ...good, groups: 'x' }, { ...good, lastId: '99999999999999999-0' },
    ];
    for (const c of cases) expect(() => RedisStream.fromJSON(c), JSON.stringify(c)).toThrow(/^invalid stream snapshot: /);
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

/** A small seeded PRNG (mulberry32): rnd(n) in [0, n). */
function rng(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
}

describe('cross-checked against redis-server 7', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await redis.connect();
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  type Reply = unknown;
  /** Runs one command on redis-server; errors come back as { err: text }. */
  async function real(...args: Array<string | number>): Promise<Reply> {
    try {
      return await redis.call(String(args[0]), ...args.slice(1).map(String));
    } catch (e) {
      return { err: (e as Error).message };
    }
  }
  function mine(fn: () => Reply): Reply {
    try {
      return fn();
    } catch (e) {
      if (e instanceof NoGroupError) return { err: e.withKey(KEY).message };
      if (e instanceof RedisError) return { err: e.message };
      throw e;
    }
  }
  const KEY = 'cx';
  const entryReply = (e: { id: StreamId; fields: Field[] | null }) => [formatId(e.id), e.fields];
  const readReply = (entries: Array<{ id: StreamId; fields: Field[] | null }>, nilWhenEmpty: boolean) =>
    entries.length === 0 && nilWhenEmpty ? null : [KEY, entries.map(entryReply)]; // ioredis 6 speaks RESP3: a flat map

  /** State that must agree after every step (times and idle left out: the clocks differ). */
  async function compareState(s: RedisStream, groups: string[], ctx: string): Promise<void> {
    expect(s.range(...ALL).map(entryReply), ctx).toEqual(await real('XRANGE', KEY, '-', '+'));
    if (!(await redis.exists(KEY))) return;
    const info = (await real('XINFO', 'STREAM', KEY)) as unknown[];
    const field = (name: string) => info[info.indexOf(name) + 1];
    expect([s.length, formatId(s.lastId), formatId(s.maxDeletedId), s.entriesAdded, formatId(s.firstId)], ctx).toEqual([
      field('length'), field('last-generated-id'), field('max-deleted-entry-id'), field('entries-added'),
      field('recorded-first-entry-id'),
    ]);
    const realGroups = ((await real('XINFO', 'GROUPS', KEY)) as unknown[][]).map((g) => {
      const f = (name: string) => g[g.indexOf(name) + 1];
      return [f('name'), f('consumers'), f('pending'), f('last-delivered-id'), f('entries-read'), f('lag')];
    });
    const myGroups = s.groupInfo().map((g) => [g.name, g.consumers, g.pending, formatId(g.lastDeliveredId), g.entriesRead, g.lag]);
    expect(myGroups, ctx).toEqual(realGroups);
    for (const g of groups) {
      const sum = s.pendingSummary(g);
      expect([sum.count, sum.min ? formatId(sum.min) : null, sum.max ? formatId(sum.max) : null,
        sum.consumers.length ? sum.consumers.map((c) => [c.name, String(c.count)]) : null], ctx).toEqual(await real('XPENDING', KEY, g));
      const ext = (await real('XPENDING', KEY, g, '-', '+', 1000)) as unknown[][];
      expect(s.pendingRange(g, ...ALL, 1000).map((p) => [formatId(p.id), p.consumer, p.deliveryCount]), ctx)
        .toEqual(ext.map((p) => [p[0], p[1], p[3]]));
      const cons = ((await real('XINFO', 'CONSUMERS', KEY, g)) as unknown[][]).map((c) => [c[1], c[3]]);
      expect(s.consumersInfo(g).map((c) => [c.name, c.pending]), ctx).toEqual(cons);
    }
  }

  it.each([777, 5, 11])('a random script of stream and group commands gives the same replies and state (seed %i)', async (seed) => {
    await redis.del(KEY);
    const rnd = rng(seed);
    const s = new RedisStream();
    const groups = ['ga', 'gb'];
    const consumers = ['c1', 'c2', 'c3'];
    const live = new Set<string>(); // groups that exist
    let ms = 1;
    // The key exists from the start: a missing key is the glue's business (ERR no such key and the like).
    expect(await real('XADD', KEY, '1-0', 'f', 'v')).toBe(formatId(s.add('1-0', ['f', 'v'], 0)));
    const someId = () => `${Math.max(0, ms - rnd(12))}-${rnd(4)}`;
    for (let step = 0; step < 1200; step++) {
      const op = rnd(100);
      const g = groups[rnd(groups.length)];
      const c = consumers[rnd(consumers.length)];
      const now = Date.now();
      let ours: Reply, theirs: Reply, what: string;
      if (op < 30) {
        if (rnd(3) === 0) ms++;
        const r = rnd(10);
        const idArg = r < 7 ? `${ms}-*` : r < 9 ? `${ms}-${rnd(6)}` : someId();
        what = `XADD ${idArg}`;
        theirs = await real('XADD', KEY, idArg, 'f', `v${step}`);
        ours = mine(() => formatId(s.add(idArg, ['f', `v${step}`], now)));
      } else if (op < 40) {
        const victims = [someId(), someId()];
        what = `XDEL ${victims}`;
        theirs = await real('XDEL', KEY, ...victims);
        ours = mine(() => s.delete(victims.map(id)));
      } else if (op < 43) {
        const n = s.length + 3 - rnd(6);
        what = `XTRIM MAXLEN ${n}`;
        theirs = await real('XTRIM', KEY, 'MAXLEN', Math.max(0, n));
        ours = mine(() => s.trimMaxLen(Math.max(0, n)));
      } else if (op < 45) {
        const m = `${Math.max(0, ms - 15 - rnd(5))}-${rnd(3)}`;
        what = `XTRIM MINID ${m}`;
        theirs = await real('XTRIM', KEY, 'MINID', m);
        ours = mine(() => s.trimMinId(id(m)));
      } else if (op < 50 && (rnd(4) === 0 || !s.hasGroup(g))) {
        const start = rnd(3) === 0 ? '$' : someId();
        const er = rnd(3) === 0 ? ['ENTRIESREAD', rnd(4)] : [];
        what = `XGROUP CREATE ${g} ${start} ${er}`;
        theirs = await real('XGROUP', 'CREATE', KEY, g, start, 'MKSTREAM', ...er);
        ours = mine(() => {
          s.createGroup(KEY, g, start === '$' ? '$' : id(start), er.length ? Number(er[1]) : undefined);
          return 'OK';
        });
        if (theirs === 'OK') live.add(g);
      } else if (op < 52) {
        const to = rnd(2) ? '$' : someId();
        const er = rnd(3) === 0 ? ['ENTRIESREAD', rnd(40)] : [];
        what = `XGROUP SETID ${g} ${to} ${er}`;
        theirs = await real('XGROUP', 'SETID', KEY, g, to, ...er);
        ours = mine(() => { s.setGroupId(g, to === '$' ? '$' : id(to), er.length ? Number(er[1]) : undefined); return 'OK'; });
      } else if (op < 53) {
        what = `XGROUP DESTROY ${g}`;
        theirs = await real('XGROUP', 'DESTROY', KEY, g);
        ours = mine(() => (s.destroyGroup(g) ? 1 : 0));
        live.delete(g);
      } else if (op < 68) {
        const count = 1 + rnd(3);
        const noAck = rnd(8) === 0;
        what = `XREADGROUP ${g} ${c} ${count} ${noAck}`;
        theirs = await real('XREADGROUP', 'GROUP', g, c, 'COUNT', count, ...(noAck ? ['NOACK'] : []), 'STREAMS', KEY, '>');
        ours = mine(() => readReply(s.readGroupNew(g, c, count, noAck, now), true));
      } else if (op < 72) {
        const after = rnd(2) ? '0' : someId();
        what = `XREADGROUP ${g} ${c} history ${after}`;
        theirs = await real('XREADGROUP', 'GROUP', g, c, 'STREAMS', KEY, after);
        ours = mine(() => readReply(s.readGroupPending(g, c, id(after), undefined, now), false));
      } else if (op < 82) {
        const acked = [someId(), someId(), someId()];
        what = `XACK ${g} ${acked}`;
        theirs = await real('XACK', KEY, g, ...acked);
        ours = mine(() => s.ack(g, acked.map(id)));
      } else if (op < 90) {
        const start = rnd(2) ? '0' : someId();
        const count = 1 + rnd(4);
        const justId = rnd(3) === 0;
        what = `XAUTOCLAIM ${g} ${c} ${start} ${count} ${justId}`;
        theirs = await real('XAUTOCLAIM', KEY, g, c, 0, start, 'COUNT', count, ...(justId ? ['JUSTID'] : []));
        ours = mine(() => {
          const r = s.autoClaim(g, c, 0, id(start), count, now, justId);
          return [formatId(r.next), justId ? r.claimed.map((e) => formatId(e.id)) : r.claimed.map(entryReply), r.deleted.map(formatId)];
        });
      } else if (op < 96) {
        const claimed = [someId(), someId()];
        const force = rnd(3) === 0, justId = rnd(3) === 0, retry = rnd(4) === 0 ? rnd(9) : undefined;
        const opts = [...(force ? ['FORCE'] : []), ...(justId ? ['JUSTID'] : []), ...(retry !== undefined ? ['RETRYCOUNT', retry] : [])];
        what = `XCLAIM ${g} ${c} ${claimed} ${opts}`;
        theirs = await real('XCLAIM', KEY, g, c, 0, ...claimed, ...opts);
        ours = mine(() => {
          const r = s.claim(g, c, 0, claimed.map(id), now, { force, justId, retryCount: retry });
          return justId ? r.map((e) => formatId(e.id)) : r.map(entryReply);
        });
      } else {
        what = `XGROUP DELCONSUMER ${g} ${c}`;
        theirs = await real('XGROUP', 'DELCONSUMER', KEY, g, c);
        ours = mine(() => s.deleteConsumer(g, c));
      }
      expect(ours, `step ${step}: ${what}`).toEqual(theirs);
      await compareState(s, [...live].filter((x) => s.hasGroup(x)), `step ${step}: ${what}`);
    }
  });
});
