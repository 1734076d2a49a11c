/**
 * Differential conformance: the 16 numbered databases. Clients that select one in their connect
 * options (redis://host/1: ioredis `db`, node-redis `database`), SELECT, separate key spaces,
 * DBSIZE / FLUSHDB / FLUSHALL per database, MOVE, SWAPDB, INFO keyspace, and the per-database
 * parts of WATCH and blocking pops. Pub/sub is server-wide on both.
 */
import { conformanceSuite, type Case, type SessionConn } from '../lib/differential.js';

const keyspaceLines = (r: unknown) => (typeof r === 'string' ? r.split('\r\n').filter((l) => l.startsWith('db')) : r);

/** Waits until the server reports a blocked client (the positive signal that the pop is waiting). */
async function untilBlocked(s: SessionConn): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const info = await s.quiet('INFO', 'clients');
    if (typeof info === 'string' && /blocked_clients:1\r\n/.test(info)) return;
  }
  throw new Error('the blocked pop never showed in INFO clients');
}

const cases: Case[] = [
  {
    name: 'a client that connects to database 1 sees its own keys; SELECT switches; DBSIZE per database',
    async run(s) {
      await s.call('SET', 'k', 'zero');
      const one = await s.conn('db1', { db: 1 });
      await one.call('GET', 'k');
      await one.call('SET', 'k', 'one');
      await one.call('RPUSH', 'l', 'a', 'b');
      await one.call('DBSIZE');
      await s.call('GET', 'k');
      await s.call('DBSIZE');
      await s.call('SELECT', '1');
      await s.call('GET', 'k');
      await s.call('LRANGE', 'l', '0', '-1');
      await s.call('SELECT', '15');
      await s.call('DBSIZE');
      await s.callAs(keyspaceLines, 'INFO', 'keyspace');
      await s.call('CONFIG', 'GET', 'databases');
    },
  },
  {
    name: 'FLUSHDB empties the selected database only, FLUSHALL every one',
    async run(s) {
      await s.call('SET', 'a', '0');
      const two = await s.conn('db2', { db: 2 });
      await two.call('MSET', 'a', '2', 'b', '2');
      await two.call('FLUSHDB');
      await two.call('DBSIZE');
      await s.call('GET', 'a');
      await two.call('SET', 'c', '2');
      await s.call('FLUSHALL');
      await two.call('DBSIZE');
      await s.call('DBSIZE');
    },
  },
  {
    name: 'MOVE keeps the value and its TTL; SWAPDB trades contents; their errors',
    async run(s) {
      await s.call('SET', 'm', 'v', 'EX', '1000');
      await s.call('MOVE', 'm', '3');
      await s.call('MOVE', 'm', '3');
      await s.call('MOVE', 'nokey', '3');
      await s.call('MOVE', 'm', '0');
      await s.call('MOVE', 'm', '16');
      await s.call('MOVE', 'm', 'x');
      await s.call('SET', 'dup', '0');
      await s.call('SELECT', '3');
      await s.call('SET', 'dup', '3');
      await s.call('MOVE', 'dup', '0');
      await s.call('GET', 'm');
      await s.call('TTL', 'm');
      await s.call('SWAPDB', '0', '3');
      await s.call('GET', 'dup');
      await s.call('EXISTS', 'm');
      await s.call('SELECT', '0');
      await s.call('GET', 'm');
      await s.call('SWAPDB', '0', 'x');
      await s.call('SWAPDB', 'x', '0');
      await s.call('SWAPDB', '0', '16');
      await s.call('SWAPDB', '-1', '0');
      await s.call('SWAPDB', '5', '5');
    },
  },
  {
    name: 'a blocked pop waits on its own database: a push to the same key elsewhere does not serve it',
    async run(s) {
      const waiter = await s.conn('waiter', { db: 1 });
      const popped = waiter.call('BLPOP', 'q', '5');
      await untilBlocked(s);
      await s.call('RPUSH', 'q', 'in-db0');
      await s.call('SELECT', '1');
      await s.call('RPUSH', 'q', 'in-db1');
      await popped;
      await s.call('SELECT', '0');
      await s.call('LRANGE', 'q', '0', '-1');
    },
  },
  {
    name: 'SWAPDB serves a client blocked on a key the swap brought',
    async run(s) {
      const waiter = await s.conn('waiter', { db: 4 });
      const popped = waiter.call('BLPOP', 'q', '5');
      await untilBlocked(s);
      await s.call('SELECT', '5');
      await s.call('RPUSH', 'q', 'swapped-in');
      await s.call('SWAPDB', '4', '5');
      await popped;
    },
  },
  {
    name: 'WATCH is per database: a write to the same key name elsewhere leaves the transaction alone',
    async run(s) {
      const other = await s.conn('db1', { db: 1 });
      const same = await s.conn('db0');
      await s.call('WATCH', 'w');
      await other.call('SET', 'w', 'elsewhere');
      await s.call('MULTI');
      await s.call('SET', 'w', 'mine');
      await s.call('EXEC');
      await s.call('WATCH', 'w');
      await same.call('SET', 'w', 'theirs');
      await s.call('MULTI');
      await s.call('SET', 'w', 'mine-again');
      await s.call('EXEC');
      await s.call('GET', 'w');
      // FLUSHDB fails transactions watching a key that existed; SWAPDB those watching either side.
      await s.call('WATCH', 'w');
      await other.call('FLUSHDB');
      await s.call('MULTI');
      await s.call('EXEC');
      await s.call('WATCH', 'w');
      await other.call('SWAPDB', '0', '1');
      await s.call('MULTI');
      await s.call('EXEC');
    },
  },
  {
    name: 'pub/sub does not depend on the database',
    async run(s) {
      const sub = await s.conn('sub', { db: 7 });
      await sub.subscribe('news');
      await s.call('PUBLISH', 'news', 'from db0');
      await sub.recordMessages(1);
    },
  },
];

conformanceSuite(cases);
