import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServerHandle } from '../../../test/helpers/redis-server.js';
import { RedisError } from './errors.js';
import { NoGroupError, RedisStream, formatId, noGroup, type Field, type StreamId } from './stream.js';
import { ALL, errText, filled, id, ids } from './stream-test-util.js';

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
