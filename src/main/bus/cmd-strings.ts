/** String commands: GET SET (all options) MGET MSET MSETNX INCR* DECR* APPEND STRLEN GETDEL GETSET SETNX SETEX PSETEX. */
import type { Client } from './client.js';
import { F_READONLY, F_WRITE, type CommandSpec } from './command-table.js';
import { NOT_INTEGER, RedisError, SYNTAX } from './errors.js';
import type { Bulk } from './keyspace.js';
import { argStr, intReply, optUpper, parseFloatArg, parseIntArg, R_OK, R_ONE, R_ZERO } from './reply.js';
import { BIG_BULK, type Arg } from './resp-parser.js';

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** Stores small values as latin1 strings and big ones as Buffers (see FIELD-NOTES). */
export function normalizeValue(v: Arg): Bulk {
  if (typeof v === 'string') return v;
  return v.length < BIG_BULK ? v.latin1Slice(0, v.length) : v;
}

function getCmd(c: Client, argv: Arg[]): void {
  const v = c.db.getString(argStr(argv[1]));
  if (v === undefined) c.send(c.nil);
  else c.sendBulk(v);
}

/** Absolute expiry from an EX/PX/EXAT/PXAT argument; throws Redis's texts. */
function expiryFromArg(unit: string, a: Arg, cmd: string): number {
  const n = parseIntArg(a);
  if (n === null) throw new RedisError(NOT_INTEGER);
  const invalid = new RedisError(`ERR invalid expire time in '${cmd}' command`);
  if (n <= 0) throw invalid;
  let at: number;
  if (unit === 'EX') at = Date.now() + n * 1000;
  else if (unit === 'PX') at = Date.now() + n;
  else if (unit === 'EXAT') at = n * 1000;
  else at = n;
  if (!Number.isSafeInteger(at)) throw invalid;
  return at;
}

function setCmd(c: Client, argv: Arg[]): void {
  const db = c.db;
  const key = argStr(argv[1]);
  let nx = false;
  let xx = false;
  let get = false;
  let keepTtl = false;
  let expUnit = '';
  let expArg: Arg | null = null;
  for (let i = 3; i < argv.length; i++) {
    const o = optUpper(argv[i]);
    if (o === 'NX' && !xx) nx = true;
    else if (o === 'XX' && !nx) xx = true;
    else if (o === 'GET') get = true;
    else if (o === 'KEEPTTL' && expUnit === '') keepTtl = true;
    else if ((o === 'EX' || o === 'PX' || o === 'EXAT' || o === 'PXAT') && expUnit === '' && !keepTtl && i + 1 < argv.length) {
      expUnit = o;
      expArg = argv[++i];
    } else throw new RedisError(SYNTAX);
  }
  const at = expArg !== null ? expiryFromArg(expUnit, expArg, 'set') : 0;
  let old: Bulk | undefined;
  if (get) old = db.getString(key);
  const exists = nx || xx ? db.has(key) : false;
  if ((nx && exists) || (xx && !exists)) {
    if (get) c.sendBulk(old);
    else c.send(c.nil);
    return;
  }
  db.set(key, normalizeValue(argv[2]), keepTtl);
  if (at !== 0) db.setExpire(key, at);
  if (get) c.sendBulk(old);
  else c.send(R_OK);
}

function setWithTtl(c: Client, argv: Arg[], unit: 'EX' | 'PX', name: string): void {
  const key = argStr(argv[1]);
  const at = expiryFromArg(unit, argv[2], name);
  c.db.set(key, normalizeValue(argv[3]));
  c.db.setExpire(key, at);
  c.send(R_OK);
}

/** Reads a string value as an integer (Redis's rules), as Number or BigInt when beyond 2^53. */
function readInt(v: Bulk | undefined): number | bigint {
  if (v === undefined) return 0;
  if (typeof v !== 'string' && v.length > 20) throw new RedisError(NOT_INTEGER);
  return incrArg(v);
}

function incrBy(c: Client, keyArg: Arg, by: number | bigint): void {
  const db = c.db;
  const key = argStr(keyArg);
  const cur = readInt(db.getString(key));
  let next: number | bigint;
  if (typeof cur === 'number' && typeof by === 'number' && Number.isSafeInteger(cur + by)) next = cur + by;
  else {
    const r = BigInt(cur) + BigInt(by);
    if (r > INT64_MAX || r < INT64_MIN) throw new RedisError('ERR increment or decrement would overflow');
    next = r;
  }
  db.set(key, String(next), true);
  c.send(typeof next === 'number' ? intReply(next) : `:${next}\r\n`);
}

/** Parses an int64 argument (Redis's string2ll rules), as Number or BigInt when beyond 2^53. */
function incrArg(a: Arg): number | bigint {
  const s = argStr(a);
  if (!/^-?(0|[1-9][0-9]*)$/.test(s)) throw new RedisError(NOT_INTEGER);
  const n = Number(s);
  if (Number.isSafeInteger(n)) return n;
  const b = BigInt(s);
  if (b > INT64_MAX || b < INT64_MIN) throw new RedisError(NOT_INTEGER);
  return b;
}

function negate(n: number | bigint): number | bigint {
  if (typeof n === 'number') return -n;
  if (n === INT64_MIN) throw new RedisError('ERR decrement would overflow');
  return -n;
}

function incrByFloat(c: Client, argv: Arg[]): void {
  const db = c.db;
  const key = argStr(argv[1]);
  const v = db.getString(key);
  const cur = v === undefined ? 0 : parseFloatArg(v);
  if (cur === null) throw new RedisError('ERR value is not a valid float');
  const by = parseFloatArg(argv[2]);
  if (by === null) throw new RedisError('ERR value is not a valid float');
  const r = cur + by;
  if (!Number.isFinite(r)) throw new RedisError('ERR increment would produce NaN or Infinity');
  // Redis prints with %.17Lg and trims; JS's shortest round-trip form matches for common values.
  const s = String(Number(r.toPrecision(17)));
  db.set(key, s, true);
  c.sendBulk(s);
}

function appendCmd(c: Client, argv: Arg[]): void {
  const db = c.db;
  const key = argStr(argv[1]);
  const cur = db.getString(key);
  const add = argv[2];
  let next: Bulk;
  if (cur === undefined) next = normalizeValue(add);
  else if (typeof cur === 'string' && typeof add === 'string' && cur.length + add.length < BIG_BULK) next = cur + add;
  else next = Buffer.concat([toBuf(cur), toBuf(add)]);
  db.set(key, next, true);
  c.send(intReply(next.length));
}

const toBuf = (v: Arg): Buffer => (typeof v === 'string' ? Buffer.from(v, 'latin1') : v);

function msetCmd(c: Client, argv: Arg[], nx: boolean): void {
  if (argv.length % 2 === 0) throw new RedisError(`ERR wrong number of arguments for '${nx ? 'msetnx' : 'mset'}' command`);
  const db = c.db;
  if (nx) {
    for (let i = 1; i < argv.length; i += 2) {
      if (db.has(argStr(argv[i]))) {
        c.send(R_ZERO);
        return;
      }
    }
  }
  for (let i = 1; i < argv.length; i += 2) db.set(argStr(argv[i]), normalizeValue(argv[i + 1]));
  c.send(nx ? R_ONE : R_OK);
}

export const stringCommands: CommandSpec[] = [
  { name: 'get', arity: 2, flags: F_READONLY, keys: [1, 1, 1], run: getCmd },
  { name: 'set', arity: -3, flags: F_WRITE, keys: [1, 1, 1], run: setCmd },
  {
    name: 'setnx',
    arity: 3,
    flags: F_WRITE,
    keys: [1, 1, 1],
    run: (c, argv) => {
      const key = argStr(argv[1]);
      if (c.db.has(key)) return c.send(R_ZERO);
      c.db.set(key, normalizeValue(argv[2]));
      c.send(R_ONE);
    },
  },
  { name: 'setex', arity: 4, flags: F_WRITE, keys: [1, 1, 1], run: (c, a) => setWithTtl(c, a, 'EX', 'setex') },
  { name: 'psetex', arity: 4, flags: F_WRITE, keys: [1, 1, 1], run: (c, a) => setWithTtl(c, a, 'PX', 'psetex') },
  {
    name: 'getset',
    arity: 3,
    flags: F_WRITE,
    keys: [1, 1, 1],
    run: (c, argv) => {
      const key = argStr(argv[1]);
      const old = c.db.getString(key);
      c.db.set(key, normalizeValue(argv[2]));
      c.sendBulk(old);
    },
  },
  {
    name: 'getdel',
    arity: 2,
    flags: F_WRITE,
    keys: [1, 1, 1],
    run: (c, argv) => {
      const key = argStr(argv[1]);
      const v = c.db.getString(key);
      if (v !== undefined) c.db.delete(key);
      c.sendBulk(v);
    },
  },
  {
    name: 'mget',
    arity: -2,
    flags: F_READONLY,
    keys: [1, -1, 1],
    run: (c, argv) => {
      c.send(`*${argv.length - 1}\r\n`);
      for (let i = 1; i < argv.length; i++) {
        const v = c.db.get(argStr(argv[i]));
        c.sendBulk(typeof v === 'string' || Buffer.isBuffer(v) ? v : undefined);
      }
    },
  },
  { name: 'mset', arity: -3, flags: F_WRITE, keys: [1, -1, 2], run: (c, a) => msetCmd(c, a, false) },
  { name: 'msetnx', arity: -3, flags: F_WRITE, keys: [1, -1, 2], run: (c, a) => msetCmd(c, a, true) },
  { name: 'incr', arity: 2, flags: F_WRITE, keys: [1, 1, 1], run: (c, a) => incrBy(c, a[1], 1) },
  { name: 'decr', arity: 2, flags: F_WRITE, keys: [1, 1, 1], run: (c, a) => incrBy(c, a[1], -1) },
  { name: 'incrby', arity: 3, flags: F_WRITE, keys: [1, 1, 1], run: (c, a) => incrBy(c, a[1], incrArg(a[2])) },
  { name: 'decrby', arity: 3, flags: F_WRITE, keys: [1, 1, 1], run: (c, a) => incrBy(c, a[1], negate(incrArg(a[2]))) },
  { name: 'incrbyfloat', arity: 3, flags: F_WRITE, keys: [1, 1, 1], run: incrByFloat },
  { name: 'append', arity: 3, flags: F_WRITE, keys: [1, 1, 1], run: appendCmd },
  {
    name: 'strlen',
    arity: 2,
    flags: F_READONLY,
    keys: [1, 1, 1],
    run: (c, argv) => {
      const v = c.db.getString(argStr(argv[1]));
      c.send(intReply(v === undefined ? 0 : v.length));
    },
  },
];
