/** Hash (Map<string, Bulk>) and set (Set<string>) commands. Field names and members are latin1 strings. */
import type { Client } from './client.js';
import { F_READONLY, F_WRITE, type CommandSpec } from './command-table.js';
import { NOT_INTEGER, RedisError, wrongArgs } from './errors.js';
import type { Bulk, HashValue, SetValue } from './keyspace.js';
import { normalizeValue } from './cmd-strings.js';
import { argStr, intReply, mapHeader, parseFloatArg, parseIntArg, R_OK, R_ONE, R_ZERO, setHeader } from './reply.js';
import type { Arg } from './resp-parser.js';

function hashFor(c: Client, key: string): HashValue {
  let h = c.db.getHash(key);
  if (h === undefined) {
    h = new Map();
    c.db.create(key, h);
  }
  return h;
}

function hset(c: Client, argv: Arg[], name: string): void {
  if (argv.length % 2 !== 0) throw new RedisError(wrongArgs(name));
  const key = argStr(argv[1]);
  const h = hashFor(c, key);
  let added = 0;
  for (let i = 2; i < argv.length; i += 2) {
    const f = argStr(argv[i]);
    if (!h.has(f)) added++;
    h.set(f, normalizeValue(argv[i + 1]));
  }
  c.db.touch(key);
  c.send(name === 'hmset' ? R_OK : intReply(added));
}

function hincrby(c: Client, argv: Arg[]): void {
  const key = argStr(argv[1]);
  const by = parseIntArg(argv[3]);
  if (by === null) throw new RedisError(NOT_INTEGER);
  const h = c.db.getHash(key);
  const f = argStr(argv[2]);
  const cur = h?.get(f);
  let n = 0;
  if (cur !== undefined) {
    const p = parseIntArg(cur);
    if (p === null) throw new RedisError('ERR hash value is not an integer');
    n = p;
  }
  const r = n + by;
  if (!Number.isSafeInteger(r)) throw new RedisError('ERR increment or decrement would overflow');
  hashFor(c, key).set(f, String(r));
  c.db.touch(key);
  c.send(intReply(r));
}

function hincrbyfloat(c: Client, argv: Arg[]): void {
  const key = argStr(argv[1]);
  const by = parseFloatArg(argv[3]);
  if (by === null) throw new RedisError('ERR value is not a valid float');
  const f = argStr(argv[2]);
  const cur = c.db.getHash(key)?.get(f);
  const n = cur === undefined ? 0 : parseFloatArg(cur);
  if (n === null) throw new RedisError('ERR hash value is not a float');
  const r = n + by;
  if (!Number.isFinite(r)) throw new RedisError('ERR increment would produce NaN or Infinity');
  const s = String(Number(r.toPrecision(17)));
  hashFor(c, key).set(f, s);
  c.db.touch(key);
  c.sendBulk(s);
}

function sendHashPairs(c: Client, h: HashValue | undefined, keys: boolean, vals: boolean): void {
  const n = h === undefined ? 0 : h.size;
  // HGETALL is a map in RESP3 (`%`); HKEYS/HVALS stay arrays.
  c.send(keys && vals ? mapHeader(c, n) : `*${n}\r\n`);
  if (h === undefined) return;
  for (const [f, v] of h) {
    if (keys) c.send(`$${f.length}\r\n${f}\r\n`);
    if (vals) c.sendBulk(v);
  }
}

function setFor(c: Client, key: string): SetValue {
  let s = c.db.getSet(key);
  if (s === undefined) {
    s = new Set();
    c.db.create(key, s);
  }
  return s;
}

const hget = (c: Client, argv: Arg[]): Bulk | undefined => c.db.getHash(argStr(argv[1]))?.get(argStr(argv[2]));

export const hashSetCommands: CommandSpec[] = [
  { name: 'hset', arity: -4, flags: F_WRITE, keys: [1, 1, 1], run: (c, a) => hset(c, a, 'hset') },
  { name: 'hmset', arity: -4, flags: F_WRITE, keys: [1, 1, 1], run: (c, a) => hset(c, a, 'hmset') },
  {
    name: 'hsetnx',
    arity: 4,
    flags: F_WRITE,
    keys: [1, 1, 1],
    run: (c, argv) => {
      const key = argStr(argv[1]);
      const f = argStr(argv[2]);
      if (c.db.getHash(key)?.has(f)) return c.send(R_ZERO);
      hashFor(c, key).set(f, normalizeValue(argv[3]));
      c.db.touch(key);
      c.send(R_ONE);
    },
  },
  { name: 'hget', arity: 3, flags: F_READONLY, keys: [1, 1, 1], run: (c, a) => c.sendBulk(hget(c, a)) },
  {
    name: 'hmget',
    arity: -3,
    flags: F_READONLY,
    keys: [1, 1, 1],
    run: (c, argv) => {
      const h = c.db.getHash(argStr(argv[1]));
      c.send(`*${argv.length - 2}\r\n`);
      for (let i = 2; i < argv.length; i++) c.sendBulk(h?.get(argStr(argv[i])));
    },
  },
  {
    name: 'hdel',
    arity: -3,
    flags: F_WRITE,
    keys: [1, 1, 1],
    run: (c, argv) => {
      const key = argStr(argv[1]);
      const h = c.db.getHash(key);
      let n = 0;
      if (h !== undefined) {
        for (let i = 2; i < argv.length; i++) if (h.delete(argStr(argv[i]))) n++;
        c.db.deleteIfEmpty(key, h.size);
        if (n) c.db.touch(key);
      }
      c.send(intReply(n));
    },
  },
  { name: 'hgetall', arity: 2, flags: F_READONLY, keys: [1, 1, 1], run: (c, a) => sendHashPairs(c, c.db.getHash(argStr(a[1])), true, true) },
  { name: 'hkeys', arity: 2, flags: F_READONLY, keys: [1, 1, 1], run: (c, a) => sendHashPairs(c, c.db.getHash(argStr(a[1])), true, false) },
  { name: 'hvals', arity: 2, flags: F_READONLY, keys: [1, 1, 1], run: (c, a) => sendHashPairs(c, c.db.getHash(argStr(a[1])), false, true) },
  {
    name: 'hexists',
    arity: 3,
    flags: F_READONLY,
    keys: [1, 1, 1],
    run: (c, a) => c.send(hget(c, a) === undefined ? R_ZERO : R_ONE),
  },
  { name: 'hlen', arity: 2, flags: F_READONLY, keys: [1, 1, 1], run: (c, a) => c.send(intReply(c.db.getHash(argStr(a[1]))?.size ?? 0)) },
  {
    name: 'hstrlen',
    arity: 3,
    flags: F_READONLY,
    keys: [1, 1, 1],
    run: (c, a) => c.send(intReply(hget(c, a)?.length ?? 0)),
  },
  { name: 'hincrby', arity: 4, flags: F_WRITE, keys: [1, 1, 1], run: hincrby },
  { name: 'hincrbyfloat', arity: 4, flags: F_WRITE, keys: [1, 1, 1], run: hincrbyfloat },
  // ---- sets ----
  {
    name: 'sadd',
    arity: -3,
    flags: F_WRITE,
    keys: [1, 1, 1],
    run: (c, argv) => {
      const key = argStr(argv[1]);
      const s = setFor(c, key);
      const before = s.size;
      for (let i = 2; i < argv.length; i++) s.add(argStr(argv[i]));
      c.db.touch(key);
      c.send(intReply(s.size - before));
    },
  },
  {
    name: 'srem',
    arity: -3,
    flags: F_WRITE,
    keys: [1, 1, 1],
    run: (c, argv) => {
      const key = argStr(argv[1]);
      const s = c.db.getSet(key);
      let n = 0;
      if (s !== undefined) {
        for (let i = 2; i < argv.length; i++) if (s.delete(argStr(argv[i]))) n++;
        c.db.deleteIfEmpty(key, s.size);
        if (n) c.db.touch(key);
      }
      c.send(intReply(n));
    },
  },
  {
    name: 'smembers',
    arity: 2,
    flags: F_READONLY,
    keys: [1, 1, 1],
    run: (c, argv) => {
      // A set (`~`) in RESP3.
      const s = c.db.getSet(argStr(argv[1]));
      c.send(setHeader(c, s === undefined ? 0 : s.size));
      if (s !== undefined) for (const m of s) c.send(`$${m.length}\r\n${m}\r\n`);
    },
  },
  {
    name: 'sismember',
    arity: 3,
    flags: F_READONLY,
    keys: [1, 1, 1],
    run: (c, argv) => c.send(c.db.getSet(argStr(argv[1]))?.has(argStr(argv[2])) ? R_ONE : R_ZERO),
  },
  {
    name: 'smismember',
    arity: -3,
    flags: F_READONLY,
    keys: [1, 1, 1],
    run: (c, argv) => {
      const s = c.db.getSet(argStr(argv[1]));
      c.send(`*${argv.length - 2}\r\n`);
      for (let i = 2; i < argv.length; i++) c.send(s?.has(argStr(argv[i])) ? R_ONE : R_ZERO);
    },
  },
  { name: 'scard', arity: 2, flags: F_READONLY, keys: [1, 1, 1], run: (c, a) => c.send(intReply(c.db.getSet(argStr(a[1]))?.size ?? 0)) },
];

