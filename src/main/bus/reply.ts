/**
 * RESP2 reply encoding. Replies are built as latin1 strings (one char per byte) and appended to the
 * connection's output; constant replies are pre-encoded once. Buffers (big values) are written
 * as header string + Buffer + CRLF by the connection.
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
