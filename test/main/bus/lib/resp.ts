/**
 * Minimal RESP framing for the raw-socket conformance layer: encode a command as a multibulk request,
 * and find where one complete reply ends in a byte buffer (RESP2, plus the RESP3 types a real
 * redis-server sends after HELLO 3) so replies can be compared byte for byte.
 */

export function encodeCommand(args: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

function lineEnd(buf: Buffer, from: number): number {
  const i = buf.indexOf('\r\n', from);
  return i;
}

/**
 * Returns the offset just past the reply starting at `at`, or -1 if the buffer does not yet hold
 * all of it. Throws on a byte that starts no RESP type (the server sent something malformed).
 */
export function replyEnd(buf: Buffer, at: number): number {
  if (at >= buf.length) return -1;
  const type = String.fromCharCode(buf[at]);
  const eol = lineEnd(buf, at + 1);
  if (eol < 0) return -1;
  const header = buf.toString('latin1', at + 1, eol);
  const afterHeader = eol + 2;
  switch (type) {
    case '+':
    case '-':
    case ':':
    case '_':
    case ',':
    case '#':
    case '(':
      return afterHeader;
    case '$':
    case '=':
    case '!': {
      const len = Number(header);
      if (len < 0) return afterHeader;
      const end = afterHeader + len + 2;
      return end <= buf.length ? end : -1;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      const n = Number(header);
      if (n < 0) return afterHeader;
      const items = type === '%' || type === '|' ? n * 2 : n;
      let pos = afterHeader;
      for (let i = 0; i < items; i++) {
        pos = replyEnd(buf, pos);
        if (pos < 0) return -1;
      }
      // An attribute precedes the reply it annotates: that reply belongs to the same frame.
      return type === '|' ? replyEnd(buf, pos) : pos;
    }
    default:
      throw new Error(`not a RESP reply at offset ${at}: ${JSON.stringify(buf.toString('latin1', at, at + 40))}`);
  }
}

/** Splits a buffer into its complete replies; `rest` is the incomplete tail. */
export function splitReplies(buf: Buffer): { replies: Buffer[]; rest: Buffer } {
  const replies: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const end = replyEnd(buf, pos);
    if (end < 0) break;
    replies.push(buf.subarray(pos, end));
    pos = end;
  }
  return { replies, rest: buf.subarray(pos) };
}

/** Readable form of raw bytes for assertion diffs: CR/LF shown escaped, one reply per line. */
export function showBytes(buf: Buffer): string {
  return buf.toString('latin1').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}
