/**
 * OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ / HELP, answered as redis-server 7.0 would for the
 * same value. The bus keeps no per-key access clock, so IDLETIME is 0 and FREQ (under an LFU policy)
 * the starting counter; the encodings follow redis 7.0's size rules from the value as it is now
 * (redis never converts back, so after a shrink it may still report the big encoding).
 */
import type { Client } from './client.js';
import { type CommandSpec } from './command-table.js';
import { RedisError } from './errors.js';
import { Deque } from './deque.js';
import type { Value } from './keyspace.js';
import { argStr, byteLen, intReply, optUpper } from './reply.js';
import type { Arg } from './resp-parser.js';

/** redis.conf defaults that decide the small encodings (7.0). */
const HASH_MAX_LISTPACK_ENTRIES = 128;
const HASH_MAX_LISTPACK_VALUE = 64;
const SET_MAX_INTSET_ENTRIES = 512;
const EMBSTR_MAX = 44;
/** Integers redis-server shares (OBJ_SHARED_INTEGERS); their refcount reads as INT_MAX. */
const SHARED_INTEGERS = 10000;
const LFU_INIT_VAL = 5;

const HELP = [
  'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ENCODING <key>',
  '    Return the kind of internal representation used in order to store the value',
  '    associated with a <key>.',
  'FREQ <key>',
  '    Return the access frequency index of the <key>. The returned integer is',
  '    proportional to the logarithm of the recent access frequency of the key.',
  'IDLETIME <key>',
  '    Return the idle time of the <key>, that is the approximated number of',
  '    seconds elapsed since the last access to the key.',
  'REFCOUNT <key>',
  '    Return the number of references of the value associated with the specified',
  '    <key>.',
  'HELP',
  '    Prints this help.',
];

/** redis's string2ll: a canonical decimal that fits a signed 64-bit integer. */
function asInteger(s: string): bigint | null {
  if (s.length === 0 || s.length > 20 || !/^(0|-?[1-9][0-9]*)$/.test(s)) return null;
  const v = BigInt(s);
  return v >= -(2n ** 63n) && v < 2n ** 63n ? v : null;
}

function encoding(v: Value): string {
  if (typeof v === 'string' || Buffer.isBuffer(v)) {
    if (typeof v === 'string' && asInteger(v) !== null) return 'int';
    return byteLen(v) <= EMBSTR_MAX ? 'embstr' : 'raw';
  }
  if (v instanceof Deque) return 'quicklist';
  if (v instanceof Map) {
    if (v.size > HASH_MAX_LISTPACK_ENTRIES) return 'hashtable';
    for (const [f, x] of v as Map<string, Arg>) {
      if (f.length > HASH_MAX_LISTPACK_VALUE || byteLen(x) > HASH_MAX_LISTPACK_VALUE) return 'hashtable';
    }
    return 'listpack';
  }
  if (v instanceof Set) {
    if (v.size > SET_MAX_INTSET_ENTRIES) return 'hashtable';
    for (const m of v as Set<string>) if (asInteger(m) === null) return 'hashtable';
    return 'intset';
  }
  return 'stream';
}

function refcount(v: Value): number {
  if (typeof v !== 'string') return 1;
  const n = asInteger(v);
  return n !== null && n >= 0n && n < BigInt(SHARED_INTEGERS) ? 2147483647 : 1;
}

const lfuPolicy = (c: Client) => (c.core.config.get('maxmemory-policy') ?? 'noeviction').includes('lfu');

function objectCmd(c: Client, argv: Arg[]): void {
  const sub = optUpper(argv[1]);
  if (sub === 'HELP') {
    if (argv.length !== 2) throw new RedisError("ERR wrong number of arguments for 'object|help' command");
    return c.send(`*${HELP.length}\r\n${HELP.map((l) => `+${l}\r\n`).join('')}`);
  }
  if (sub !== 'ENCODING' && sub !== 'REFCOUNT' && sub !== 'IDLETIME' && sub !== 'FREQ') {
    throw new RedisError(`ERR unknown subcommand '${argStr(argv[1])}'. Try OBJECT HELP.`);
  }
  if (argv.length !== 3) throw new RedisError(`ERR wrong number of arguments for 'object|${sub.toLowerCase()}' command`);
  const v = c.db.get(argStr(argv[2]));
  if (v === undefined) return c.send(c.nil);
  if (sub === 'ENCODING') return c.sendBulk(encoding(v));
  if (sub === 'REFCOUNT') return c.send(intReply(refcount(v)));
  if (sub === 'IDLETIME') {
    if (lfuPolicy(c)) {
      throw new RedisError(
        'ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.',
      );
    }
    return c.send(intReply(0));
  }
  if (!lfuPolicy(c)) {
    throw new RedisError(
      'ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.',
    );
  }
  c.send(intReply(LFU_INIT_VAL));
}

export const objectCommands: CommandSpec[] = [{ name: 'object', arity: -2, flags: 0, keys: [2, 2, 1], run: objectCmd }];
