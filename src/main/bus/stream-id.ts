/**
 * Stream entry ids (`ms-seq`) of the embedded bus: parsing with Redis 7.0's rules, ordering, the
 * neighbours of an id, and the error texts the stream commands share.
 *
 * ID parts are JS numbers, so the ID space tops out at 2^53-1 for both ms and seq (Redis: 2^64-1).
 * Parts above that are rejected as invalid IDs; `+` means (2^53-1)-(2^53-1).
 */
import { RedisError } from './errors.js';

export interface StreamId { ms: number; seq: number }
/** Latin1 strings for small values, Buffers for big ones; stored as given. */
export type Field = string | Buffer;
/** Returned entries are the stored objects: treat them as read-only. */
export interface StreamEntry { id: StreamId; fields: Field[] }
export interface PendingEntry { id: StreamId; consumer: string; deliveredAt: number; deliveryCount: number }

/** Highest value of either ID part on this bus. */
export const MAX_ID_PART = Number.MAX_SAFE_INTEGER;
export const MIN_ID: Readonly<StreamId> = Object.freeze({ ms: 0, seq: 0 });
export const MAX_ID: Readonly<StreamId> = Object.freeze({ ms: MAX_ID_PART, seq: MAX_ID_PART });

export const INVALID_ID = 'ERR Invalid stream ID specified as stream command argument';
export const XADD_TOO_SMALL = 'ERR The ID specified in XADD is equal or smaller than the target stream top item';
export const XADD_ZERO = 'ERR The ID specified in XADD must be greater than 0-0';
export const XADD_EXHAUSTED = 'ERR The stream has exhausted the last possible ID, unable to add more items';
export const BUSYGROUP = 'BUSYGROUP Consumer Group name already exists';
export const COUNT_NOT_POSITIVE = 'ERR COUNT must be > 0';
export const LIMIT_WITHOUT_APPROX = 'ERR syntax error, LIMIT cannot be used without the special ~ option';
/** Redis's default LIMIT for `~` trimming: 100 x stream-node-max-entries (100). */
export const DEFAULT_APPROX_TRIM_LIMIT = 10_000;

/** One ID part as Redis's string2ull reads it (leading blanks and '+' allowed), or null. */
export function parsePart(s: string): number | null {
  if (!/^[ \t\n\v\f\r]*\+?[0-9]+$/.test(s)) return null;
  const digits = s.replace(/^[ \t\n\v\f\r]*\+?0*/, '');
  if (digits.length > 16) return null; // > 2^53-1 for sure (16 digits max out at 9999999999999999)
  const n = Number(digits || '0');
  return n <= MAX_ID_PART ? n : null;
}

/**
 * Parses `ms-seq`, `ms` (seq from defaultSeq: 'min' -> 0, 'max' -> 2^53-1), `-` (0-0) and `+` (max).
 * Throws RedisError(INVALID_ID). Exclusive `(id` bounds are the glue's: parse then incrId/decrId.
 */
export function parseId(s: string, opts: { defaultSeq?: 'min' | 'max' } = {}): StreamId {
  if (s === '-') return { ms: 0, seq: 0 };
  if (s === '+') return { ms: MAX_ID_PART, seq: MAX_ID_PART };
  if (s.length > 127) throw new RedisError(INVALID_ID);
  const dash = s.indexOf('-');
  const ms = parsePart(dash < 0 ? s : s.slice(0, dash));
  const seq = dash < 0 ? (opts.defaultSeq === 'max' ? MAX_ID_PART : 0) : parsePart(s.slice(dash + 1));
  if (ms === null || seq === null) throw new RedisError(INVALID_ID);
  return { ms, seq };
}

export function formatId(id: StreamId): string {
  return `${id.ms}-${id.seq}`;
}

export function compareId(a: StreamId, b: StreamId): number {
  return a.ms !== b.ms ? (a.ms < b.ms ? -1 : 1) : a.seq !== b.seq ? (a.seq < b.seq ? -1 : 1) : 0;
}

/** The next ID, or null past the last one. */
export function incrId(id: StreamId): StreamId | null {
  if (id.seq < MAX_ID_PART) return { ms: id.ms, seq: id.seq + 1 };
  if (id.ms < MAX_ID_PART) return { ms: id.ms + 1, seq: 0 };
  return null;
}

/** The previous ID, or null before 0-0. */
export function decrId(id: StreamId): StreamId | null {
  if (id.seq > 0) return { ms: id.ms, seq: id.seq - 1 };
  if (id.ms > 0) return { ms: id.ms - 1, seq: MAX_ID_PART };
  return null;
}

export const isZero = (id: StreamId) => id.ms === 0 && id.seq === 0;
