/**
 * Incremental, byte-level RESP request parser (multibulk and inline commands).
 *
 * Pull-based: `push(chunk)` appends bytes, `next()` returns one command's arguments, null when more
 * bytes are needed, or a ProtocolError (the caller replies and closes). Being pull-based lets the
 * connection stop mid-buffer (blocked client, socket backpressure) and resume later.
 *
 * Invariants that keep it linear-time:
 *  - the state of a half-received multibulk (args so far, pending bulk length) survives between
 *    pushes, so nothing already parsed is parsed again;
 *  - only the unparsed tail of a partial header is concatenated with the next chunk (small);
 *  - a big bulk that spans reads is copied once into a buffer of its final size.
 * Small bulks become latin1 strings (one char per byte, so any byte round-trips); bulks of
 * BIG_BULK bytes and up stay Buffers (cheaper to hold and write).
 */

declare global {
  interface Buffer {
    /** Node's fast internal latin1 decoder (stable since Node 0.x, untyped in @types/node). */
    latin1Slice(start: number, end: number): string;
  }
}

export type Arg = string | Buffer;

export const BIG_BULK = 1024;
/** redis-server's limit (INT_MAX); arguments are collected as they arrive, so a big count costs nothing up front. */
const MAX_MULTIBULK = 2147483647;
const MAX_INLINE = 64 * 1024;
const MAX_HEADER = 64 * 1024;
/** Redis limits for clients that still have to AUTH. */
const UNAUTH_MULTIBULK = 10;
const UNAUTH_BULK = 16384;

const EMPTY = Buffer.alloc(0);
const INT_OK = 0;
const INT_INCOMPLETE = 1;
const INT_INVALID = 2;

/**
 * Interned command names and first arguments (keys, channels: a bus has few, used over and over):
 * a small direct-mapped cache of latin1 strings indexed by (length, first
 * byte, last byte), checked byte by byte before reuse. Bounded (INTERN_SLOTS short strings); a
 * collision just replaces the slot.
 */
const MAX_INTERN = 24;
const INTERN_SLOTS = 1024;
const internSlots: string[] = new Array<string>(INTERN_SLOTS).fill('');

function internName(buf: Buffer, start: number, n: number): string {
  if (n === 0) return '';
  const slot = (n * 977 + buf[start] * 31 + buf[start + n - 1]) & (INTERN_SLOTS - 1);
  const s = internSlots[slot];
  if (s.length === n) {
    let i = 0;
    while (i < n && s.charCodeAt(i) === buf[start + i]) i++;
    if (i === n) return s;
  }
  const fresh = buf.latin1Slice(start, start + n);
  internSlots[slot] = fresh;
  return fresh;
}

export class ProtocolError {
  constructor(readonly message: string) {}
}

export interface ParserOptions {
  maxBulkLength: number;
  /** Consulted per command; true while the client has not authenticated yet. */
  authRequired?: () => boolean;
}

export class RespParser {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Multibulk in progress: expected argc (-1 = none), args so far, pending bulk length (-1 = none). */
  private argc = -1;
  private args: Arg[] = [];
  private bulkLen = -1;
  /** Big bulk being assembled across reads. */
  private big: Buffer | null = null;
  private bigFill = 0;
  /** readInt's results. */
  private intValue = 0;
  private intNext = 0;

  constructor(private readonly opts: ParserOptions) {}

  /** Bytes received but not yet consumed (for memory accounting and tests). */
  get pending(): number {
    return this.buf.length - this.pos + this.bigFill;
  }

  push(chunk: Buffer): void {
    if (this.big) {
      // Copy straight into the big bulk's final buffer; the remainder becomes the new buffer.
      const need = this.big.length - this.bigFill;
      const n = Math.min(need, chunk.length);
      chunk.copy(this.big, this.bigFill, 0, n);
      this.bigFill += n;
      if (n < chunk.length) {
        this.buf = chunk.subarray(n);
        this.pos = 0;
      } else {
        this.buf = Buffer.alloc(0);
        this.pos = 0;
      }
      return;
    }
    if (this.pos >= this.buf.length) {
      this.buf = chunk;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
    }
    this.pos = 0;
  }

  /** The next complete command, null when more bytes are needed, or a protocol error. */
  next(): Arg[] | null | ProtocolError {
    if (this.big) {
      if (this.bigFill < this.big.length) return null;
      // Complete: the last two bytes stand for the CRLF terminator (not checked, see below).
      const b = this.big;
      this.big = null;
      this.bigFill = 0;
      this.args.push(b.subarray(0, b.length - 2));
      this.bulkLen = -1;
      if (this.args.length === this.argc) return this.finish();
    }
    const buf = this.buf;
    const len = buf.length;
    if (this.argc === -1) {
      // Skip empty lines between commands like Redis does for inline "\r\n".
      if (this.pos >= len) return null;
      if (buf[this.pos] !== 42 /* * */) return this.inline();
      const whole = this.wholeCommand(buf, len);
      if (whole !== null) return whole;
      const r = this.readInt(this.pos + 1);
      if (r === INT_INCOMPLETE) {
        if (len - this.pos > MAX_HEADER) return new ProtocolError('ERR Protocol error: too big mbulk count string');
        return null;
      }
      const count = this.intValue;
      if (r === INT_INVALID || count > MAX_MULTIBULK) return new ProtocolError('ERR Protocol error: invalid multibulk length');
      if (count > UNAUTH_MULTIBULK && this.opts.authRequired?.()) {
        return new ProtocolError('ERR Protocol error: unauthenticated multibulk length');
      }
      this.pos = this.intNext;
      if (count <= 0) return this.next(); // "*0" / "*-1": an empty request, ignored like Redis
      this.argc = count;
      this.args = [];
    }
    while (this.args.length < this.argc) {
      if (this.bulkLen === -1) {
        if (this.pos >= len) return null;
        const c = buf[this.pos];
        if (c !== 36 /* $ */) return new ProtocolError(`ERR Protocol error: expected '$', got '${String.fromCharCode(c)}'`);
        const r = this.readInt(this.pos + 1);
        if (r === INT_INCOMPLETE) {
          if (len - this.pos > MAX_HEADER) return new ProtocolError('ERR Protocol error: too big bulk count string');
          return null;
        }
        const blen = this.intValue;
        if (r === INT_INVALID || blen < 0 || blen > this.opts.maxBulkLength) {
          return new ProtocolError('ERR Protocol error: invalid bulk length');
        }
        if (blen > UNAUTH_BULK && this.opts.authRequired?.()) {
          return new ProtocolError('ERR Protocol error: unauthenticated bulk length');
        }
        this.pos = this.intNext;
        this.bulkLen = blen;
      }
      const n = this.bulkLen;
      const avail = len - this.pos;
      if (avail < n + 2) {
        if (n >= BIG_BULK) {
          // Start assembling into a buffer of the final size; later pushes fill it.
          this.big = Buffer.allocUnsafe(n + 2);
          buf.copy(this.big, 0, this.pos, len);
          this.bigFill = avail;
          this.buf = Buffer.alloc(0);
          this.pos = 0;
        }
        return null;
      }
      const start = this.pos;
      // The two bytes after the data are skipped unchecked, as redis-server does: a client that
      // sends something else there gets the same replies from both.
      if (n < BIG_BULK) {
        // The command name and (for most commands) the key repeat request after request: reuse one
        // string per spelling (no allocation, and its hash stays cached for the Map lookups).
        this.args.push(this.args.length < 2 && n <= MAX_INTERN ? internName(buf, start, n) : buf.latin1Slice(start, start + n));
      } else {
        const copy = Buffer.allocUnsafe(n);
        buf.copy(copy, 0, start, start + n);
        this.args.push(copy);
      }
      this.pos = start + n + 2;
      this.bulkLen = -1;
    }
    return this.finish();
  }

  /**
   * Fast path: a multibulk command wholly in the buffer, every argument a well-formed small bulk.
   * Parsed with locals and committed only on success; anything else (partial input, big or huge
   * lengths, malformed or unauthenticated-limit input) returns null and the general path below
   * handles it from the same position, so behaviour is the general path's.
   */
  private wholeCommand(buf: Buffer, len: number): Arg[] | null {
    const start = this.pos;
    let i = start + 1;
    let count = 0;
    let c = 0;
    while (i < len && (c = buf[i]) >= 48 && c <= 57) {
      count = count * 10 + (c - 48);
      i++;
    }
    const digits = i - start - 1;
    if (digits === 0 || digits > 6 || c !== 13 || i + 1 >= len || buf[i + 1] !== 10) return null;
    if (count === 0 || (digits > 1 && buf[start + 1] === 48)) return null;
    if (count > UNAUTH_MULTIBULK && this.opts.authRequired?.()) return null;
    i += 2;
    const maxLen = this.opts.maxBulkLength;
    const args: Arg[] = [];
    for (let k = 0; k < count; k++) {
      if (i >= len || buf[i] !== 36 /* $ */) return null;
      const at = ++i;
      let n = 0;
      while (i < len && (c = buf[i]) >= 48 && c <= 57) {
        n = n * 10 + (c - 48);
        i++;
      }
      const d = i - at;
      if (d === 0 || d > 4 || c !== 13 || (d > 1 && buf[at] === 48)) return null;
      if (n >= BIG_BULK || n > maxLen) return null;
      const from = i + 2;
      const to = from + n;
      if (to + 1 >= len || buf[i + 1] !== 10 || buf[to] !== 13 || buf[to + 1] !== 10) return null;
      args.push(k < 2 && n <= MAX_INTERN ? internName(buf, from, n) : buf.latin1Slice(from, to));
      i = to + 2;
    }
    if (i >= len) {
      // Drop the consumed buffer so a big read is not retained by the parser.
      this.buf = EMPTY;
      this.pos = 0;
    } else this.pos = i;
    return args;
  }

  private finish(): Arg[] {
    const a = this.args;
    this.args = [];
    this.argc = -1;
    if (this.pos >= this.buf.length) {
      // Drop the consumed buffer so a big read is not retained by the parser.
      this.buf = Buffer.alloc(0);
      this.pos = 0;
    }
    return a;
  }

  /**
   * Parses a decimal integer from `at` up to CR LF into intValue/intNext (fields, so the hot path
   * allocates nothing). Returns INT_OK, INT_INCOMPLETE (line not complete yet) or INT_INVALID
   * (Redis's string2ll rules: optional '-', no '+', no leading zeros, not empty).
   */
  private readInt(at: number): number {
    const buf = this.buf;
    const len = buf.length;
    let i = at;
    let neg = false;
    let v = 0;
    let digits = 0;
    let bad = false;
    if (i < len && buf[i] === 45 /* - */) {
      neg = true;
      i++;
    }
    const firstDigit = i;
    for (; i < len; i++) {
      const c = buf[i];
      if (c === 13) break;
      if (c < 48 || c > 57) bad = true;
      else {
        v = v * 10 + (c - 48);
        digits++;
      }
    }
    if (i + 1 >= len) return INT_INCOMPLETE; // need CR and LF
    if (bad || digits === 0 || (digits > 1 && buf[firstDigit] === 48) || digits > 15) return INT_INVALID;
    this.intValue = neg ? -v : v;
    this.intNext = i + 2;
    return INT_OK;
  }

  /**
   * An inline command: one line split on whitespace with Redis's quoting rules. redis-server looks
   * for the newline with strchr, which stops at a NUL byte: a NUL before the newline leaves the
   * line unfinished, and the connection waits (answering nothing) until the unfinished line passes
   * the inline size limit. The same here, so a client sees the same from both.
   */
  private inline(): Arg[] | null | ProtocolError {
    const buf = this.buf;
    let nl = buf.indexOf(10, this.pos);
    if (nl !== -1 && hasNul(buf, this.pos, nl)) nl = -1;
    if (nl === -1) {
      if (buf.length - this.pos > MAX_INLINE) return new ProtocolError('ERR Protocol error: too big inline request');
      return null;
    }
    let end = nl;
    if (end > this.pos && buf[end - 1] === 13) end--;
    const from = this.pos;
    this.pos = nl + 1;
    // Most inline commands (PING, telnet input) have no quotes: split the bytes directly.
    const args = splitPlain(buf, from, end) ?? splitArgs(buf.latin1Slice(from, end));
    if (args === null) return new ProtocolError('ERR Protocol error: unbalanced quotes in request');
    if (args.length === 0) return this.pos >= buf.length ? this.finishEmpty() : this.next();
    return args;
  }

  private finishEmpty(): null {
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    return null;
  }
}

function hasNul(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] === 0) return true;
  return false;
}

/** isSpace for bytes: space, \t \n \v \f \r. */
const isSpaceByte = (c: number) => c === 32 || (c >= 9 && c <= 13);

/** Whitespace split of buf[from, end) when it holds no quote character; null when it does. */
function splitPlain(buf: Buffer, from: number, end: number): string[] | null {
  const out: string[] = [];
  let i = from;
  while (i < end) {
    const c = buf[i];
    if (isSpaceByte(c)) {
      i++;
      continue;
    }
    const at = i;
    for (; i < end; i++) {
      const b = buf[i];
      if (b === 34 /* " */ || b === 39 /* ' */) return null;
      if (isSpaceByte(b)) break;
    }
    out.push(out.length === 0 && i - at <= MAX_INTERN ? internName(buf, at, i - at) : buf.latin1Slice(at, i));
  }
  return out;
}

const HEX = '0123456789abcdefABCDEF';
const isSpace = (c: string) => c === ' ' || c === '\n' || c === '\r' || c === '\t' || c === '\v' || c === '\f';

/** Redis's sdssplitargs: whitespace-separated, "double quotes" with \xHH and \n escapes, 'single'. null = unbalanced. */
export function splitArgs(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    while (i < n && isSpace(line[i])) i++;
    if (i >= n) return out;
    let cur = '';
    let inDq = false;
    let inSq = false;
    for (;;) {
      const c = line[i];
      if (inDq) {
        if (i >= n) return null;
        if (c === '\\' && line[i + 1] === 'x' && i + 3 < n && HEX.includes(line[i + 2]) && HEX.includes(line[i + 3])) {
          cur += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 3;
        } else if (c === '\\' && i + 1 < n) {
          i++;
          const e = line[i];
          cur += e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : e === 'b' ? '\b' : e === 'a' ? '\x07' : e;
        } else if (c === '"') {
          // The closing quote must be followed by a space or the end.
          if (i + 1 < n && !isSpace(line[i + 1])) return null;
          i++;
          break;
        } else cur += c;
      } else if (inSq) {
        if (i >= n) return null;
        if (c === '\\' && line[i + 1] === "'") {
          i++;
          cur += "'";
        } else if (c === "'") {
          if (i + 1 < n && !isSpace(line[i + 1])) return null;
          i++;
          break;
        } else cur += c;
      } else {
        if (i >= n || isSpace(c)) break;
        if (c === '"') inDq = true;
        else if (c === "'") inSq = true;
        else cur += c;
      }
      i++;
    }
    out.push(cur);
  }
}
