/**
 * Differential conformance, raw sockets: what the bus does with hostile or malformed input must be
 * what redis-server does. The cross-protocol guard (an HTTP request sent to the bus), the bytes
 * after bulk data, multibulk counts past 1M, a NUL inside an inline command, EXEC refused before
 * it runs, OBJECT, and client-output-buffer-limit through CONFIG. The cases that need a password
 * run against servers started with one.
 */
import { describe, it } from 'vitest';
import { useConformance } from '../lib/differential.js';
import { checkWire, type WireCase } from '../lib/wire.js';

const PASSWORD = 's3cret';
const HTTP = 'POST / HTTP/1.1\r\nHost: x\r\n\r\n';

const open: WireCase[] = [
  {
    name: 'POST or Host: as a command closes the connection at once; nothing after it runs',
    async run(w) {
      const bystander = await w.open('bystander');
      for (const bytes of [
        `${HTTP}SET k v\r\n`,
        'host: x\r\nSET k v\r\n',
        'HOST:\r\nSET k v\r\n',
        '*1\r\n$4\r\npost\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n',
        // Earlier replies of the same read are dropped with the connection.
        'PING\r\nPoSt /\r\nSET k v\r\n',
        'MULTI\r\nPOST\r\nSET k v\r\n',
      ]) {
        const c = await w.open('attacker');
        await c.rawUntilClose(bytes);
        await bystander.cmd('GET', 'k');
      }
      // Not the names themselves: a GET of a key called "post" is fine.
      await bystander.cmd('GET', 'post');
      await bystander.cmd('POSTS');
    },
  },
  {
    name: 'the two bytes after bulk data are skipped whatever they are',
    async run(w) {
      const c = await w.open('c1');
      await c.raw('*1\r\n$4\r\nPINGxx*2\r\n$4\r\nECHO\r\n$3\r\nabc\n*1\r\n$4\r\nPING\r\n', 5);
      const big = 'b'.repeat(3000);
      await c.raw(`*2\r\n$4\r\nECHO\r\n$3000\r\n${big}!!*1\r\n$4\r\nPING\r\n`, 2);
    },
  },
  {
    name: 'a NUL in an inline command leaves the line unfinished until it is too long',
    async run(w) {
      const c = await w.open('c1');
      await c.raw('PING\r\n', 1);
      await c.rawUntilClose(`ECHO a\0b\r\nPING\r\n*1\r\n$4\r\nPING\r\n${'x'.repeat(70 * 1024)}`);
      const d = await w.open('c2');
      await d.cmd('PING');
    },
  },
  {
    name: 'a multibulk count past one million is accepted; past 2^31-1 refused',
    async run(w) {
      // The count is taken (the error is about the first argument, not the count).
      const c = await w.open('c1');
      await c.rawUntilClose('*1100000\r\n$-5\r\n');
      const d = await w.open('c2');
      await d.rawUntilClose('*2147483647\r\n$-5\r\n');
      const e = await w.open('c3');
      await e.rawUntilClose('*2147483648\r\n');
    },
  },
  {
    name: 'EXEC refused before it runs discards the transaction with EXECABORT and the reason',
    async run(w) {
      const c = await w.open('c1');
      await c.cmd('MULTI');
      await c.cmd('SET', 'k', 'v');
      await c.cmd('EXEC', 'x');
      await c.cmd('EXEC');
      await c.cmd('GET', 'k');
      await c.cmd('EXEC', 'x');
      const sub = await w.open('sub');
      await sub.cmd('SUBSCRIBE', 'ch');
      await sub.cmd('EXEC');
      await sub.cmd('DISCARD');
    },
  },
  {
    name: 'OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ / HELP and their errors',
    async run(w) {
      const c = await w.open('c1');
      for (const cmd of [
        ['SET', 'int', '12'],
        ['SET', 'neg', '-9223372036854775808'],
        ['SET', 'big', '9223372036854775808'],
        ['SET', 'short', 'abc'],
        ['SET', 'long', 'x'.repeat(45)],
        ['SET', 'shared', '9999'],
        ['SET', 'unshared', '10000'],
        ['RPUSH', 'l', 'a'],
        ['HSET', 'h', 'a', 'b'],
        ['HSET', 'hbig', 'f', 'v'.repeat(65)],
        ['SADD', 'ints', '1', '2', '-3'],
        ['SADD', 'strs', 'a'],
        ['XADD', 'x', '1-1', 'a', 'b'],
      ]) {
        await c.cmd(...cmd);
      }
      for (const key of ['int', 'neg', 'big', 'short', 'long', 'l', 'h', 'hbig', 'ints', 'strs', 'x', 'nokey']) {
        await c.cmd('OBJECT', 'ENCODING', key);
      }
      for (const key of ['int', 'shared', 'unshared', 'short', 'l', 'nokey']) await c.cmd('OBJECT', 'REFCOUNT', key);
      await c.cmd('OBJECT', 'IDLETIME', 'short');
      await c.cmd('OBJECT', 'IDLETIME', 'nokey');
      await c.cmd('OBJECT', 'FREQ', 'short');
      await c.cmd('OBJECT', 'FREQ', 'nokey');
      await c.cmd('OBJECT', 'HELP');
      await c.cmd('object', 'help', 'x');
      await c.cmd('OBJECT', 'FOO', 'short');
      await c.cmd('OBJECT');
      await c.cmd('OBJECT', 'ENCODING');
      await c.cmd('OBJECT', 'ENCODING', 'a', 'b');
    },
  },
  {
    name: 'CONFIG GET / SET client-output-buffer-limit',
    async run(w) {
      const c = await w.open('c1');
      await c.cmd('CONFIG', 'GET', 'client-output-buffer-limit');
      for (const v of ['pubsub 1mb 512kb 10', 'replica 1 2 3', 'foo 1 2 3', 'pubsub 1 2', 'pubsub x 2 3', 'pubsub 1 2 -5', '', 'NORMAL 1gb 0 0 PUBSUB 1m 1k 0']) {
        await c.cmd('CONFIG', 'SET', 'client-output-buffer-limit', v);
        await c.cmd('CONFIG', 'GET', 'client-output*');
      }
      await c.cmd('CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60');
    },
  },
];

const withPassword: WireCase[] = [
  {
    name: 'an HTTP request with AUTH and SET inside runs nothing',
    async run(w) {
      const c = await w.open('attacker');
      await c.rawUntilClose(`${HTTP}AUTH ${PASSWORD}\r\nSET k v\r\n`);
      const d = await w.open('attacker2');
      await d.rawUntilClose(`AUTH ${PASSWORD}\r\nSET k v\r\nHost: x\r\nSET k2 v\r\n`);
      const check = await w.open('check');
      await check.cmd('AUTH', PASSWORD);
      await check.cmd('EXISTS', 'k', 'k2');
    },
  },
  {
    name: 'EXEC before AUTH: EXECABORT with NOAUTH; unauthenticated multibulk limits',
    async run(w) {
      const c = await w.open('c1');
      await c.cmd('EXEC');
      await c.cmd('MULTI');
      await c.cmd('EXEC');
      await c.cmd('DISCARD');
      await c.cmd('AUTH', PASSWORD);
      await c.cmd('EXEC');
      const big = await w.open('unauth');
      await big.rawUntilClose('*11\r\n');
      const big2 = await w.open('unauth2');
      await big2.rawUntilClose('*2000000\r\n');
    },
  },
];

describe('raw socket, hostile and malformed input', () => {
  const conf = useConformance();
  it.each(open)('$name', (c) => checkWire(conf, c), 30_000);
});

describe('raw socket, hostile and malformed input, with a password', () => {
  const conf = useConformance({ password: PASSWORD });
  it.each(withPassword)('$name', (c) => checkWire(conf, c, PASSWORD), 30_000);
});
