/**
 * Reply encoding for RESP2 and RESP3. Replies are built as latin1 strings (one char per byte) and
 * appended to the connection's output; constant replies are pre-encoded once. Buffers (big values)
 * are written as header string + Buffer + CRLF by the connection.
 *
 * RESP3 (after `HELLO 3`) differs only in a few places, each encoded like Redis 7.0:
 *  - null: `_` for both the nil bulk and the nil array. A client carries its two null replies
 *    (`c.nil`, `c.nilArr`), chosen once when its protocol changes, so hot commands (GET, LPOP...)
 *    send `c.nil` with no per-reply branch;
 *  - maps `%` (HGETALL, CONFIG GET, HELLO, XINFO, XREAD...), sets `~` (SMEMBERS, command flags),
 *    pushes `>` (pub/sub), verbatim text `=` (INFO, CLIENT INFO/LIST). The helpers below give the
 *    header for the client's protocol; these commands are not on the hot path.
 */
import type { Arg } from './resp-parser.js';

export const R_OK = '+OK\r\n';
export const R_PONG = '+PONG\r\n';
export const R_QUEUED = '+QUEUED\r\n';
export const R_ZERO = ':0\r\n';
export const R_ONE = ':1\r\n';
export const R_NIL = '$-1\r\n';
export const R_NIL_ARR = '*-1\r\n';
export const R_EMPTY_ARR = '*0\r\n';
export const R_EMPTY_BULK = '$0\r\n\r\n';
/** RESP3 null (replaces both `$-1` and `*-1`). */
export const R3_NULL = '_\r\n';

/** The protocol state of a connection, as the reply helpers need it (implemented by Client). */
export interface Proto {
  resp: 2 | 3;
  /** Null bulk reply for this protocol. */
  nil: string;
  /** Null array reply for this protocol. */
  nilArr: string;
}

/** Switches a connection's protocol (HELLO, RESET): picks its null replies once. */
export function setProtocol(c: Proto, version: 2 | 3): void {
  c.resp = version;
  c.nil = version === 3 ? R3_NULL : R_NIL;
  c.nilArr = version === 3 ? R3_NULL : R_NIL_ARR;
}

/** A map of `pairs` key/value pairs: `%n` in RESP3, a flat array of 2n items in RESP2. */
export function mapHeader(c: Proto, pairs: number): string {
  return c.resp === 3 ? `%${pairs}\r\n` : `*${pairs * 2}\r\n`;
}

/** An unordered set: `~n` in RESP3, an array in RESP2. */
export function setHeader(c: Proto, n: number): string {
  return c.resp === 3 ? `~${n}\r\n` : `*${n}\r\n`;
}

/** An out-of-band push (pub/sub): `>n` in RESP3, an array in RESP2. */
export function pushHeader(c: Proto, n: number): string {
  return c.resp === 3 ? `>${n}\r\n` : `*${n}\r\n`;
}

/** Text meant for humans (INFO, CLIENT LIST): a `txt` verbatim string in RESP3, a bulk in RESP2. */
export function verbatimText(c: Proto, s: string): string {
  return c.resp === 3 ? `=${s.length + 4}\r\ntxt:${s}\r\n` : bulkStr(s);
}

const SMALL_INTS: string[] = [];
for (let i = -1; i <= 1024; i++) SMALL_INTS[i + 1] = `:${i}\r\n`;

export function intReply(n: number): string {
  if (n >= -1 && n <= 1024 && Number.isInteger(n)) return SMALL_INTS[n + 1];
  return `:${n}\r\n`;
}

/** A bulk string reply for a latin1 string value. */
export function bulkStr(s: string): string {
  return `$${s.length}\r\n${s}\r\n`;
}

export function errReply(msg: string): string {
  // RESP errors are one line: newlines in messages would break the framing.
  return `-${msg.replace(/[\r\n]+/g, ' ')}\r\n`;
}

export function statusReply(s: string): string {
  return `+${s}\r\n`;
}

export function arrHeader(n: number): string {
  return `*${n}\r\n`;
}

/** Converts a value argument to a latin1 string (keys, field names, options). */
export function argStr(a: Arg): string {
  return typeof a === 'string' ? a : a.latin1Slice(0, a.length);
}

/** Case-insensitive option compare for ASCII words (option names are short). */
export function isOpt(a: Arg, upper: string): boolean {
  return typeof a === 'string' && a.length === upper.length && a.toUpperCase() === upper;
}

export function optUpper(a: Arg): string {
  return typeof a === 'string' ? a.toUpperCase() : '';
}

/** Byte length of a stored value (strings are latin1: one byte per char). */
export function byteLen(v: Arg): number {
  return v.length;
}

/** Parses a Redis integer argument (string2ll rules), or returns null. */
export function parseIntArg(a: Arg): number | null {
  const s = typeof a === 'string' ? a : a.length > 32 ? '' : a.latin1Slice(0, a.length);
  if (s.length === 0 || s.length > 20) return null;
  if (!/^-?(0|[1-9][0-9]*)$/.test(s)) return null;
  const n = Number(s);
  if (!Number.isSafeInteger(n)) {
    // Redis accepts the full int64 range; beyond 2^53 we cannot represent it exactly.
    const big = BigInt(s);
    if (big > 9223372036854775807n || big < -9223372036854775808n) return null;
    return Number(big);
  }
  return n;
}

/** Parses a float argument like Redis's strtold-based checks (inf allowed, nan not), or null. */
export function parseFloatArg(a: Arg): number | null {
  const s = argStr(a).trim();
  if (s.length === 0 || s !== argStr(a)) return null;
  const lower = s.toLowerCase();
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity' || lower === '+infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return null;
  const n = Number(s);
  return Number.isNaN(n) ? null : n;
}
