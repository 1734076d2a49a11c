/**
 * Differential conformance: connection and server commands (PING ECHO SELECT CLIENT QUIT HELLO 2,
 * INFO DBSIZE FLUSHDB FLUSHALL TIME COMMAND CONFIG GET), unknown commands and arity errors.
 * HELLO 3 changes the wire protocol, so it is covered at the raw-socket layer (wire.test.ts).
 */
import type { Reply } from '../lib/clients.js';
import { conformanceSuite, type Case } from '../lib/differential.js';
import { clientList, flatMap, infoHas, shape, within } from '../lib/normalise.js';

const cases: Case[] = [
  {
    name: 'PING and ECHO, with their arity errors',
    async run(s) {
      await s.call('PING');
      await s.call('PING', 'hello world');
      await s.call('PING', 'a', 'b');
      await s.call('ECHO', '');
      await s.call('ECHO', 'héllo\r\nbinary\u0000');
      await s.call('ECHO');
      await s.call('ECHO', 'a', 'b');
    },
  },
  {
    name: 'unknown commands and wrong arity, error texts',
    async run(s) {
      await s.call('NOSUCHCMD');
      await s.call('NOSUCHCMD', 'a', 'b c', 'd');
      await s.call('NOSUCHCMD', 'x'.repeat(200));
      for (const cmd of ['GET', 'SET', 'MGET', 'DEL', 'LPUSH', 'HSET', 'SADD', 'XADD', 'INCRBY', 'EXPIRE', 'BLPOP', 'PUBLISH', 'LRANGE', 'HGET']) {
        await s.call(cmd);
      }
      await s.call('SET', 'k');
      await s.call('HSET', 'h', 'f');
      await s.call('GET', 'a', 'b');
    },
  },
  {
    name: 'SELECT 0..15; out-of-range and non-numeric indexes (more in databases.test.ts)',
    async run(s) {
      await s.call('SELECT', '0');
      await s.call('SELECT', '15');
      await s.call('SELECT', '16');
      await s.call('SELECT', '-1');
      await s.call('SELECT', 'x');
      await s.call('SELECT', '0');
      await s.call('SET', 'k', 'v');
      await s.call('GET', 'k');
    },
  },
  {
    name: 'CLIENT SETNAME / GETNAME / ID / LIST',
    async run(s) {
      await s.call('CLIENT', 'GETNAME');
      await s.call('CLIENT', 'SETNAME', 'first');
      await s.call('CLIENT', 'GETNAME');
      await s.call('CLIENT', 'SETNAME', 'has space');
      await s.call('CLIENT', 'SETNAME', 'new\nline');
      const other = await s.conn('c2');
      await other.call('CLIENT', 'SETNAME', 'second');
      // Ids are counters private to each server: only their type, and that they differ per connection.
      const id1 = await s.callAs(within(1, 1e12), 'CLIENT', 'ID');
      const id2 = await other.callAs(within(1, 1e12), 'CLIENT', 'ID');
      s.record('ids differ', id1 !== id2);
      // Listing order, fds, ages and buffers are server internals: named lines' name/db and the
      // id/addr formats are compared; connections of the harness itself have no name.
      const listing = await s.callAs((r) => (clientList(r) as Array<{ name?: string }>).filter((l) => l.name), 'CLIENT', 'LIST');
      s.record('CLIENT LIST holds my CLIENT ID', typeof listing === 'string' && listing.includes(`id=${String(id1)} `));
      await s.call('CLIENT', 'SETNAME', '');
      await s.call('CLIENT', 'GETNAME');
      await s.call('CLIENT', 'NOSUCHSUB');
      await s.call('CLIENT');
    },
  },
  {
    name: 'QUIT replies OK and the server stays up for others',
    async run(s) {
      const other = await s.conn('c2');
      await other.call('QUIT');
      await s.call('PING');
      await s.call('SET', 'after-quit', '1');
      await s.call('GET', 'after-quit');
    },
  },
  {
    name: 'HELLO 2 (plain, SETNAME) and unsupported versions',
    async run(s) {
      // version and id are per server; the keys, their order and the other values must match.
      const hello = flatMap({ version: shape, id: within(1, 1e12) });
      await s.callAs(hello, 'HELLO');
      await s.callAs(hello, 'HELLO', '2');
      await s.callAs(hello, 'HELLO', '2', 'SETNAME', 'via-hello');
      await s.call('CLIENT', 'GETNAME');
      await s.call('HELLO', '4');
      await s.call('HELLO', '1');
      await s.call('HELLO', 'abc');
      await s.call('PING');
    },
  },
  {
    name: 'AUTH when no password is configured',
    async run(s) {
      await s.call('AUTH', 'anything');
      await s.call('AUTH', 'default', 'anything');
      await s.call('AUTH', 'someone', 'anything');
      await s.call('PING');
    },
  },
  {
    name: 'DBSIZE, FLUSHDB, FLUSHALL',
    async run(s) {
      await s.call('DBSIZE');
      await s.call('MSET', 'a', '1', 'b', '2', 'c', '3');
      await s.call('LPUSH', 'l', 'x');
      await s.call('DBSIZE');
      await s.call('FLUSHDB');
      await s.call('DBSIZE');
      await s.call('SET', 'a', '1');
      await s.call('FLUSHALL');
      await s.call('DBSIZE');
      await s.call('GET', 'a');
      await s.call('DBSIZE', 'extra');
    },
  },
  {
    name: 'TIME is [seconds, microseconds] of the current clock',
    async run(s) {
      // The clock moves: compare the shape and that it is within 5 s of this machine's clock.
      await s.callAs((r) => {
        if (!Array.isArray(r) || r.length !== 2) return { bad: r };
        const [sec, usec] = r.map(Number);
        return { shape: shape(r), near: Math.abs(sec * 1000 + usec / 1000 - Date.now()) < 5000, usec: usec >= 0 && usec < 1e6 };
      }, 'TIME');
      await s.call('TIME', 'x');
    },
  },
  {
    name: 'INFO sections and fields clients read',
    async run(s) {
      await s.call('SET', 'k', 'v');
      await s.call('SET', 'e', 'v', 'EX', '100');
      // The values are per server (memory, uptime); the sections/fields that clients parse must exist.
      const all = infoHas(['Server', 'Clients', 'Memory', 'Stats', 'Keyspace'], ['redis_version', 'redis_mode', 'tcp_port', 'connected_clients', 'used_memory', 'total_commands_processed', 'db0']);
      await s.callAs(all, 'INFO');
      await s.callAs(infoHas(['Server', 'Clients', 'Keyspace'], ['redis_version', 'connected_clients']), 'INFO', 'server');
      // The keyspace line is exact except avg_ttl (depends on when it is sampled).
      await s.callAs((r: Reply) => (typeof r === 'string' ? /db0:keys=\d+,expires=\d+/.exec(r)?.[0] : r), 'INFO', 'keyspace');
      await s.callAs(shape, 'INFO', 'nosuchsection');
    },
  },
  {
    name: 'COMMAND and COMMAND INFO key positions, CONFIG GET',
    async run(s) {
      // The command table differs in size (the bus implements a subset): compare, for the commands
      // the bus has, what clients use: name, arity, first key, last key, key step.
      const keySpec = (r: Reply) => (Array.isArray(r) ? r.map((e) => (Array.isArray(e) ? [e[0], e[1], e[3], e[4], e[5]] : e)) : r);
      await s.callAs(keySpec, 'COMMAND', 'INFO', 'get', 'set', 'mget', 'del', 'lpush', 'blpop', 'hset', 'publish', 'xadd', 'nosuchcmd');
      await s.callAs((r: Reply) => typeof r === 'number' && r > 50, 'COMMAND', 'COUNT');
      await s.callAs(
        (r: Reply) => Array.isArray(r) && ['get', 'set', 'blpop', 'xreadgroup'].every((n) => r.some((e) => Array.isArray(e) && e[0] === n)),
        'COMMAND',
      );
      await s.call('CONFIG', 'GET', 'appendonly');
      await s.call('CONFIG', 'GET', 'save');
      await s.call('CONFIG', 'GET', 'no-such-parameter');
      await s.call('CONFIG', 'GET');
    },
  },
];

conformanceSuite(cases);
