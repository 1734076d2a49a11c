/** Generic key commands: DEL UNLINK EXISTS EXPIRE* TTL PTTL PERSIST TYPE KEYS SCAN RENAME. */
import type { Client } from './client.js';
import { F_READONLY, F_WRITE, type CommandSpec } from './command-table.js';
import { NOT_INTEGER, RedisError, SYNTAX } from './errors.js';
import { globMatch } from './glob.js';
import { typeOf } from './keyspace.js';
import { argStr, intReply, optUpper, parseIntArg, R_ONE, R_ZERO, statusReply } from './reply.js';
import type { Arg } from './resp-parser.js';

function delCmd(c: Client, argv: Arg[]): void {
  let n = 0;
  for (let i = 1; i < argv.length; i++) if (c.db.delete(argStr(argv[i]))) n++;
  c.send(intReply(n));
}

/** EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT with NX XX GT LT. */
function expireGeneric(c: Client, argv: Arg[], name: string, unitMs: number, absolute: boolean): void {
  const db = c.db;
  const key = argStr(argv[1]);
  const n = parseIntArg(argv[2]);
  if (n === null) throw new RedisError(NOT_INTEGER);
  let nx = false;
  let xx = false;
  let gt = false;
  let lt = false;
  for (let i = 3; i < argv.length; i++) {
    const o = optUpper(argv[i]);
    if (o === 'NX') nx = true;
    else if (o === 'XX') xx = true;
    else if (o === 'GT') gt = true;
    else if (o === 'LT') lt = true;
    else throw new RedisError(`ERR Unsupported option ${argStr(argv[i])}`);
  }
  if (nx && (xx || gt || lt)) throw new RedisError('ERR NX and XX, GT or LT options at the same time are not compatible');
  if (gt && lt) throw new RedisError('ERR GT and LT options at the same time are not compatible');
  const at = (absolute ? 0 : Date.now()) + n * unitMs;
  if (!Number.isSafeInteger(n * unitMs) || !Number.isSafeInteger(at)) {
    throw new RedisError(`ERR invalid expire time in '${name}' command`);
  }
  if (!db.has(key)) return c.send(R_ZERO);
  const cur = db.expireAt(key);
  if (nx && cur !== undefined) return c.send(R_ZERO);
  if (xx && cur === undefined) return c.send(R_ZERO);
  // A key without TTL counts as an infinite TTL for GT/LT.
  if (gt && (cur === undefined || at <= cur)) return c.send(R_ZERO);
  if (lt && cur !== undefined && at >= cur) return c.send(R_ZERO);
  if (at <= Date.now()) db.delete(key);
  else db.setExpire(key, at);
  c.send(R_ONE);
}

function ttlGeneric(c: Client, argv: Arg[], ms: boolean): void {
  const t = c.db.pttl(argStr(argv[1]));
  if (t < 0 || ms) c.send(intReply(t));
  else c.send(intReply(Math.floor((t + 500) / 1000)));
}

// ---- SCAN: stateful cursors over the Map's insertion-ordered iterator ----
// A JS Map iterator visits every entry present from start to finish (deletions are skipped,
// additions are appended), which gives SCAN's guarantee exactly. Cursors map to live iterators;
// an unknown/evicted cursor restarts the walk (duplicates are allowed by SCAN's contract).
const MAX_CURSORS = 1024;

export class ScanCursors {
  private readonly live = new Map<string, IterableIterator<string>>();
  private next = 1;

  take(cursor: string, fresh: () => IterableIterator<string>): IterableIterator<string> {
    if (cursor === '0') return fresh();
    const it = this.live.get(cursor);
    if (it === undefined) return fresh();
    this.live.delete(cursor);
    return it;
  }

  park(it: IterableIterator<string>): string {
    const id = String(this.next++);
    this.live.set(id, it);
    if (this.live.size > MAX_CURSORS) this.live.delete(this.live.keys().next().value as string);
    return id;
  }
}

const cursors = new WeakMap<object, ScanCursors>();

function scanCmd(c: Client, argv: Arg[]): void {
  const db = c.db;
  const cursor = argStr(argv[1]);
  if (!/^[0-9]+$/.test(cursor)) throw new RedisError('ERR invalid cursor');
  let match: string | null = null;
  let count = 10;
  let type: string | null = null;
  for (let i = 2; i < argv.length; i++) {
    const o = optUpper(argv[i]);
    if (i + 1 >= argv.length) throw new RedisError(SYNTAX);
    if (o === 'MATCH') match = argStr(argv[++i]);
    else if (o === 'COUNT') {
      const n = parseIntArg(argv[++i]);
      if (n === null) throw new RedisError(NOT_INTEGER);
      if (n < 1) throw new RedisError(SYNTAX);
      count = n;
    } else if (o === 'TYPE') type = argStr(argv[++i]).toLowerCase();
    else throw new RedisError(SYNTAX);
  }
  let reg = cursors.get(c.core);
  if (reg === undefined) cursors.set(c.core, (reg = new ScanCursors()));
  const it = reg.take(cursor, () => db.data.keys());
  const keys: string[] = [];
  let done = false;
  for (let visited = 0; visited < count; visited++) {
    const r = it.next();
    if (r.done) {
      done = true;
      break;
    }
    const k = r.value;
    const v = db.get(k);
    if (v === undefined) continue;
    if (match !== null && !globMatch(match, k)) continue;
    if (type !== null && typeOf(v) !== type) continue;
    keys.push(k);
  }
  const nextCursor = done ? '0' : reg.park(it);
  c.send(`*2\r\n$${nextCursor.length}\r\n${nextCursor}\r\n`);
  c.sendBulks(keys);
}

function renameCmd(c: Client, argv: Arg[], nx: boolean): void {
  const db = c.db;
  const src = argStr(argv[1]);
  const dst = argStr(argv[2]);
  const v = db.get(src);
  if (v === undefined) throw new RedisError('ERR no such key');
  if (nx && db.has(dst)) return c.send(R_ZERO);
  if (src === dst) return c.send(nx ? R_ZERO : '+OK\r\n');
  const at = db.expireAt(src);
  db.delete(src);
  db.set(dst, v);
  if (at !== undefined) db.setExpire(dst, at);
  c.core.blocking.signal(c.db, dst);
  c.send(nx ? R_ONE : '+OK\r\n');
}

export const keyCommands: CommandSpec[] = [
  { name: 'del', arity: -2, flags: F_WRITE, keys: [1, -1, 1], run: delCmd },
  { name: 'unlink', arity: -2, flags: F_WRITE, keys: [1, -1, 1], run: delCmd },
  {
    name: 'exists',
    arity: -2,
    flags: F_READONLY,
    keys: [1, -1, 1],
    run: (c, argv) => {
      let n = 0;
      for (let i = 1; i < argv.length; i++) if (c.db.has(argStr(argv[i]))) n++;
      c.send(intReply(n));
    },
  },
  { name: 'expire', arity: -3, flags: F_WRITE, keys: [1, 1, 1], run: (c, a) => expireGeneric(c, a, 'expire', 1000, false) },
  { name: 'pexpire', arity: -3, flags: F_WRITE, keys: [1, 1, 1], run: (c, a) => expireGeneric(c, a, 'pexpire', 1, false) },
  { name: 'expireat', arity: -3, flags: F_WRITE, keys: [1, 1, 1], run: (c, a) => expireGeneric(c, a, 'expireat', 1000, true) },
  { name: 'pexpireat', arity: -3, flags: F_WRITE, keys: [1, 1, 1], run: (c, a) => expireGeneric(c, a, 'pexpireat', 1, true) },
  { name: 'ttl', arity: 2, flags: F_READONLY, keys: [1, 1, 1], run: (c, a) => ttlGeneric(c, a, false) },
  { name: 'pttl', arity: 2, flags: F_READONLY, keys: [1, 1, 1], run: (c, a) => ttlGeneric(c, a, true) },
  {
    name: 'persist',
    arity: 2,
    flags: F_WRITE,
    keys: [1, 1, 1],
    run: (c, argv) => c.send(c.db.persist(argStr(argv[1])) ? R_ONE : R_ZERO),
  },
  {
    name: 'type',
    arity: 2,
    flags: F_READONLY,
    keys: [1, 1, 1],
    run: (c, argv) => c.send(statusReply(typeOf(c.db.get(argStr(argv[1]))))),
  },
  {
    name: 'keys',
    arity: 2,
    flags: F_READONLY,
    run: (c, argv) => {
      const pat = argStr(argv[1]);
      const out: string[] = [];
      const db = c.db;
      for (const k of db.data.keys()) if (globMatch(pat, k) && db.has(k)) out.push(k);
      c.sendBulks(out);
    },
  },
  { name: 'scan', arity: -2, flags: F_READONLY, run: scanCmd },
  { name: 'rename', arity: 3, flags: F_WRITE, keys: [1, 2, 1], run: (c, a) => renameCmd(c, a, false) },
  { name: 'renamenx', arity: 3, flags: F_WRITE, keys: [1, 2, 1], run: (c, a) => renameCmd(c, a, true) },
];
