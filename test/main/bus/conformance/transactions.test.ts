/**
 * Differential conformance: MULTI / EXEC / DISCARD. Queued replies, errors while queuing
 * (EXECABORT), runtime errors inside EXEC (an error element in the array, the rest still applied),
 * DISCARD, nested MULTI, EXEC/DISCARD without MULTI.
 */
import { conformanceSuite, type Case } from '../lib/differential.js';

const cases: Case[] = [
  {
    name: 'MULTI/EXEC applies queued commands and returns their replies in order',
    async run(s) {
      await s.call('MULTI');
      await s.call('SET', 'a', '1');
      await s.call('INCR', 'a');
      await s.call('RPUSH', 'l', 'x', 'y');
      await s.call('GET', 'missing');
      await s.call('LRANGE', 'l', '0', '-1');
      await s.call('EXEC');
      await s.call('GET', 'a');
      await s.call('MULTI');
      await s.call('EXEC');
    },
  },
  {
    name: 'an error while queuing aborts EXEC with EXECABORT',
    async run(s) {
      await s.call('MULTI');
      await s.call('SET', 'a', '1');
      await s.call('NOSUCHCMD', 'x');
      await s.call('GET');
      await s.call('SET', 'b', '2');
      await s.call('EXEC');
      await s.call('EXISTS', 'a', 'b');
      await s.call('PING');
    },
  },
  {
    name: 'WRONGTYPE inside EXEC is an error element; the other commands still run',
    async run(s) {
      await s.call('SET', 'str', 'x');
      await s.call('MULTI');
      await s.call('LPUSH', 'str', 'a');
      await s.call('INCR', 'str');
      await s.call('SET', 'after', 'yes');
      await s.call('HSET', 'str', 'f', 'v');
      await s.call('EXEC');
      await s.call('GET', 'after');
    },
  },
  {
    name: 'DISCARD drops the queue; DISCARD/EXEC without MULTI; nested MULTI',
    async run(s) {
      await s.call('MULTI');
      await s.call('SET', 'a', '1');
      await s.call('DISCARD');
      await s.call('EXISTS', 'a');
      await s.call('DISCARD');
      await s.call('EXEC');
      await s.call('MULTI');
      await s.call('MULTI');
      await s.call('SET', 'b', '1');
      await s.call('EXEC');
      await s.call('GET', 'b');
      await s.call('MULTI', 'extra');
    },
  },
  {
    name: 'another connection sees nothing until EXEC',
    async run(s) {
      const other = await s.conn('other');
      await s.call('MULTI');
      await s.call('SET', 'k', 'v');
      await s.call('RPUSH', 'l', '1');
      await other.call('EXISTS', 'k', 'l');
      await s.call('EXEC');
      await other.call('EXISTS', 'k', 'l');
    },
  },
];

conformanceSuite(cases);
