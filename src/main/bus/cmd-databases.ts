/**
 * The numbered databases (SELECT MOVE SWAPDB DBSIZE FLUSHDB FLUSHALL), with redis-server's texts.
 * Pub/sub is server-wide; keys, WATCH and blocked clients are per database.
 */
import type { Client } from './client.js';
import { F_WRITE, type CommandSpec } from './command-table.js';
import { NOT_INTEGER, RedisError, SYNTAX } from './errors.js';
import type { Keyspace } from './keyspace.js';
import { argStr, intReply, optUpper, parseIntArg, R_OK } from './reply.js';
import type { Arg } from './resp-parser.js';

const OUT_OF_RANGE = 'ERR DB index is out of range';

/** The database numbered by arg; `notInteger` is the error for a non-number. */
function dbArg(c: Client, arg: Arg, notInteger = NOT_INTEGER): Keyspace {
  const n = parseIntArg(arg);
  if (n === null) throw new RedisError(notInteger);
  const db = c.core.dbs[n];
  if (db === undefined) throw new RedisError(OUT_OF_RANGE);
  return db;
}

function move(c: Client, argv: Arg[]): void {
  const src = c.db;
  const dst = dbArg(c, argv[2]);
  if (dst === src) throw new RedisError('ERR source and destination objects are the same');
  const key = argStr(argv[1]);
  const v = src.get(key);
  if (v === undefined || dst.has(key)) return c.send(intReply(0));
  const at = src.expireAt(key);
  src.delete(key);
  dst.set(key, v);
  if (at !== undefined) dst.setExpire(key, at);
  c.core.blocking.signal(dst, key);
  c.send(intReply(1));
}

function swapdb(c: Client, argv: Arg[]): void {
  const a = dbArg(c, argv[1], 'ERR invalid first DB index');
  const b = dbArg(c, argv[2], 'ERR invalid second DB index');
  if (a !== b) {
    a.swapWith(b);
    // Clients blocked on keys that exist now (a list that came with the swap) are served.
    c.core.blocking.signalAll(a);
    c.core.blocking.signalAll(b);
  }
  c.send(R_OK);
}

function flushArgs(argv: Arg[]): void {
  if (argv.length > 2 || (argv.length === 2 && !['ASYNC', 'SYNC'].includes(optUpper(argv[1])))) {
    throw new RedisError(SYNTAX);
  }
}

export const databaseCommands: CommandSpec[] = [
  {
    name: 'select',
    arity: 2,
    flags: 0,
    run: (c, argv) => {
      c.db = dbArg(c, argv[1]);
      c.send(R_OK);
    },
  },
  { name: 'move', arity: 3, flags: F_WRITE, keys: [1, 1, 1], run: move },
  { name: 'swapdb', arity: 3, flags: F_WRITE, run: swapdb },
  { name: 'dbsize', arity: 1, flags: 0, run: (c) => c.send(intReply(c.db.size)) },
  {
    name: 'flushdb',
    arity: -1,
    flags: F_WRITE,
    run: (c, argv) => {
      flushArgs(argv);
      c.db.clear();
      c.send(R_OK);
    },
  },
  {
    name: 'flushall',
    arity: -1,
    flags: F_WRITE,
    run: (c, argv) => {
      flushArgs(argv);
      for (const db of c.core.dbs) db.clear();
      c.send(R_OK);
    },
  },
];
