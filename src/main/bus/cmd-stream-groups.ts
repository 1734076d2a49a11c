/** Consumer-group stream commands: XGROUP XACK XPENDING XAUTOCLAIM XINFO (GROUPS, CONSUMERS, STREAM). */
import type { Client } from './client.js';
import { F_READONLY, F_WRITE, type CommandSpec } from './command-table.js';
import { RedisError, SYNTAX } from './errors.js';
import { getStream, rangeBound, sendEntries, streamIntArg, withKey } from './cmd-streams.js';
import { argStr, bulkStr, intReply, mapHeader, optUpper, R_OK, R_ONE, R_ZERO } from './reply.js';
import type { Arg } from './resp-parser.js';
import { formatId, MAX_ID, MIN_ID, noGroup, parseId, RedisStream, type StreamId } from './stream.js';

const NEED_KEY =
  'ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.';

function groupIdArg(a: Arg): StreamId | '$' {
  const s = argStr(a);
  return s === '$' ? '$' : parseId(s);
}

function xgroup(c: Client, argv: Arg[]): void {
  const sub = optUpper(argv[1]);
  const badArity = () => new RedisError(`ERR unknown subcommand or wrong number of arguments for '${argStr(argv[1])}'. Try XGROUP HELP.`);
  const key = argv.length > 2 ? argStr(argv[2]) : '';
  switch (sub) {
    case 'CREATE': {
      if (argv.length < 5 || argv.length > 8) throw badArity();
      const group = argStr(argv[3]);
      const lastId = groupIdArg(argv[4]);
      let mk = false;
      let entriesRead: number | undefined;
      for (let i = 5; i < argv.length; i++) {
        const o = optUpper(argv[i]);
        if (o === 'MKSTREAM') mk = true;
        else if (o === 'ENTRIESREAD' && i + 1 < argv.length) entriesRead = streamIntArg(argv[++i]);
        else throw new RedisError(SYNTAX);
      }
      let s = getStream(c, key);
      if (s === undefined) {
        if (!mk) throw new RedisError(NEED_KEY);
        s = new RedisStream();
        c.db.create(key, s);
      }
      s.createGroup(key, group, lastId, entriesRead);
      c.db.touch(key);
      return c.send(R_OK);
    }
    case 'SETID': {
      if (argv.length < 5 || argv.length > 7) throw badArity();
      const s = getStream(c, key);
      if (s === undefined) throw new RedisError(NEED_KEY);
      let entriesRead: number | undefined;
      if (argv.length > 5) {
        if (optUpper(argv[5]) !== 'ENTRIESREAD' || argv.length !== 7) throw new RedisError(SYNTAX);
        entriesRead = streamIntArg(argv[6]);
      }
      withKey(key, () => s.setGroupId(argStr(argv[3]), groupIdArg(argv[4]), entriesRead));
      return c.send(R_OK);
    }
    case 'DESTROY': {
      if (argv.length !== 4) throw badArity();
      const s = getStream(c, key);
      if (s === undefined) throw new RedisError(NEED_KEY);
      const group = argStr(argv[3]);
      const ok = s.destroyGroup(group);
      if (ok) {
        c.db.touch(key);
        c.core.blocking.signal(c.db, key); // XREADGROUP waiters on this group get NOGROUP
      }
      return c.send(ok ? R_ONE : R_ZERO);
    }
    case 'CREATECONSUMER': {
      if (argv.length !== 5) throw badArity();
      const s = getStream(c, key);
      if (s === undefined) throw new RedisError(NEED_KEY);
      return c.send(withKey(key, () => s.createConsumer(argStr(argv[3]), argStr(argv[4]), Date.now())) ? R_ONE : R_ZERO);
    }
    case 'DELCONSUMER': {
      if (argv.length !== 5) throw badArity();
      const s = getStream(c, key);
      if (s === undefined) throw new RedisError(NEED_KEY);
      return c.send(intReply(withKey(key, () => s.deleteConsumer(argStr(argv[3]), argStr(argv[4])))));
    }
    default:
      throw new RedisError(`ERR unknown subcommand '${argStr(argv[1])}'. Try XGROUP HELP.`);
  }
}

function xpending(c: Client, argv: Arg[]): void {
  const key = argStr(argv[1]);
  const group = argStr(argv[2]);
  let i = 3;
  let minIdle = 0;
  if (argv.length > 3 && optUpper(argv[3]) === 'IDLE') {
    if (argv.length < 6) throw new RedisError(SYNTAX);
    minIdle = streamIntArg(argv[4]);
    i = 5;
  }
  const extended = argv.length > 3;
  if (extended && (argv.length - i < 3 || argv.length - i > 4)) throw new RedisError(SYNTAX);
  let range: { start: StreamId; end: StreamId; count: number; consumer?: string } | null = null;
  if (extended) {
    const start = rangeBound(argv[i], true);
    const end = rangeBound(argv[i + 1], false);
    const count = streamIntArg(argv[i + 2]);
    range = { start, end, count, consumer: argv.length - i === 4 ? argStr(argv[i + 3]) : undefined };
  }
  const s = getStream(c, key);
  if (!s || !s.hasGroup(group)) throw noGroup(key, group, 'XPENDING');
  if (range === null) {
    const sum = withKey(key, () => s.pendingSummary(group));
    if (sum.count === 0) return c.send(`*4\r\n:0\r\n${c.nil}${c.nil}${c.nilArr}`);
    c.send(`*4\r\n${intReply(sum.count)}${bulkStr(formatId(sum.min!))}${bulkStr(formatId(sum.max!))}*${sum.consumers.length}\r\n`);
    // Redis sends each consumer's count as a bulk string.
    for (const con of sum.consumers) c.send(`*2\r\n${bulkStr(con.name)}${bulkStr(String(con.count))}`);
    return;
  }
  const now = Date.now();
  const list = withKey(key, () => s.pendingRange(group, range.start, range.end, range.count, range.consumer, minIdle, now));
  c.send(`*${list.length}\r\n`);
  for (const p of list) {
    c.send(`*4\r\n${bulkStr(formatId(p.id))}${bulkStr(p.consumer)}${intReply(Math.max(0, now - p.deliveredAt))}${intReply(p.deliveryCount)}`);
  }
}

function xautoclaim(c: Client, argv: Arg[]): void {
  const key = argStr(argv[1]);
  const group = argStr(argv[2]);
  const consumer = argStr(argv[3]);
  const minIdle = Math.max(0, streamIntArg(argv[4]));
  const startS = argStr(argv[5]);
  const start = startS === '-' ? { ...MIN_ID } : startS === '+' ? { ...MAX_ID } : parseId(startS, { defaultSeq: 'min' });
  let count = 100;
  let justId = false;
  for (let i = 6; i < argv.length; i++) {
    const o = optUpper(argv[i]);
    if (o === 'COUNT' && i + 1 < argv.length) {
      count = streamIntArg(argv[++i]);
      if (count < 1 || count > 1024 * 1024 * 1024) throw new RedisError('ERR COUNT must be > 0');
    } else if (o === 'JUSTID') justId = true;
    else throw new RedisError(SYNTAX);
  }
  const s = getStream(c, key);
  if (!s || !s.hasGroup(group)) throw noGroup(key, group, 'XAUTOCLAIM');
  const r = withKey(key, () => s.autoClaim(group, consumer, minIdle, start, count, Date.now(), justId));
  c.send(`*3\r\n${bulkStr(formatId(r.next))}`);
  if (justId) {
    c.send(`*${r.claimed.length}\r\n`);
    for (const e of r.claimed) c.send(bulkStr(formatId(e.id)));
  } else sendEntries(c, r.claimed);
  c.send(`*${r.deleted.length}\r\n`);
  for (const d of r.deleted) c.send(bulkStr(formatId(d)));
  if (r.claimed.length || r.deleted.length) c.db.touch(key);
}

function xinfo(c: Client, argv: Arg[]): void {
  const sub = optUpper(argv[1]);
  if (argv.length < 3) throw new RedisError(`ERR unknown subcommand or wrong number of arguments for '${argStr(argv[1])}'. Try XINFO HELP.`);
  const key = argStr(argv[2]);
  const s = getStream(c, key);
  if (!s) throw new RedisError('ERR no such key');
  const idOrNil = (n: number | null) => (n === null ? c.nil : intReply(n));
  if (sub === 'GROUPS') {
    const groups = s.groupInfo();
    c.send(`*${groups.length}\r\n`);
    for (const g of groups) {
      c.send(
        mapHeader(c, 6) + bulkStr('name') + bulkStr(g.name) + bulkStr('consumers') + intReply(g.consumers) +
          bulkStr('pending') + intReply(g.pending) + bulkStr('last-delivered-id') + bulkStr(formatId(g.lastDeliveredId)) +
          bulkStr('entries-read') + idOrNil(g.entriesRead) + bulkStr('lag') + idOrNil(g.lag),
      );
    }
    return;
  }
  if (sub === 'CONSUMERS') {
    if (argv.length !== 4) throw new RedisError(SYNTAX);
    const group = argStr(argv[3]);
    const list = withKey(key, () => s.consumersInfo(group));
    const now = Date.now();
    c.send(`*${list.length}\r\n`);
    for (const con of list) {
      c.send(mapHeader(c, 3) + bulkStr('name') + bulkStr(con.name) + bulkStr('pending') + intReply(con.pending) + bulkStr('idle') + intReply(Math.max(0, now - con.seenTime)));
    }
    return;
  }
  if (sub === 'STREAM') {
    c.send(
      mapHeader(c, 10) + bulkStr('length') + intReply(s.length) + bulkStr('radix-tree-keys') + intReply(1) +
        bulkStr('radix-tree-nodes') + intReply(2) + bulkStr('last-generated-id') + bulkStr(formatId(s.lastId)) +
        bulkStr('max-deleted-entry-id') + bulkStr(formatId(s.maxDeletedId)) + bulkStr('entries-added') + intReply(s.entriesAdded) +
        bulkStr('recorded-first-entry-id') + bulkStr(formatId(s.firstId)) + bulkStr('groups') + intReply(s.groupCount) +
        bulkStr('first-entry'),
    );
    const first = s.firstEntry;
    const last = s.lastEntry;
    if (first) sendBareEntry(c, first);
    else c.send(c.nil);
    c.send(bulkStr('last-entry'));
    if (last) sendBareEntry(c, last);
    else c.send(c.nil);
    return;
  }
  throw new RedisError(`ERR unknown subcommand '${argStr(argv[1])}'. Try XINFO HELP.`);
}

function sendBareEntry(c: Client, e: { id: StreamId; fields: (string | Buffer)[] }): void {
  c.send(`*2\r\n${bulkStr(formatId(e.id))}*${e.fields.length}\r\n`);
  for (const f of e.fields) c.sendBulk(f);
}

export const streamGroupCommands: CommandSpec[] = [
  { name: 'xgroup', arity: -2, flags: F_WRITE, keys: [2, 2, 1], run: xgroup },
  {
    name: 'xack',
    arity: -4,
    flags: F_WRITE,
    keys: [1, 1, 1],
    run: (c, argv) => {
      const key = argStr(argv[1]);
      const ids = argv.slice(3).map((a) => parseId(argStr(a)));
      const s = getStream(c, key);
      const n = s ? s.ack(argStr(argv[2]), ids) : 0;
      if (n) c.db.touch(key);
      c.send(intReply(n));
    },
  },
  { name: 'xpending', arity: -3, flags: F_READONLY, keys: [1, 1, 1], run: xpending },
  { name: 'xautoclaim', arity: -6, flags: F_WRITE, keys: [1, 1, 1], run: xautoclaim },
  { name: 'xinfo', arity: -2, flags: F_READONLY, keys: [2, 2, 1], run: xinfo },
];
