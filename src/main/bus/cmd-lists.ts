/**
 * List commands on a Deque (O(1) at both ends), including the blocking ones. Blocking commands
 * inside MULTI (or EXEC) behave as their non-blocking form, like Redis. Every push signals the
 * key so waiters are served after the current command.
 */
import type { Client } from './client.js';
import { F_BLOCKING, F_READONLY, F_WRITE, type CommandSpec } from './command-table.js';
import { Deque } from './deque.js';
import { NOT_INTEGER, RedisError, SYNTAX, wrongArgs } from './errors.js';
import type { Bulk, ListValue } from './keyspace.js';
import { normalizeValue } from './cmd-strings.js';
import { argStr, intReply, optUpper, parseFloatArg, parseIntArg, R_EMPTY_ARR, R_OK } from './reply.js';
import type { Arg } from './resp-parser.js';

function intArg(a: Arg): number {
  const n = parseIntArg(a);
  if (n === null) throw new RedisError(NOT_INTEGER);
  return n;
}

/** Blocking timeout in ms (0 = forever) with Redis's error texts. */
export function timeoutArg(a: Arg): number {
  const f = parseFloatArg(a);
  if (f === null) throw new RedisError('ERR timeout is not a float or out of range');
  const ms = f * 1000;
  if (ms < 0 || !Number.isFinite(ms) || ms >= 2 ** 63) throw new RedisError('ERR timeout is negative');
  // Sub-millisecond timeouts round up so "0.0001" still times out instead of blocking forever.
  return ms > 0 ? Math.max(1, Math.ceil(ms)) : 0;
}

function push(c: Client, argv: Arg[], left: boolean, onlyIfExists: boolean): void {
  const db = c.db;
  const key = argStr(argv[1]);
  let list = db.getList(key);
  if (list === undefined) {
    if (onlyIfExists) return c.send(intReply(0));
    list = new Deque<Bulk>();
    db.create(key, list);
  }
  if (left) for (let i = 2; i < argv.length; i++) list.pushFront(normalizeValue(argv[i]));
  else for (let i = 2; i < argv.length; i++) list.pushBack(normalizeValue(argv[i]));
  db.touch(key);
  c.core.blocking.signal(c.db, key);
  c.send(intReply(list.length));
}

function popOne(c: Client, key: string, list: ListValue, left: boolean): Bulk {
  const v = (left ? list.popFront() : list.popBack()) as Bulk;
  c.db.deleteIfEmpty(key, list.length);
  c.db.touch(key);
  return v;
}

function pop(c: Client, argv: Arg[], left: boolean): void {
  if (argv.length > 3) throw new RedisError(wrongArgs(left ? 'lpop' : 'rpop'));
  const key = argStr(argv[1]);
  let count = -1;
  if (argv.length === 3) {
    const n = parseIntArg(argv[2]);
    if (n === null || n < 0) throw new RedisError('ERR value is out of range, must be positive');
    count = n;
  }
  const list = c.db.getList(key);
  if (list === undefined) return c.send(count === -1 ? c.nil : c.nilArr);
  if (count === -1) return c.sendBulk(popOne(c, key, list, left));
  const n = Math.min(count, list.length);
  if (n === 0) return c.send(R_EMPTY_ARR);
  c.send(`*${n}\r\n`);
  for (let i = 0; i < n; i++) c.sendBulk(popOne(c, key, list, left));
}

/** Normalizes Redis start/end indexes against len; returns null for an empty range. */
function clampRange(start: number, end: number, len: number): [number, number] | null {
  if (start < 0) start = Math.max(0, len + start);
  if (end < 0) end = len + end;
  if (end >= len) end = len - 1;
  if (start > end || start >= len) return null;
  return [start, end];
}

function whereArg(a: Arg): boolean {
  const o = optUpper(a);
  if (o === 'LEFT') return true;
  if (o === 'RIGHT') return false;
  throw new RedisError(SYNTAX);
}

/** LMOVE core: pops from src, pushes to dst; undefined when src is empty. Type-checks dst first. */
function move(c: Client, src: string, dst: string, fromLeft: boolean, toLeft: boolean): Bulk | undefined {
  const db = c.db;
  const from = db.getList(src);
  if (from === undefined) return undefined;
  db.getList(dst); // WRONGTYPE on dst before anything is popped
  const v = popOne(c, src, from, fromLeft);
  // Re-read: when src === dst and the pop emptied it, the old deque was removed from the db.
  let to = db.data.get(dst) as ListValue | undefined;
  if (to === undefined) {
    to = new Deque<Bulk>();
    db.create(dst, to);
  }
  if (toLeft) to.pushFront(v);
  else to.pushBack(v);
  db.touch(dst);
  c.core.blocking.signal(c.db, dst);
  return v;
}

/** BLPOP / BRPOP. */
function bpop(c: Client, argv: Arg[], left: boolean): void {
  const timeout = timeoutArg(argv[argv.length - 1]);
  const keys: string[] = [];
  for (let i = 1; i < argv.length - 1; i++) keys.push(argStr(argv[i]));
  const db = c.db;
  const serve = (key: string): boolean => {
    const v = db.get(key);
    if (!(v instanceof Deque) || v.length === 0) return false;
    const item = popOne(c, key, v, left);
    c.send(`*2\r\n$${key.length}\r\n${key}\r\n`);
    c.sendBulk(item);
    return true;
  };
  for (const k of keys) {
    db.getList(k); // WRONGTYPE check, like Redis, before blocking
    if (serve(k)) return;
  }
  if (c.multi !== null || c.inExec) return c.send(c.nilArr);
  c.core.blocking.block(c, keys, timeout, serve, c.nilArr);
}

/** BLMOVE / BRPOPLPUSH. */
function bmove(c: Client, src: string, dst: string, fromLeft: boolean, toLeft: boolean, timeout: number): void {
  const v = move(c, src, dst, fromLeft, toLeft);
  if (v !== undefined) return c.sendBulk(v);
  if (c.inExec) return c.send(c.nil);
  c.core.blocking.block(
    c,
    [src],
    timeout,
    () => {
      const db = c.db;
      const from = db.get(src);
      if (!(from instanceof Deque) || from.length === 0) return false;
      const r = move(c, src, dst, fromLeft, toLeft); // may throw WRONGTYPE for dst: sent as error
      c.sendBulk(r);
      return true;
    },
    c.nilArr,
  );
}

export const listCommands: CommandSpec[] = [
  { name: 'lpush', arity: -3, flags: F_WRITE, keys: [1, 1, 1], run: (c, a) => push(c, a, true, false) },
  { name: 'rpush', arity: -3, flags: F_WRITE, keys: [1, 1, 1], run: (c, a) => push(c, a, false, false) },
  { name: 'lpushx', arity: -3, flags: F_WRITE, keys: [1, 1, 1], run: (c, a) => push(c, a, true, true) },
  { name: 'rpushx', arity: -3, flags: F_WRITE, keys: [1, 1, 1], run: (c, a) => push(c, a, false, true) },
  { name: 'lpop', arity: -2, flags: F_WRITE, keys: [1, 1, 1], run: (c, a) => pop(c, a, true) },
  { name: 'rpop', arity: -2, flags: F_WRITE, keys: [1, 1, 1], run: (c, a) => pop(c, a, false) },
  {
    name: 'llen',
    arity: 2,
    flags: F_READONLY,
    keys: [1, 1, 1],
    run: (c, argv) => c.send(intReply(c.db.getList(argStr(argv[1]))?.length ?? 0)),
  },
  {
    name: 'lrange',
    arity: 4,
    flags: F_READONLY,
    keys: [1, 1, 1],
    run: (c, argv) => {
      const start = intArg(argv[2]);
      const end = intArg(argv[3]);
      const list = c.db.getList(argStr(argv[1]));
      const r = list && clampRange(start, end, list.length);
      if (!list || !r) return c.send(R_EMPTY_ARR);
      c.send(`*${r[1] - r[0] + 1}\r\n`);
      for (let i = r[0]; i <= r[1]; i++) c.sendBulk(list.at(i) as Bulk);
    },
  },
  {
    name: 'lindex',
    arity: 3,
    flags: F_READONLY,
    keys: [1, 1, 1],
    run: (c, argv) => {
      const idx = intArg(argv[2]);
      const list = c.db.getList(argStr(argv[1]));
      if (!list) return c.send(c.nil);
      c.sendBulk(list.at(idx < 0 ? list.length + idx : idx));
    },
  },
  {
    name: 'lset',
    arity: 4,
    flags: F_WRITE,
    keys: [1, 1, 1],
    run: (c, argv) => {
      const key = argStr(argv[1]);
      const idx = intArg(argv[2]);
      const list = c.db.getList(key);
      if (!list) throw new RedisError('ERR no such key');
      const i = idx < 0 ? list.length + idx : idx;
      if (i < 0 || i >= list.length) throw new RedisError('ERR index out of range');
      list.set(i, normalizeValue(argv[3]));
      c.db.touch(key);
      c.send(R_OK);
    },
  },
  {
    name: 'lrem',
    arity: 4,
    flags: F_WRITE,
    keys: [1, 1, 1],
    run: (c, argv) => {
      const key = argStr(argv[1]);
      const count = intArg(argv[2]);
      const list = c.db.getList(key);
      if (!list) return c.send(intReply(0));
      const target = argStr(argv[3]);
      const eq = (v: Bulk) => (typeof v === 'string' ? v === target : v.length === target.length && argStr(v) === target);
      const len = list.length;
      let removed = 0;
      if (count >= 0) {
        list.filter((v) => (count !== 0 && removed >= count) || !eq(v) || (removed++, false));
      } else {
        // Negative count removes from the tail: mark indexes walking backwards.
        const drop = new Set<number>();
        for (let i = len - 1; i >= 0 && drop.size < -count; i--) if (eq(list.at(i) as Bulk)) drop.add(i);
        removed = drop.size;
        list.filter((_v, i) => !drop.has(i));
      }
      c.db.deleteIfEmpty(key, list.length);
      if (removed) c.db.touch(key);
      c.send(intReply(removed));
    },
  },
  {
    name: 'ltrim',
    arity: 4,
    flags: F_WRITE,
    keys: [1, 1, 1],
    run: (c, argv) => {
      const key = argStr(argv[1]);
      const start = intArg(argv[2]);
      const end = intArg(argv[3]);
      const list = c.db.getList(key);
      if (!list) return c.send(R_OK);
      const r = clampRange(start, end, list.length);
      if (!r) list.clear();
      else {
        const tail = list.length - 1 - r[1];
        for (let i = 0; i < r[0]; i++) list.popFront();
        for (let i = 0; i < tail; i++) list.popBack();
      }
      c.db.deleteIfEmpty(key, list.length);
      c.db.touch(key);
      c.send(R_OK);
    },
  },
  {
    name: 'lmove',
    arity: 5,
    flags: F_WRITE,
    keys: [1, 2, 1],
    run: (c, argv) => {
      const fromLeft = whereArg(argv[3]);
      const toLeft = whereArg(argv[4]);
      c.sendBulk(move(c, argStr(argv[1]), argStr(argv[2]), fromLeft, toLeft));
    },
  },
  {
    name: 'rpoplpush',
    arity: 3,
    flags: F_WRITE,
    keys: [1, 2, 1],
    run: (c, argv) => c.sendBulk(move(c, argStr(argv[1]), argStr(argv[2]), false, true)),
  },
  {
    name: 'blmove',
    arity: 6,
    flags: F_WRITE | F_BLOCKING,
    keys: [1, 2, 1],
    run: (c, argv) => {
      const fromLeft = whereArg(argv[3]);
      const toLeft = whereArg(argv[4]);
      bmove(c, argStr(argv[1]), argStr(argv[2]), fromLeft, toLeft, timeoutArg(argv[5]));
    },
  },
  {
    name: 'brpoplpush',
    arity: 4,
    flags: F_WRITE | F_BLOCKING,
    keys: [1, 2, 1],
    run: (c, argv) => bmove(c, argStr(argv[1]), argStr(argv[2]), false, true, timeoutArg(argv[3])),
  },
  { name: 'blpop', arity: -3, flags: F_WRITE | F_BLOCKING, keys: [1, -2, 1], run: (c, a) => bpop(c, a, true) },
  { name: 'brpop', arity: -3, flags: F_WRITE | F_BLOCKING, keys: [1, -2, 1], run: (c, a) => bpop(c, a, false) },
];
