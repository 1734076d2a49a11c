/**
 * Stream command glue (XADD XLEN XRANGE XREVRANGE XDEL XTRIM XREAD XGROUP XREADGROUP XACK XPENDING
 * XAUTOCLAIM XINFO GROUPS): argument parsing, replies, WRONGTYPE, and blocking XREAD/XREADGROUP.
 * The data structure and its rules live in stream.ts (RedisStream).
 */
import type { Client } from './client.js';
import { F_BLOCKING, F_READONLY, F_WRITE, type CommandSpec } from './command-table.js';
import { NOT_INTEGER, RedisError, SYNTAX, WRONGTYPE, wrongArgs } from './errors.js';
import { normalizeValue } from './cmd-strings.js';
import { argStr, bulkStr, intReply, optUpper, parseIntArg, mapHeader, R_EMPTY_ARR, R_ZERO } from './reply.js';
import type { Arg } from './resp-parser.js';
import type { StreamCodec } from './snapshot.js';
import { streamFromJSON, streamToJSON } from './stream-snapshot.js';
import {
  compareId, decrId, formatId, incrId, INVALID_ID, LIMIT_WITHOUT_APPROX, MAX_ID, MIN_ID, NoGroupError, noGroup, parseId,
  RedisStream, type Field, type StreamEntry, type StreamId,
} from './stream.js';

export const streamCodec: StreamCodec = {
  is: (v) => v instanceof RedisStream,
  encode: (v) => Buffer.from(JSON.stringify(streamToJSON(v as RedisStream)), 'utf8'),
  decode: (b) => streamFromJSON(JSON.parse(b.toString('utf8'))),
};

function getStream(c: Client, key: string): RedisStream | undefined {
  const v = c.db.get(key);
  if (v === undefined || v instanceof RedisStream) return v;
  throw new RedisError(WRONGTYPE);
}

/** Runs a group operation, giving NoGroupError the real key name. */
function withKey<T>(key: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof NoGroupError) throw e.withKey(key);
    throw e;
  }
}

function intArg(a: Arg): number {
  const n = parseIntArg(a);
  if (n === null) throw new RedisError(NOT_INTEGER);
  return n;
}

const id = (a: Arg, seq: 'min' | 'max' = 'min') => parseId(argStr(a), { defaultSeq: seq });

// ---- replies ----

function sendEntry(c: Client, e: { id: StreamId; fields: Field[] | null }): void {
  const ids = formatId(e.id);
  c.send(`*2\r\n${bulkStr(ids)}`);
  if (e.fields === null) return c.send(c.nilArr);
  c.send(`*${e.fields.length}\r\n`);
  for (const f of e.fields) c.sendBulk(f);
}

function sendEntries(c: Client, list: Array<{ id: StreamId; fields: Field[] | null }>): void {
  c.send(`*${list.length}\r\n`);
  for (const e of list) sendEntry(c, e);
}

// ---- trimming options shared by XADD and XTRIM ----

interface Trim {
  strategy: 'MAXLEN' | 'MINID' | null;
  approx: boolean;
  threshold: string;
  limit: number | undefined;
}

/** Parses one trimming option at argv[i]; returns the next index or -1 when argv[i] is not one. */
function parseTrimOpt(argv: Arg[], i: number, t: Trim): number {
  const o = optUpper(argv[i]);
  if ((o === 'MAXLEN' || o === 'MINID') && i + 1 < argv.length) {
    if (t.strategy !== null && t.strategy !== o) {
      throw new RedisError('ERR syntax error, MAXLEN and MINID options at the same time are not compatible');
    }
    t.strategy = o;
    let j = i + 1;
    const mod = argStr(argv[j]);
    if ((mod === '~' || mod === '=') && j + 1 < argv.length) {
      t.approx = mod === '~';
      j++;
    }
    t.threshold = argStr(argv[j]);
    if (o === 'MAXLEN') {
      const n = intArg(t.threshold);
      if (n < 0) throw new RedisError('ERR The MAXLEN argument must be >= 0.');
    } else parseId(t.threshold);
    return j + 1;
  }
  if (o === 'LIMIT' && i + 1 < argv.length) {
    const n = intArg(argv[i + 1]);
    if (n < 0) throw new RedisError('ERR The LIMIT argument must be >= 0.');
    t.limit = n;
    return i + 2;
  }
  return -1;
}

function checkTrim(t: Trim, forXadd: boolean): void {
  if (t.limit !== undefined && t.strategy === null && forXadd) {
    throw new RedisError('ERR syntax error, LIMIT cannot be used without specifying a trimming strategy');
  }
  if (t.limit !== undefined && !t.approx) throw new RedisError(LIMIT_WITHOUT_APPROX);
}

function applyTrim(s: RedisStream, t: Trim): number {
  if (t.strategy === 'MAXLEN') return s.trimMaxLen(Number(t.threshold), t.approx, t.limit);
  if (t.strategy === 'MINID') return s.trimMinId(parseId(t.threshold), t.approx, t.limit);
  return 0;
}

function xadd(c: Client, argv: Arg[]): void {
  const key = argStr(argv[1]);
  const t: Trim = { strategy: null, approx: false, threshold: '', limit: undefined };
  let noMk = false;
  let i = 2;
  for (; i < argv.length; ) {
    if (optUpper(argv[i]) === 'NOMKSTREAM') {
      noMk = true;
      i++;
      continue;
    }
    const next = parseTrimOpt(argv, i, t);
    if (next === -1) break;
    i = next;
  }
  checkTrim(t, true);
  const fieldCount = argv.length - i - 1;
  if (i >= argv.length || fieldCount < 2 || fieldCount % 2 !== 0) throw new RedisError(wrongArgs('xadd'));
  const idArg = argStr(argv[i]);
  if (idArg !== '*' && !idArg.endsWith('-*')) parseId(idArg); // validate before touching the key
  let s = getStream(c, key);
  if (s === undefined) {
    if (noMk) return c.send(c.nilArr);
    s = new RedisStream();
    const fields: Field[] = [];
    for (let j = i + 1; j < argv.length; j++) fields.push(normalizeValue(argv[j]));
    const newId = s.add(idArg, fields, Date.now()); // throws before the key exists on a bad id
    c.db.create(key, s);
    return afterAdd(c, key, s, t, newId);
  }
  const fields: Field[] = [];
  for (let j = i + 1; j < argv.length; j++) fields.push(normalizeValue(argv[j]));
  afterAdd(c, key, s, t, s.add(idArg, fields, Date.now()));
}

function afterAdd(c: Client, key: string, s: RedisStream, t: Trim, newId: StreamId): void {
  applyTrim(s, t);
  c.db.touch(key);
  c.core.blocking.signal(c.db, key);
  c.sendBulk(formatId(newId));
}

/** Range bound: '-', '+', exclusive '(id', or an id with the default sequence. */
function bound(a: Arg, isStart: boolean): StreamId {
  const s = argStr(a);
  if (s === '-') return { ...MIN_ID };
  if (s === '+') return { ...MAX_ID };
  if (s.startsWith('(')) {
    if (s === '(-' || s === '(+') throw new RedisError(INVALID_ID);
    const base = parseId(s.slice(1), { defaultSeq: isStart ? 'min' : 'max' });
    const moved = isStart ? incrId(base) : decrId(base);
    if (moved === null) throw new RedisError(`ERR invalid ${isStart ? 'start' : 'end'} ID for the interval`);
    return moved;
  }
  return parseId(s, { defaultSeq: isStart ? 'min' : 'max' });
}

function xrange(c: Client, argv: Arg[], reverse: boolean): void {
  const key = argStr(argv[1]);
  const start = bound(argv[reverse ? 3 : 2], true);
  const end = bound(argv[reverse ? 2 : 3], false);
  let count: number | undefined;
  if (argv.length > 4) {
    if (argv.length !== 6 || optUpper(argv[4]) !== 'COUNT') throw new RedisError(SYNTAX);
    count = intArg(argv[5]);
    if (count <= 0) return c.send(c.nilArr);
  }
  const s = getStream(c, key);
  if (s === undefined || compareId(start, end) > 0) return c.send(R_EMPTY_ARR);
  sendEntries(c, s.range(start, end, count, reverse));
}

function xtrim(c: Client, argv: Arg[]): void {
  const key = argStr(argv[1]);
  const t: Trim = { strategy: null, approx: false, threshold: '', limit: undefined };
  let i = 2;
  while (i < argv.length) {
    const next = parseTrimOpt(argv, i, t);
    if (next === -1) throw new RedisError(SYNTAX);
    i = next;
  }
  if (t.strategy === null) throw new RedisError(SYNTAX);
  checkTrim(t, false);
  const s = getStream(c, key);
  if (s === undefined) return c.send(R_ZERO);
  const n = applyTrim(s, t);
  if (n) c.db.touch(key);
  c.send(intReply(n));
}

interface ReadArgs {
  count: number | undefined;
  block: number | null;
  noAck: boolean;
  keys: string[];
  ids: string[];
}

function parseRead(argv: Arg[], start: number, cmd: 'xread' | 'xreadgroup'): ReadArgs {
  const r: ReadArgs = { count: undefined, block: null, noAck: false, keys: [], ids: [] };
  let i = start;
  for (; i < argv.length; i++) {
    const o = optUpper(argv[i]);
    const more = argv.length - i - 1;
    if (o === 'COUNT' && more >= 1) {
      const n = intArg(argv[++i]);
      r.count = n > 0 ? n : undefined;
    } else if (o === 'BLOCK' && more >= 1) {
      const n = parseIntArg(argv[++i]);
      if (n === null) throw new RedisError('ERR timeout is not an integer or out of range');
      if (n < 0) throw new RedisError('ERR timeout is negative');
      r.block = n;
    } else if (o === 'NOACK' && cmd === 'xreadgroup') r.noAck = true;
    else if (o === 'STREAMS') {
      const rest = argv.length - i - 1;
      if (rest === 0 || rest % 2 !== 0) {
        // Redis 7.0 uses this one text for XREAD and XREADGROUP alike.
        throw new RedisError("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
      }
      const half = rest / 2;
      for (let j = 0; j < half; j++) {
        r.keys.push(argStr(argv[i + 1 + j]));
        r.ids.push(argStr(argv[i + 1 + half + j]));
      }
      return r;
    } else throw new RedisError(SYNTAX);
  }
  throw new RedisError(SYNTAX);
}

function xread(c: Client, argv: Arg[]): void {
  if (argv.length < 4) throw new RedisError(wrongArgs('xread'));
  const r = parseRead(argv, 1, 'xread');
  const after: StreamId[] = [];
  for (let i = 0; i < r.keys.length; i++) {
    const s = getStream(c, r.keys[i]);
    if (r.ids[i] === '$') after.push(s ? { ...s.lastId } : { ...MIN_ID });
    else after.push(parseId(r.ids[i]));
  }
  const found: Array<[string, StreamEntry[]]> = [];
  for (let i = 0; i < r.keys.length; i++) {
    const s = getStream(c, r.keys[i]);
    if (!s) continue;
    const entries = s.after(after[i], r.count);
    if (entries.length) found.push([r.keys[i], entries]);
  }
  if (found.length) return sendStreams(c, found);
  if (r.block === null || c.inExec) return c.send(c.nilArr);
  c.core.blocking.block(
    c,
    r.keys,
    r.block,
    (key) => {
      const s = c.db.get(key);
      if (!(s instanceof RedisStream)) return false;
      const entries = s.after(after[r.keys.indexOf(key)], r.count);
      if (!entries.length) return false;
      sendStreams(c, [[key, entries]]);
      return true;
    },
    c.nilArr,
  );
}

function sendStreams(c: Client, found: Array<[string, Array<{ id: StreamId; fields: Field[] | null }>]>): void {
  // RESP3: a map keyed by stream name; RESP2: an array of [name, entries] pairs.
  const resp3 = c.resp === 3;
  c.send(resp3 ? mapHeader(c, found.length) : `*${found.length}\r\n`);
  for (const [k, entries] of found) {
    c.send(resp3 ? bulkStr(k) : `*2\r\n${bulkStr(k)}`);
    sendEntries(c, entries);
  }
}

function xreadgroup(c: Client, argv: Arg[]): void {
  if (optUpper(argv[1]) !== 'GROUP') throw new RedisError(SYNTAX);
  const group = argStr(argv[2]);
  const consumer = argStr(argv[3]);
  const r = parseRead(argv, 4, 'xreadgroup');
  for (const idArg of r.ids) {
    if (idArg === '$') {
      throw new RedisError(
        'ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.',
      );
    }
    if (idArg !== '>') parseId(idArg);
  }
  const streams: RedisStream[] = [];
  for (const key of r.keys) {
    const s = getStream(c, key);
    if (!s || !s.hasGroup(group)) throw noGroup(key, group, 'XREADGROUP');
    streams.push(s);
  }
  const now = Date.now();
  const found: Array<[string, Array<{ id: StreamId; fields: Field[] | null }>]> = [];
  let anyHistory = false;
  for (let i = 0; i < r.keys.length; i++) {
    const key = r.keys[i];
    if (r.ids[i] === '>') {
      const entries = withKey(key, () => streams[i].readGroupNew(group, consumer, r.count, r.noAck, now));
      if (entries.length) found.push([key, entries]);
    } else {
      anyHistory = true;
      found.push([key, withKey(key, () => streams[i].readGroupPending(group, consumer, parseId(r.ids[i]), r.count, now))]);
    }
  }
  if (found.length) {
    if (found.some(([, e]) => e.length) || anyHistory) return sendStreams(c, found);
  }
  if (r.block === null || c.inExec) return c.send(c.nilArr);
  c.core.blocking.block(
    c,
    r.keys,
    r.block,
    (key) => {
      const s = c.db.get(key);
      if (!(s instanceof RedisStream)) return false;
      if (!s.hasGroup(group)) throw noGroup(key, group, 'XREADGROUP');
      const entries = withKey(key, () => s.readGroupNew(group, consumer, r.count, r.noAck, Date.now()));
      if (!entries.length) return false;
      sendStreams(c, [[key, entries]]);
      return true;
    },
    c.nilArr,
  );
}

export const streamCommands: CommandSpec[] = [
  { name: 'xadd', arity: -5, flags: F_WRITE, keys: [1, 1, 1], run: xadd },
  { name: 'xlen', arity: 2, flags: F_READONLY, keys: [1, 1, 1], run: (c, a) => c.send(intReply(getStream(c, argStr(a[1]))?.length ?? 0)) },
  { name: 'xrange', arity: -4, flags: F_READONLY, keys: [1, 1, 1], run: (c, a) => xrange(c, a, false) },
  { name: 'xrevrange', arity: -4, flags: F_READONLY, keys: [1, 1, 1], run: (c, a) => xrange(c, a, true) },
  {
    name: 'xdel',
    arity: -3,
    flags: F_WRITE,
    keys: [1, 1, 1],
    run: (c, argv) => {
      const key = argStr(argv[1]);
      const ids = argv.slice(2).map((a) => id(a));
      const s = getStream(c, key);
      const n = s ? s.delete(ids) : 0;
      if (n) c.db.touch(key);
      c.send(intReply(n));
    },
  },
  { name: 'xtrim', arity: -4, flags: F_WRITE, keys: [1, 1, 1], run: xtrim },
  { name: 'xread', arity: -4, flags: F_READONLY | F_BLOCKING, keys: [0, 0, 0], run: xread },
  { name: 'xreadgroup', arity: -7, flags: F_WRITE | F_BLOCKING, keys: [0, 0, 0], run: xreadgroup },
];

export { bound as rangeBound, getStream, intArg as streamIntArg, sendEntries, withKey };
