/**
 * Differential conformance: streams. XADD (explicit, partial and auto ids) XLEN XRANGE XREVRANGE
 * XDEL XTRIM XREAD (BLOCK) XGROUP CREATE/DESTROY XREADGROUP XACK XPENDING XAUTOCLAIM, NOGROUP /
 * BUSYGROUP and WRONGTYPE errors. Entries use explicit ids wherever the test is not about auto ids,
 * so replies compare exactly; auto ids (the server's clock) are compared by shape and ordering.
 */
import type { Reply } from '../lib/clients.js';
import { conformanceSuite, type Case } from '../lib/differential.js';
import { streamIds, within } from '../lib/normalise.js';

/** XPENDING extended rows: [id, consumer, idle ms, deliveries]; idle is wall time (a range). */
const pendingRows =
  (maxIdle: number) =>
  (r: Reply): unknown =>
    Array.isArray(r) ? r.map((row) => (Array.isArray(row) ? [row[0], row[1], within(0, maxIdle)(row[2]), row[3]] : row)) : r;

const cases: Case[] = [
  {
    name: 'XADD explicit and partial ids, id errors, NOMKSTREAM, XLEN',
    async run(s) {
      await s.call('XADD', 's', '1-1', 'a', '1');
      await s.call('XADD', 's', '1-2', 'b', '2', 'c', '3');
      await s.call('XADD', 's', '1-*', 'd', '4');
      await s.call('XADD', 's', '5', 'e', '5');
      await s.call('XADD', 's', '1-1', 'x', 'y');
      await s.call('XADD', 's', '5-0', 'x', 'y');
      await s.call('XADD', 'z', '0-0', 'x', 'y');
      await s.call('XADD', 's', 'bad-id', 'x', 'y');
      await s.call('XADD', 's', '9-1', 'odd');
      await s.call('XADD', 'nostream', 'NOMKSTREAM', '*', 'f', 'v');
      await s.call('EXISTS', 'nostream', 'z');
      await s.call('XLEN', 's');
      await s.call('XLEN', 'missing');
      await s.call('XRANGE', 's', '-', '+');
    },
  },
  {
    name: 'XADD auto ids are increasing ms-seq ids',
    async run(s) {
      const id1 = await s.callAs(streamIds, 'XADD', 's', '*', 'f', '1');
      const id2 = await s.callAs(streamIds, 'XADD', 's', '*', 'f', '2');
      const id3 = await s.callAs(streamIds, 'XADD', 's', 'MAXLEN', '2', '*', 'f', '3');
      const num = (id: Reply) => String(id).split('-').map(BigInt);
      const less = (a: Reply, b: Reply) => {
        const [am, as] = num(a);
        const [bm, bs] = num(b);
        return am < bm || (am === bm && as < bs);
      };
      s.record('ids increase', less(id1, id2) && less(id2, id3));
      s.record('ms part is the clock', Math.abs(Number(num(id1)[0]) - Date.now()) < 5000);
      await s.call('XLEN', 's');
      await s.callAs(streamIds, 'XRANGE', 's', '-', '+');
      await s.call('XADD', 's', '1-1', 'old', 'id');
    },
  },
  {
    name: 'XRANGE / XREVRANGE with COUNT, exclusive ( ids and incomplete ids; XDEL',
    async run(s) {
      for (let i = 1; i <= 6; i++) await s.quiet('XADD', 's', `${Math.ceil(i / 2)}-${i}`, 'n', String(i));
      await s.call('XRANGE', 's', '-', '+', 'COUNT', '2');
      await s.call('XRANGE', 's', '(1-2', '+', 'COUNT', '2');
      await s.call('XRANGE', 's', '2', '2');
      await s.call('XRANGE', 's', '(2-3', '(3-6');
      await s.call('XREVRANGE', 's', '+', '-', 'COUNT', '3');
      await s.call('XREVRANGE', 's', '(3-6', '(1-1');
      await s.call('XRANGE', 's', '-', '+', 'COUNT', '0');
      await s.call('XRANGE', 's', '5', '9');
      await s.call('XRANGE', 'missing', '-', '+');
      await s.call('XRANGE', 's', '(-', '+');
      await s.call('XRANGE', 's', 'x', '+');
      await s.call('XRANGE', 's', '-', '+', 'COUNT');
      await s.call('XDEL', 's', '1-1', '2-4', '9-9');
      await s.call('XDEL', 's', '2-4');
      await s.call('XLEN', 's');
      await s.call('XRANGE', 's', '-', '+');
    },
  },
  {
    name: 'XTRIM MAXLEN and MINID (exact)',
    async run(s) {
      for (let i = 1; i <= 8; i++) await s.quiet('XADD', 's', `${i}-0`, 'n', String(i));
      await s.call('XTRIM', 's', 'MAXLEN', '6');
      await s.call('XTRIM', 's', 'MAXLEN', '=', '5');
      await s.call('XRANGE', 's', '-', '+');
      await s.call('XTRIM', 's', 'MINID', '6');
      await s.call('XTRIM', 's', 'MINID', '=', '7-0');
      await s.call('XRANGE', 's', '-', '+');
      await s.call('XTRIM', 's', 'MAXLEN', '100');
      await s.call('XTRIM', 's', 'MAXLEN', '0');
      await s.call('XLEN', 's');
      await s.call('EXISTS', 's');
      await s.call('XTRIM', 'missing', 'MAXLEN', '1');
      await s.call('XTRIM', 's', 'MAXLEN', '-1');
      await s.call('XTRIM', 's', 'BOGUS', '1');
      await s.call('XADD', 's2', 'MAXLEN', '2', '1-0', 'a', '1');
      await s.call('XADD', 's2', 'MAXLEN', '2', '2-0', 'a', '2');
      await s.call('XADD', 's2', 'MAXLEN', '2', '3-0', 'a', '3');
      await s.call('XRANGE', 's2', '-', '+');
    },
  },
  {
    name: 'XREAD non-blocking, several streams, $, argument errors',
    async run(s) {
      await s.call('XADD', 'a', '1-0', 'f', 'a1');
      await s.call('XADD', 'a', '2-0', 'f', 'a2');
      await s.call('XADD', 'b', '1-0', 'f', 'b1');
      await s.call('XREAD', 'STREAMS', 'a', '0');
      await s.call('XREAD', 'COUNT', '1', 'STREAMS', 'a', 'b', '0', '0');
      await s.call('XREAD', 'STREAMS', 'a', 'b', '1-0', '1-0');
      await s.call('XREAD', 'STREAMS', 'a', '$');
      await s.call('XREAD', 'STREAMS', 'missing', '0');
      await s.call('XREAD', 'STREAMS', 'a', 'b', '0');
      await s.call('XREAD', 'STREAMS', 'a', 'notanid');
      await s.call('XREAD', 'COUNT', 'x', 'STREAMS', 'a', '0');
      await s.call('XREAD', 'a', '0');
    },
  },
  {
    name: 'XREAD BLOCK times out with nil, and $ + BLOCK 0 is woken by XADD',
    async run(s) {
      await s.call('XADD', 's', '1-0', 'f', 'old');
      const t0 = performance.now();
      await s.call('XREAD', 'BLOCK', '150', 'STREAMS', 's', '$');
      const ms = performance.now() - t0;
      s.record('XREAD BLOCK 150 waited', ms >= 120 && ms < 1500);
      const reader = await s.conn('reader');
      const read = reader.call('XREAD', 'BLOCK', '0', 'STREAMS', 'other', 's', '0-0', '$');
      await s.sleep(50);
      await s.call('XADD', 's', '2-0', 'f', 'new');
      await read;
      await s.call('XREAD', 'BLOCK', '-1', 'STREAMS', 's', '$');
    },
  },
  {
    name: 'consumer groups: CREATE (MKSTREAM, $, BUSYGROUP), XREADGROUP > and 0, XACK, XPENDING, DESTROY',
    async run(s) {
      await s.call('XGROUP', 'CREATE', 'missing', 'g', '$');
      await s.call('XGROUP', 'CREATE', 'mk', 'g', '$', 'MKSTREAM');
      await s.call('XLEN', 'mk');
      for (let i = 1; i <= 4; i++) await s.quiet('XADD', 's', `${i}-0`, 'n', String(i));
      await s.call('XGROUP', 'CREATE', 's', 'g', '0');
      await s.call('XGROUP', 'CREATE', 's', 'g', '0');
      await s.call('XGROUP', 'CREATE', 's', 'late', '$');
      await s.call('XREADGROUP', 'GROUP', 'g', 'alice', 'COUNT', '2', 'STREAMS', 's', '>');
      await s.call('XREADGROUP', 'GROUP', 'g', 'bob', 'STREAMS', 's', '>');
      await s.call('XREADGROUP', 'GROUP', 'g', 'bob', 'STREAMS', 's', '>');
      await s.call('XREADGROUP', 'GROUP', 'late', 'carol', 'STREAMS', 's', '>');
      await s.call('XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 's', '0');
      await s.call('XACK', 's', 'g', '1-0', '9-9');
      await s.call('XACK', 's', 'g', '1-0');
      await s.call('XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 's', '0');
      await s.call('XPENDING', 's', 'g');
      await s.call('XPENDING', 's', 'late');
      await s.callAs(pendingRows(60_000), 'XPENDING', 's', 'g', '-', '+', '10');
      await s.callAs(pendingRows(60_000), 'XPENDING', 's', 'g', '-', '+', '10', 'bob');
      await s.callAs(pendingRows(60_000), 'XPENDING', 's', 'g', 'IDLE', '600000', '-', '+', '10');
      await s.callAs(pendingRows(60_000), 'XPENDING', 's', 'g', '(2-0', '+', '1');
      await s.call('XREADGROUP', 'GROUP', 'nog', 'alice', 'STREAMS', 's', '>');
      await s.call('XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 'missing', '>');
      await s.call('XPENDING', 's', 'nog');
      await s.call('XACK', 's', 'nog', '1-0');
      await s.call('XACK', 'missing', 'g', '1-0');
      await s.call('XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 's');
      await s.call('XGROUP', 'DESTROY', 's', 'g');
      await s.call('XGROUP', 'DESTROY', 's', 'g');
      await s.call('XPENDING', 's', 'g');
    },
  },
  {
    name: 'XAUTOCLAIM with min-idle, XREADGROUP BLOCK woken by XADD',
    async run(s) {
      for (let i = 1; i <= 3; i++) await s.quiet('XADD', 's', `${i}-0`, 'n', String(i));
      await s.call('XGROUP', 'CREATE', 's', 'g', '0');
      await s.call('XREADGROUP', 'GROUP', 'g', 'dead', 'STREAMS', 's', '>');
      await s.call('XAUTOCLAIM', 's', 'g', 'rescuer', '600000', '0-0');
      await s.sleep(80);
      await s.call('XAUTOCLAIM', 's', 'g', 'rescuer', '50', '0-0', 'COUNT', '2');
      await s.call('XAUTOCLAIM', 's', 'g', 'rescuer', '50', '0-0');
      await s.callAs(pendingRows(60_000), 'XPENDING', 's', 'g', '-', '+', '10');
      await s.call('XDEL', 's', '3-0');
      await s.call('XAUTOCLAIM', 's', 'g', 'other', '0', '0-0', 'JUSTID');
      await s.call('XAUTOCLAIM', 's', 'nog', 'x', '0', '0-0');
      await s.call('XAUTOCLAIM', 's', 'g', 'x', '-1', '0-0');
      await s.call('XAUTOCLAIM', 's', 'g', 'x', '0', '0-0', 'COUNT', '0');
      const reader = await s.conn('reader');
      const read = reader.call('XREADGROUP', 'GROUP', 'g', 'waiter', 'BLOCK', '0', 'STREAMS', 's', '>');
      await s.sleep(50);
      await s.call('XADD', 's', '10-0', 'n', 'fresh');
      await read;
      await s.call('XREADGROUP', 'GROUP', 'g', 'waiter', 'BLOCK', '100', 'STREAMS', 's', '>');
    },
  },
  {
    name: 'WRONGTYPE on stream commands and stream keys under other commands',
    async run(s) {
      await s.call('SET', 'str', 'x');
      await s.call('XADD', 'st', '1-0', 'f', 'v');
      for (const cmd of [
        ['XADD', 'str', '*', 'f', 'v'],
        ['XLEN', 'str'],
        ['XRANGE', 'str', '-', '+'],
        ['XREVRANGE', 'str', '+', '-'],
        ['XDEL', 'str', '1-0'],
        ['XTRIM', 'str', 'MAXLEN', '1'],
        ['XREAD', 'STREAMS', 'str', '0'],
        ['XGROUP', 'CREATE', 'str', 'g', '0'],
        ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 'str', '>'],
        ['GET', 'st'],
        ['LPUSH', 'st', 'x'],
        ['HSET', 'st', 'f', 'v'],
      ]) {
        await s.call(...cmd);
      }
    },
  },
];

conformanceSuite(cases);
