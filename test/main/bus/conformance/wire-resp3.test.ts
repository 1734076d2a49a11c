/**
 * Differential conformance at the byte level for RESP3 (after `HELLO 3`), over bare sockets: the
 * HELLO map, null `_` where RESP2 has `$-1` / `*-1` (blocking time-outs and aborted EXEC included),
 * maps `%` (HGETALL, CONFIG GET, XREAD/XREADGROUP keyed by stream, XINFO, COMMAND DOCS), sets `~`
 * (SMEMBERS), verbatim `=` (INFO), pushes `>` for pub/sub with commands allowed while subscribed,
 * and switching back to RESP2 (HELLO 2, RESET). Client libraries hide these encodings (node-redis
 * decodes `~` and `*` alike, `_` and `$-1` alike), so only bytes can tell a wrong type.
 */
import { describe, it } from 'vitest';
import { useConformance, sleep } from '../lib/differential.js';
import { checkWire, type WireCase, type WireConn } from '../lib/wire.js';

/** Client ids differ between servers (redis counts its own connections): only their form is kept. */
const maskId = (s: string) => s.replace(/\$2\\r\\nid\\r\\n:\d+\\r\\n/, '$2\\r\\nid\\r\\n:<id>\\r\\n');

/** Switches a raw connection to RESP3, recording the HELLO map (id masked). */
const hello3 = (c: WireConn) => c.cmdMasked(maskId, 'HELLO', '3');

const cases: WireCase[] = [
  {
    name: 'HELLO 3 map; nulls, maps, sets and verbatim text; HELLO 2 and RESET go back to RESP2',
    async run(w) {
      const c = await w.open('c1');
      await hello3(c);
      await c.cmdMasked(maskId, 'HELLO');
      for (const cmd of [
        ['GET', 'missing'],
        ['SET', 'k', 'v'],
        ['SET', 'k', 'w', 'NX'],
        ['SET', 'k', 'w', 'NX', 'GET'],
        ['MGET', 'k', 'missing'],
        ['GETDEL', 'missing'],
        ['LPOP', 'nolist'],
        ['LPOP', 'nolist', '2'],
        ['LINDEX', 'nolist', '0'],
        ['RPUSH', 'l', 'a'],
        ['LPOP', 'l', '5'],
        ['HSET', 'h', 'f1', 'v1', 'f2', '', 'f3', 'héllo'],
        ['HGETALL', 'h'],
        ['HGETALL', 'nohash'],
        ['HKEYS', 'h'],
        ['HMGET', 'h', 'f1', 'nofield'],
        ['HGET', 'h', 'nofield'],
        // Integers only: redis keeps them in an intset (sorted), which is the bus's insertion order here.
        ['SADD', 's', '1', '2', '3'],
        ['SMEMBERS', 's'],
        ['SMEMBERS', 'noset'],
        ['SMISMEMBER', 's', '1', '9'],
        ['CONFIG', 'GET', 'maxmemory'],
        ['CONFIG', 'GET', 'no-such-parameter'],
        ['CLIENT', 'GETNAME'],
        ['COMMAND', 'DOCS', 'no-such-command'],
        ['COMMAND', 'INFO', 'no-such-command'],
        ['INFO', 'keyspace'],
        ['INCRBYFLOAT', 'f', '1.5'],
        ['TYPE', 'h'],
        ['SCAN', '0', 'MATCH', 'nomatch*'],
        ['PUBSUB', 'NUMSUB', 'a'],
        ['XADD', 'nostream', 'NOMKSTREAM', '*', 'f', 'v'],
      ]) {
        await c.cmd(...cmd);
      }
      // CLIENT INFO is verbatim text whose fields (and so length) differ between servers: its type,
      // format and resp= are compared (the reader already checked the length frames the text).
      await c.cmdMasked((s) => `${s.slice(0, 1)}<len>${s.slice(s.indexOf('\\r\\n'), s.indexOf('txt:') + 4)}...resp=${/resp=(\d)/.exec(s)?.[1]}`, 'CLIENT', 'INFO');
      await c.cmd('HELLO', '4');
      await c.cmd('HELLO', '2', 'SETNAME', 'bad name');
      await c.cmd('GET', 'missing');
      await c.cmdMasked(maskId, 'HELLO', '2');
      await c.cmd('GET', 'missing');
      await c.cmd('HGETALL', 'h');
      await c.cmd('LPOP', 'nolist', '2');
      await hello3(c);
      await c.cmd('RESET');
      await c.cmd('GET', 'missing');
      await c.cmd('SMEMBERS', 's');
      await c.cmdMasked(maskId, 'HELLO', '3', 'SETNAME', 'conn-3');
      await c.cmd('CLIENT', 'GETNAME');
    },
  },
  {
    name: 'RESP3 blocking time-outs, aborted and nil-holding EXEC',
    async run(w) {
      const c = await w.open('c1');
      await hello3(c);
      for (const cmd of [
        ['BLPOP', 'q', '0.01'],
        ['BRPOP', 'q1', 'q2', '0.01'],
        ['BLMOVE', 'q', 'd', 'LEFT', 'RIGHT', '0.01'],
        ['BRPOPLPUSH', 'q', 'd', '0.01'],
        ['XREAD', 'BLOCK', '10', 'STREAMS', 'nostream', '$'],
        ['MULTI'],
        ['GET', 'missing'],
        ['LPOP', 'nolist', '2'],
        ['BLPOP', 'q', '1'],
        ['HGETALL', 'nohash'],
        ['EXEC'],
      ]) {
        await c.cmd(...cmd);
      }
      const other = await w.open('c2');
      await c.cmd('WATCH', 'k');
      await other.cmd('SET', 'k', 'changed');
      await c.cmd('MULTI');
      await c.cmd('GET', 'k');
      await c.cmd('EXEC');
      // A waiter served by a push gets its reply as in RESP2 (only the time-out is a RESP3 null).
      c.send('BLPOP', 'q', '2');
      await sleep(30);
      await other.cmd('RPUSH', 'q', 'x');
      await c.read(1);
    },
  },
  {
    name: 'RESP3 streams: XREAD/XREADGROUP keyed by stream, XPENDING nulls, XINFO maps',
    async run(w) {
      const c = await w.open('c1');
      await hello3(c);
      for (const cmd of [
        ['XADD', 's1', '1-1', 'f', 'v'],
        ['XADD', 's2', '2-1', 'a', '1', 'b', '2'],
        ['XREAD', 'STREAMS', 's1', 's2', '0', '0'],
        ['XREAD', 'COUNT', '1', 'STREAMS', 's1', 's2', '1-1', '0'],
        ['XREAD', 'STREAMS', 's1', '1-1'],
        ['XRANGE', 's1', '-', '+'],
        ['XRANGE', 's1', '-', '+', 'COUNT', '0'],
        ['XGROUP', 'CREATE', 's1', 'g', '0'],
        ['XGROUP', 'CREATE', 's2', 'g', '$'],
        ['XPENDING', 's1', 'g'],
        ['XINFO', 'GROUPS', 's1'],
        ['XINFO', 'GROUPS', 's2'],
        ['XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 's1', '>'],
        ['XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 's1', '0'],
        ['XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 's1', '>'],
        ['XPENDING', 's1', 'g'],
        ['XDEL', 's1', '1-1'],
        // The deleted entry is still pending: history returns it with null fields.
        ['XREADGROUP', 'GROUP', 'g', 'alice', 'STREAMS', 's1', '0'],
        ['XAUTOCLAIM', 's1', 'g', 'bob', '0', '0', 'JUSTID'],
        ['XREADGROUP', 'GROUP', 'g', 'bob', 'BLOCK', '10', 'STREAMS', 's2', '>'],
      ]) {
        await c.cmd(...cmd);
      }
      // Idle times and radix-tree internals are server-specific: masked, the map framing is kept.
      await c.cmdMasked((s) => s.replace(/idle\\r\\n:\d+/g, 'idle\\r\\n:<ms>'), 'XINFO', 'CONSUMERS', 's1', 'g');
      await c.cmd('XADD', 'empty', '5-5', 'f', 'v');
      await c.cmd('XDEL', 'empty', '5-5');
      await c.cmdMasked((s) => s.replace(/(radix-tree-\w+\\r\\n):\d+/g, '$1:<n>'), 'XINFO', 'STREAM', 'empty');
      await c.cmdMasked((s) => s.replace(/(radix-tree-\w+\\r\\n):\d+/g, '$1:<n>'), 'XINFO', 'STREAM', 's2');
    },
  },
  {
    name: 'RESP3 pub/sub: push frames, commands while subscribed, RESP2 and RESP3 subscribers side by side',
    async run(w) {
      const sub3 = await w.open('sub3');
      const sub2 = await w.open('sub2');
      const pub = await w.open('pub');
      await hello3(sub3);
      sub3.send('SUBSCRIBE', 'a', 'b');
      await sub3.read(2);
      await sub3.cmd('PSUBSCRIBE', 'p*');
      await sub2.cmd('SUBSCRIBE', 'a');
      await sub2.cmd('PSUBSCRIBE', 'p*');
      await pub.cmd('PUBLISH', 'a', 'hello');
      await sub3.read(1);
      await sub2.read(1);
      await pub.cmd('PUBLISH', 'pq', 'pattern');
      await sub3.read(1);
      await sub2.read(1);
      // A message past the bus's small-value size takes its Buffer path.
      await pub.cmd('PUBLISH', 'a', 'x'.repeat(1500));
      await sub3.read(1);
      await sub2.read(1);
      // RESP3 has no subscribed mode: any command runs and answers normally.
      await sub3.cmd('SET', 'k', 'v');
      await sub3.cmd('GET', 'k');
      await sub3.cmd('GET', 'missing');
      await sub3.cmd('PING');
      await sub3.cmd('PING', 'arg');
      await sub2.cmd('PING');
      await sub2.cmd('GET', 'k');
      // A subscriber publishing to itself: the push comes before the PUBLISH reply.
      await sub3.raw('*3\r\n$7\r\nPUBLISH\r\n$1\r\nb\r\n$4\r\nself\r\n', 2);
      sub3.send('UNSUBSCRIBE', 'b', 'never');
      await sub3.read(2);
      await sub3.cmd('UNSUBSCRIBE');
      await sub3.cmd('UNSUBSCRIBE');
      await sub3.cmd('PUNSUBSCRIBE');
      await sub3.cmd('PUNSUBSCRIBE');
      await pub.cmd('PUBSUB', 'NUMSUB', 'a', 'b');
      await pub.cmd('PUBSUB', 'NUMPAT');
    },
  },
];

describe('raw socket, RESP3', () => {
  const conf = useConformance();

  it.each(cases)('$name', (c) => checkWire(conf, c));
});
