import { describe, expect, it } from 'vitest';
import { RedisStream, formatId } from './stream.js';
import { streamFromJSON, streamToJSON } from './stream-snapshot.js';
import { ALL, filled, id } from './stream-test-util.js';

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
    const json = JSON.parse(JSON.stringify(streamToJSON(s)));
    const r = streamFromJSON(json);
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
    expect(streamToJSON(streamFromJSON(JSON.parse(JSON.stringify(streamToJSON(r)))))).toEqual(streamToJSON(r));
  });

  it('rejects garbage with a clear Error', () => {
    const good = JSON.parse(JSON.stringify(streamToJSON(filled(2)))) as Record<string, unknown>;
    const cases: unknown[] = [
      null, 42, 'x', [], { ...good, format: 'other' }, { ...good, lastId: '1.5' }, { ...good, entriesAdded: -1 },
      { ...good, entries: [['2-0', ['f', 'v']], ['1-0', ['f', 'v']]] }, { ...good, entries: [['1-0', ['f']]] },
      { ...good, entries: [['9-0', ['f', 'v']]] }, { ...good, entries: [['1-0', ['f', { b64: '%%' }]]] },
      { ...good, entries: [['1-0', ['f', 3]]] }, { ...good, groups: [{ name: 'g', lastId: '0-0', entriesRead: null, consumers: [], pending: [['1-0', 'ghost', 0, 1]] }] },
      { ...good, groups: 'x' }, { ...good, lastId: '99999999999999999-0' },
    ];
    for (const c of cases) expect(() => streamFromJSON(c), JSON.stringify(c)).toThrow(/^invalid stream snapshot: /);
  });
});
