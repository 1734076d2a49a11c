/**
 * Differential conformance at the byte level, over bare sockets: the exact RESP encoding of every
 * reply type, pipelining, inline commands, pub/sub push frames and the subscribed-mode restriction,
 * QUIT, and malformed input (the protocol error text must match redis-server's, the offending
 * connection must be closed, other connections must keep working). All in RESP2; the RESP3
 * encodings (after HELLO 3) are compared in wire-resp3.test.ts.
 */
import { describe, it } from 'vitest';
import { useConformance, sleep } from '../lib/differential.js';
import { checkWire, type WireCase } from '../lib/wire.js';

const cases: WireCase[] = [
  {
    name: 'reply encodings: simple, error, integer, bulk, nil bulk, nil array, empty array, nested, error in array',
    async run(w) {
      const c = await w.open('c1');
      for (const cmd of [
        ['PING'],
        ['SET', 'k', 'héllo'],
        ['GET', 'k'],
        ['GET', 'missing'],
        ['SET', 'e', ''],
        ['GET', 'e'],
        ['INCRBY', 'n', '9223372036854775806'],
        ['INCR', 'n'],
        ['DECRBY', 'm', '0'],
        ['LRANGE', 'nolist', '0', '-1'],
        ['LPOP', 'nolist', '2'],
        ['BLPOP', 'nolist', '0.01'],
        ['RPUSH', 'l', 'a', '', 'c'],
        ['LRANGE', 'l', '0', '-1'],
        ['MGET', 'k', 'missing', 'e'],
        ['XADD', 's', '1-1', 'f', 'v', 'g', ''],
        ['XRANGE', 's', '-', '+'],
        ['XREAD', 'STREAMS', 's', '0'],
        ['MULTI'],
        ['INCR', 'k'],
        ['GET', 'k'],
        ['EXEC'],
        ['GET', 'l'],
        ['TTL', 'missing'],
        ['nosuch', 'Arg'],
        ['GeT', 'k'],
      ]) {
        await c.cmd(...cmd);
      }
    },
  },
  {
    name: 'pipelining: one write, many replies in order',
    async run(w) {
      const c = await w.open('c1');
      const cmds = ['SET a 1', 'INCR a', 'GET a', 'NOSUCH', 'LPUSH l x', 'LPOP l', 'LPOP l', 'PING', 'ECHO end'];
      const bytes = cmds.map((s) => s.split(' ')).map((a) => `*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`);
      await c.raw(bytes.join(''), cmds.length);
      // The same pipeline split at awkward places (inside a length, inside a bulk, between CR and LF).
      const all = bytes.join('');
      await c.raw(all.slice(0, 3), 0);
      await sleep(20);
      await c.raw(all.slice(3, 17), 0);
      await sleep(20);
      await c.raw(all.slice(17, all.indexOf('\n', 40)), 0);
      await sleep(20);
      await c.raw(all.slice(all.indexOf('\n', 40)), cmds.length);
    },
  },
  {
    name: 'inline commands: spaces, quotes, escapes, bare LF, empty lines',
    async run(w) {
      const c = await w.open('c1');
      await c.raw('PING\r\n', 1);
      await c.raw('ping\n', 1);
      await c.raw('  ECHO   spaced   \r\n', 1);
      await c.raw('\r\n\r\nPING\r\n', 1);
      await c.raw('SET k "a b\\tc\\x41\\n"\r\n', 1);
      await c.raw('GET k\r\n', 1);
      await c.raw("SET q 'single \\' quote'\r\n", 1);
      await c.raw('GET q\r\n', 1);
      await c.raw('ECHO ""\r\n', 1);
      await c.raw('PING\r\nECHO two\r\nGET k\r\n', 3);
      await c.raw('NOSUCH inline arg\r\n', 1);
      await c.raw('GET\r\n', 1);
      // Empty and negative multibulk counts are skipped silently, like blank lines.
      await c.raw('*0\r\n*-1\r\nPING\r\n', 1);
    },
  },
  {
    name: 'malformed multibulk: protocol error text, connection closed, others unaffected',
    async run(w) {
      const bystander = await w.open('bystander');
      await bystander.cmd('SET', 'survivor', 'yes');
      for (const bad of [
        '*abc\r\n',
        '*1\r\nfoo\r\n',
        '*1\r\n$abc\r\n',
        '*1\r\n$-5\r\n',
        '*2\r\n$3\r\nGET\r\n:1\r\n',
        '*1\r\n$999999999999\r\n',
        'PING\r\n*1\r\n$4\r\nPING\r\n*x\r\n',
        'SET k "unbalanced\r\n',
        "SET k 'a'b\r\n",
        'SET k "a"b\r\n',
      ]) {
        const c = await w.open('bad');
        await c.rawUntilClose(bad);
        await bystander.cmd('GET', 'survivor');
      }
    },
  },
  {
    name: 'pub/sub frames, subscribed-mode restriction, PING in subscribed mode, leaving it',
    async run(w) {
      const sub = await w.open('sub');
      const pub = await w.open('pub');
      sub.send('SUBSCRIBE', 'a', 'b');
      await sub.read(2);
      await sub.cmd('PSUBSCRIBE', 'p*');
      await pub.cmd('PUBLISH', 'a', 'hello');
      await pub.cmd('PUBLISH', 'pq', 'pattern');
      await sub.read(2);
      await sub.cmd('GET', 'k');
      await sub.cmd('SET', 'k', 'v');
      await sub.cmd('PING');
      await sub.cmd('PING', 'arg');
      await sub.cmd('SUBSCRIBE', 'a');
      sub.send('UNSUBSCRIBE', 'b', 'a', 'never');
      await sub.read(3);
      await sub.cmd('GET', 'k');
      await sub.cmd('PUNSUBSCRIBE', 'p*');
      await sub.cmd('PING');
      await sub.cmd('UNSUBSCRIBE');
      await sub.cmd('PUNSUBSCRIBE');
      await sub.cmd('GET', 'k');
      await pub.cmd('PUBSUB', 'NUMPAT');
    },
  },
  {
    name: 'QUIT replies +OK and closes',
    async run(w) {
      const c = await w.open('c1');
      await c.rawUntilClose('*1\r\n$4\r\nQUIT\r\n');
      const d = await w.open('c2');
      await d.rawUntilClose('PING\r\nQUIT\r\nPING\r\n');
    },
  },
];

describe('raw socket', () => {
  const conf = useConformance();

  it.each(cases)('$name', (c) => checkWire(conf, c));
});
