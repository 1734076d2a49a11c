/**
 * Differential conformance: strings and the keyspace. GET SET (EX PX NX XX GET KEEPTTL and their
 * syntax errors) MGET MSET DEL UNLINK EXISTS EXPIRE PEXPIRE TTL PTTL PERSIST TYPE KEYS SCAN INCR
 * INCRBY DECR, expiry, glob patterns.
 */
import type { Reply } from '../lib/clients.js';
import { conformanceSuite, type Case } from '../lib/differential.js';
import { sorted, within } from '../lib/normalise.js';

const cases: Case[] = [
  {
    name: 'SET options: NX XX GET KEEPTTL EX PX',
    async run(s) {
      await s.call('SET', 'k', 'v1');
      await s.call('SET', 'k', 'v2', 'NX');
      await s.call('SET', 'n', 'v', 'XX');
      await s.call('GET', 'n');
      await s.call('SET', 'k', 'v3', 'XX');
      await s.call('SET', 'k', 'v4', 'GET');
      await s.call('SET', 'absent', 'v', 'GET');
      await s.call('SET', 'k', 'v5', 'XX', 'GET');
      await s.call('SET', 'k2', 'v', 'NX', 'GET');
      await s.call('SET', 'k', 'v6', 'NX', 'GET');
      await s.call('GET', 'k');
      await s.call('SET', 'k', 'v', 'EX', '100');
      // A TTL counts down in real time: compare it as a range.
      await s.callAs(within(99, 100), 'TTL', 'k');
      await s.call('SET', 'k', 'w', 'KEEPTTL');
      await s.callAs(within(99, 100), 'TTL', 'k');
      await s.call('SET', 'k', 'x');
      await s.call('TTL', 'k');
      await s.call('SET', 'k', 'v', 'PX', '100000');
      await s.callAs(within(99_000, 100_000), 'PTTL', 'k');
      await s.call('set', 'lower', 'v', 'ex', '10', 'nx');
      await s.callAs(within(9, 10), 'TTL', 'lower');
      await s.call('SET', 'empty', '');
      await s.call('GET', 'empty');
      await s.call('SET', 'bin', 'a\u0000b\r\nc');
      await s.call('GET', 'bin');
    },
  },
  {
    name: 'SET syntax errors and bad expire values',
    async run(s) {
      await s.call('SET', 'k', 'v', 'NX', 'XX');
      await s.call('SET', 'k', 'v', 'EX', '10', 'PX', '100');
      await s.call('SET', 'k', 'v', 'EX');
      await s.call('SET', 'k', 'v', 'EX', 'abc');
      await s.call('SET', 'k', 'v', 'EX', '0');
      await s.call('SET', 'k', 'v', 'EX', '-5');
      await s.call('SET', 'k', 'v', 'PX', '0');
      await s.call('SET', 'k', 'v', 'EX', '10', 'KEEPTTL');
      await s.call('SET', 'k', 'v', 'KEEPTTL', 'PX', '10');
      await s.call('SET', 'k', 'v', 'BOGUS');
      await s.call('SET', 'k', 'v', 'EX', '1.5');
      await s.call('EXISTS', 'k');
      await s.call('LPUSH', 'list', 'x');
      await s.call('SET', 'list', 'v', 'GET');
      await s.call('GET', 'list');
      await s.call('SET', 'list', 'v');
      await s.call('TYPE', 'list');
    },
  },
  {
    name: 'expiry: PX 50 then gone, TTL/PTTL -1/-2, EXPIRE PEXPIRE PERSIST',
    async run(s) {
      await s.call('SET', 'short', 'v', 'PX', '50');
      await s.call('GET', 'short');
      await s.sleep(120);
      await s.call('GET', 'short');
      await s.call('EXISTS', 'short');
      await s.call('TTL', 'short');
      await s.call('PTTL', 'short');
      await s.call('SET', 'p', 'v');
      await s.call('TTL', 'p');
      await s.call('PTTL', 'p');
      await s.call('EXPIRE', 'p', '100');
      await s.callAs(within(99, 100), 'TTL', 'p');
      await s.call('PERSIST', 'p');
      await s.call('PERSIST', 'p');
      await s.call('PERSIST', 'missing');
      await s.call('TTL', 'p');
      await s.call('PEXPIRE', 'p', '100000');
      await s.callAs(within(99_000, 100_000), 'PTTL', 'p');
      await s.call('EXPIRE', 'missing', '10');
      await s.call('EXPIRE', 'p', 'abc');
      await s.call('EXPIRE', 'p', '10', 'BOGUS');
      await s.call('PEXPIRE', 'p', '30');
      await s.sleep(100);
      await s.call('EXISTS', 'p');
      // Expired keys must also vanish from listings without being touched first.
      await s.call('SET', 'e1', 'v', 'PX', '30');
      await s.call('SET', 'kept', 'v');
      await s.sleep(100);
      await s.callAs(sorted, 'KEYS', '*');
      // DBSIZE counts an expired key until the (sampling, 10 Hz) active expiry reclaims it: 1 or 2.
      await s.callAs(within(1, 2), 'DBSIZE');
      await s.call('SET', 'neg', 'v');
      await s.call('EXPIRE', 'neg', '-1');
      await s.call('EXISTS', 'neg');
      await s.call('SET', 'zero', 'v');
      await s.call('PEXPIRE', 'zero', '0');
      await s.call('GET', 'zero');
    },
  },
  {
    name: 'MGET MSET DEL UNLINK EXISTS TYPE',
    async run(s) {
      await s.call('MSET', 'a', '1', 'b', '2', 'c', '3');
      await s.call('MSET', 'a', '1', 'b');
      await s.call('MGET', 'a', 'missing', 'c');
      await s.call('LPUSH', 'l', 'x');
      await s.call('HSET', 'h', 'f', 'v');
      await s.call('SADD', 's', 'm');
      await s.call('XADD', 'x', '1-1', 'f', 'v');
      await s.call('MGET', 'a', 'l', 'h');
      for (const k of ['a', 'l', 'h', 's', 'x', 'missing']) await s.call('TYPE', k);
      await s.call('EXISTS', 'a', 'a', 'missing', 'b');
      await s.call('DEL', 'a', 'missing', 'l');
      await s.call('UNLINK', 'b', 'b', 'h');
      await s.call('EXISTS', 'a', 'b', 'l', 'h');
      await s.call('DEL', 'nothing');
      await s.call('MGET', 'c', 'c');
    },
  },
  {
    name: 'INCR INCRBY DECR: non-integers, overflow, new keys',
    async run(s) {
      await s.call('INCR', 'n');
      await s.call('INCRBY', 'n', '41');
      await s.call('DECR', 'n');
      await s.call('INCRBY', 'n', '-100');
      await s.call('GET', 'n');
      await s.call('DECR', 'fresh');
      await s.call('SET', 'f', '1.5');
      await s.call('INCR', 'f');
      await s.call('SET', 's', 'abc');
      await s.call('INCR', 's');
      await s.call('SET', 'sp', ' 1');
      await s.call('INCR', 'sp');
      await s.call('SET', 'lead0', '007');
      await s.call('INCR', 'lead0');
      await s.call('SET', 'max', '9223372036854775807');
      await s.call('INCR', 'max');
      await s.call('INCRBY', 'max', '0');
      await s.call('SET', 'min', '-9223372036854775808');
      await s.call('DECR', 'min');
      await s.call('INCRBY', 'n', 'x');
      await s.call('INCRBY', 'n', '9223372036854775808');
      await s.call('SET', 'big', '99999999999999999999');
      await s.call('INCR', 'big');
      await s.call('LPUSH', 'l', 'x');
      await s.call('INCR', 'l');
      await s.call('SET', 'ttl', '5', 'EX', '100');
      await s.call('INCR', 'ttl');
      // INCR keeps the key's TTL.
      await s.callAs(within(99, 100), 'TTL', 'ttl');
    },
  },
  {
    name: 'KEYS glob patterns: * ? [a-c] [^a] escapes',
    async run(s) {
      const keys = ['hello', 'hallo', 'hxllo', 'hllo', 'heeello', 'a*b', 'a?b', 'axb', 'a[b', 'a\\b', 'user:1', 'user:2', 'user:10', 'b', 'c', 'd'];
      await s.call('MSET', ...keys.flatMap((k) => [k, 'v']));
      const patterns = ['*', 'h?llo', 'h*llo', 'h[ae]llo', 'h[^e]llo', 'h[a-b]llo', '[a-c]', '[c-a]', 'a\\*b', 'a\\?b', 'a?b', 'a\\[b', 'a\\\\b', 'user:?', 'user:*', 'nomatch*', 'h[a-', '[!a]', '*llo*'];
      // KEYS answers in hash-table order: compared as sets.
      for (const p of patterns) await s.callAs(sorted, 'KEYS', p);
      await s.call('KEYS');
    },
  },
  {
    name: 'SCAN: full iterations with MATCH, COUNT and TYPE',
    async run(s) {
      const keys: string[] = [];
      for (let i = 0; i < 300; i++) keys.push(`key:${i}`, String(i));
      await s.quiet('MSET', ...keys);
      await s.call('LPUSH', 'list:1', 'x');
      await s.call('HSET', 'hash:1', 'f', 'v');
      // Cursor values and batch sizes are the server's own: compare what a full iteration returns,
      // and check each reply is [cursor string, array] with the loop ending on cursor "0".
      const scanAll = async (...opts: string[]) => {
        let cursor = '0';
        const seen = new Set<string>();
        let wellFormed = true;
        let rounds = 0;
        do {
          const r: Reply = await s.quiet('SCAN', cursor, ...opts);
          if (!Array.isArray(r) || typeof r[0] !== 'string' || !Array.isArray(r[1])) {
            s.record(`SCAN ${opts.join(' ')} malformed reply`, r);
            return;
          }
          for (const k of r[1]) seen.add(String(k));
          cursor = r[0];
          wellFormed &&= /^\d+$/.test(cursor);
        } while (cursor !== '0' && ++rounds < 10_000);
        s.record(`SCAN ${opts.join(' ')}`, { wellFormed, keys: [...seen].sort() });
      };
      await scanAll();
      await scanAll('MATCH', 'key:1?');
      await scanAll('MATCH', 'key:[2-3]5', 'COUNT', '7');
      await scanAll('COUNT', '1000');
      await scanAll('TYPE', 'list');
      await scanAll('TYPE', 'hash', 'MATCH', '*:1');
      await s.call('SCAN', 'abc');
      await s.call('SCAN', '0', 'COUNT', '0');
      await s.call('SCAN', '0', 'COUNT', 'x');
      await s.call('SCAN', '0', 'BOGUS', 'x');
      await s.call('SCAN');
    },
  },
  {
    name: 'WRONGTYPE on strings and values round-trip unchanged',
    async run(s) {
      await s.call('RPUSH', 'l', 'a');
      await s.call('GET', 'l');
      await s.call('HSET', 'h', 'f', 'v');
      await s.call('INCRBY', 'h', '1');
      const big = 'x'.repeat(70_000);
      await s.quiet('SET', 'big', big);
      await s.callAs((r) => r === big, 'GET', 'big');
      const utf = '日本語テキスト 😀';
      await s.call('SET', 'utf', utf);
      await s.call('GET', 'utf');
    },
  },
];

conformanceSuite(cases);
