/**
 * Differential conformance: hashes (HSET HGET HMGET HDEL HGETALL HEXISTS HLEN HKEYS HVALS HINCRBY)
 * and sets (SADD SREM SMEMBERS SISMEMBER SCARD).
 * Redis documents no order for hash fields or set members (it is its hash table's, or a listpack's):
 * HGETALL/HKEYS/HVALS/SMEMBERS are compared as sorted collections.
 */
import { conformanceSuite, type Case } from '../lib/differential.js';
import { sorted, sortedPairs } from '../lib/normalise.js';

const cases: Case[] = [
  {
    name: 'hash read/write commands',
    async run(s) {
      await s.call('HSET', 'h', 'a', '1', 'b', '2');
      await s.call('HSET', 'h', 'a', '10', 'c', '3');
      await s.call('HGET', 'h', 'a');
      await s.call('HGET', 'h', 'missing');
      await s.call('HGET', 'nokey', 'a');
      await s.call('HMGET', 'h', 'a', 'missing', 'c');
      await s.call('HMGET', 'nokey', 'a', 'b');
      await s.call('HEXISTS', 'h', 'b');
      await s.call('HEXISTS', 'h', 'zz');
      await s.call('HLEN', 'h');
      await s.call('HLEN', 'nokey');
      await s.callAs(sortedPairs, 'HGETALL', 'h');
      await s.callAs(sorted, 'HKEYS', 'h');
      await s.callAs(sorted, 'HVALS', 'h');
      await s.call('HGETALL', 'nokey');
      await s.call('HKEYS', 'nokey');
      await s.call('HDEL', 'h', 'a', 'missing', 'a');
      await s.call('HDEL', 'h', 'b', 'c');
      await s.call('EXISTS', 'h');
      await s.call('HDEL', 'nokey', 'a');
      await s.call('HSET', 'h', 'empty', '');
      await s.call('HGET', 'h', 'empty');
      await s.call('HSET', 'h', 'odd');
      await s.call('HSET', 'h', 'a', '1', 'b');
      await s.call('HMGET', 'h');
    },
  },
  {
    name: 'HINCRBY: new fields, non-integers, overflow',
    async run(s) {
      await s.call('HINCRBY', 'h', 'n', '5');
      await s.call('HINCRBY', 'h', 'n', '-8');
      await s.call('HGET', 'h', 'n');
      await s.call('HSET', 'h', 'f', '1.5', 'w', 'word', 'max', '9223372036854775807');
      await s.call('HINCRBY', 'h', 'f', '1');
      await s.call('HINCRBY', 'h', 'w', '1');
      await s.call('HINCRBY', 'h', 'max', '1');
      await s.call('HINCRBY', 'h', 'n', 'x');
      await s.call('HINCRBY', 'h', 'n', '1.0');
    },
  },
  {
    name: 'set commands',
    async run(s) {
      await s.call('SADD', 's', 'a', 'b', 'c', 'a');
      await s.call('SADD', 's', 'c', 'd');
      await s.callAs(sorted, 'SMEMBERS', 's');
      await s.call('SMEMBERS', 'nokey');
      await s.call('SISMEMBER', 's', 'a');
      await s.call('SISMEMBER', 's', 'z');
      await s.call('SISMEMBER', 'nokey', 'a');
      await s.call('SCARD', 's');
      await s.call('SCARD', 'nokey');
      await s.call('SREM', 's', 'a', 'z', 'a');
      await s.callAs(sorted, 'SMEMBERS', 's');
      await s.call('SREM', 's', 'b', 'c', 'd');
      await s.call('EXISTS', 's');
      await s.call('SREM', 'nokey', 'a');
      await s.call('SADD', 'nums', '3', '1', '2', '10');
      await s.callAs(sorted, 'SMEMBERS', 'nums');
      await s.call('SADD', 's');
      await s.call('SISMEMBER', 's');
    },
  },
  {
    name: 'WRONGTYPE on hash and set commands',
    async run(s) {
      await s.call('SET', 'str', 'x');
      await s.call('SADD', 'set', 'm');
      await s.call('HSET', 'hash', 'f', 'v');
      for (const cmd of [
        ['HSET', 'str', 'f', 'v'],
        ['HGET', 'str', 'f'],
        ['HMGET', 'set', 'f'],
        ['HDEL', 'str', 'f'],
        ['HGETALL', 'set'],
        ['HEXISTS', 'str', 'f'],
        ['HLEN', 'str'],
        ['HKEYS', 'str'],
        ['HVALS', 'str'],
        ['HINCRBY', 'set', 'f', '1'],
        ['SADD', 'hash', 'm'],
        ['SREM', 'str', 'm'],
        ['SMEMBERS', 'hash'],
        ['SISMEMBER', 'str', 'm'],
        ['SCARD', 'hash'],
      ]) {
        await s.call(...cmd);
      }
    },
  },
];

conformanceSuite(cases);
