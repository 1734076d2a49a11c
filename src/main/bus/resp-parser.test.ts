import { describe, expect, it } from 'vitest';
import { BIG_BULK, ProtocolError, RespParser, splitArgs, type Arg } from './resp-parser.js';

const opts = { maxBulkLength: 512 * 1024 * 1024 };

function encode(args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a, 'latin1') : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Feeds chunks, draining complete commands after each push. */
function parseChunks(chunks: Buffer[], p = new RespParser(opts)): (Arg[] | ProtocolError)[] {
  const out: (Arg[] | ProtocolError)[] = [];
  for (const ch of chunks) {
    p.push(ch);
    for (;;) {
      const r = p.next();
      if (r === null) break;
      out.push(r);
      if (r instanceof ProtocolError) return out;
    }
  }
  return out;
}

const asBytes = (a: Arg) => (typeof a === 'string' ? Buffer.from(a, 'latin1') : a);

describe('RespParser', () => {
  it('returns command names byte-exact through the name cache, including same-shape names', () => {
    // Same length, first and last byte: these share a cache slot and must never be confused.
    const names = ['SET', 'SXT', 'set', 'SET', 'S\xffT', 'SXT', '', 'GET', 'S\x00T', 'SET'];
    const wire = Buffer.concat(names.map((n) => encode([Buffer.from(n, 'latin1'), 'k'])));
    const got = parseChunks([wire]).map((r) => (r as Arg[])[0]);
    expect(got).toEqual(names);
    // Keys (the first argument) go through the same cache.
    const keyWire = Buffer.concat(names.map((n) => encode(['GET', Buffer.from(n, 'latin1')])));
    expect(parseChunks([keyWire]).map((r) => (r as Arg[])[1])).toEqual(names);
    // A name of the cache's maximum length and one just past it both come back whole.
    const long = ['A'.repeat(24), 'A'.repeat(25), `${'A'.repeat(23)}B`, 'A'.repeat(24)];
    expect(parseChunks(long.map((n) => encode([n]))).map((r) => (r as Arg[])[0])).toEqual(long);
  });

  it('parses a pipeline split at every byte boundary into the same commands', () => {
    const binary = Buffer.from([0, 1, 2, 13, 10, 255, 128, 36, 42]);
    const wire = Buffer.concat([encode(['SET', 'k', 'v']), encode(['GET', binary]), Buffer.from('PING\r\n'), encode(['LPUSH', 'q', ''])]);
    const whole = parseChunks([wire]);
    expect(whole).toHaveLength(4);
    for (let cut = 1; cut < wire.length; cut++) {
      const split = parseChunks([wire.subarray(0, cut), wire.subarray(cut)]);
      expect(split).toEqual(whole);
    }
    // And one byte at a time.
    const bytes = [...wire].map((b) => Buffer.from([b]));
    expect(parseChunks(bytes)).toEqual(whole);
    expect((whole[1] as Arg[]).map(asBytes)[1].equals(binary)).toBe(true);
  });

  it('keeps small bulks as latin1 strings and big ones as Buffers, byte-exact', () => {
    const small = Buffer.alloc(BIG_BULK - 1, 0xe9);
    const big = Buffer.alloc(BIG_BULK * 300 + 7);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const [cmd] = parseChunks([encode(['SET', small, big])]) as Arg[][];
    expect(typeof cmd[1]).toBe('string');
    expect(Buffer.isBuffer(cmd[2])).toBe(true);
    expect(asBytes(cmd[1]).equals(small)).toBe(true);
    expect((cmd[2] as Buffer).equals(big)).toBe(true);
  });

  it('assembles a big bulk arriving in many small reads without re-parsing', () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 'x');
    const wire = Buffer.concat([encode(['SET', 'k', big]), encode(['PING'])]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < wire.length; i += 65536) chunks.push(wire.subarray(i, i + 65536));
    const t0 = performance.now();
    const out = parseChunks(chunks) as Arg[][];
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(out).toHaveLength(2);
    expect((out[0][2] as Buffer).equals(big)).toBe(true);
    expect(out[1]).toEqual(['PING']);
  });

  it('parses inline commands with quoting like redis-cli / telnet', () => {
    const out = parseChunks([Buffer.from('PING\r\nset "a b" \'c d\'\nECHO "x\\x41\\n"\r\n\r\n  \r\nGET k\r\n')]);
    expect(out).toEqual([['PING'], ['set', 'a b', 'c d'], ['ECHO', 'xA\n'], ['GET', 'k']]);
    expect(splitArgs('"unterminated')).toBeNull();
    expect(splitArgs('"a"b')).toBeNull();
  });

  it.each([
    ['*abc\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*2147483648\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*1\r\n$-5\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*1\r\n$abc\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*1\r\nx3\r\n', "ERR Protocol error: expected '$', got 'x'"],
    ['"abc\r\n', 'ERR Protocol error: unbalanced quotes in request'],
  ])('rejects malformed frame %j', (wire, msg) => {
    const out = parseChunks([Buffer.from(wire)]);
    expect(out.at(-1)).toBeInstanceOf(ProtocolError);
    expect((out.at(-1) as ProtocolError).message).toBe(msg);
  });

  it("skips the two bytes after bulk data unchecked, like redis-server", () => {
    expect(parseChunks([Buffer.from('*1\r\n$4\r\nPINGxx*2\r\n$4\r\nECHO\r\n$3\r\nabc\n*')])).toEqual([['PING'], ['ECHO', 'abc']]);
    const big = 'b'.repeat(2000);
    expect(parseChunks([Buffer.from(`*2\r\n$4\r\nECHO\r\n$2000\r\n${big.slice(0, 10)}`), Buffer.from(`${big.slice(10)}!!`)])).toEqual([
      ['ECHO', Buffer.from(big)],
    ]);
  });

  it('accepts multibulk counts up to 2^31-1 once authenticated (arguments are collected as they come)', () => {
    const out = parseChunks([Buffer.from('*2000000\r\n$4\r\nPING\r\n')]);
    expect(out).toEqual([]);
  });

  it('leaves an inline line with a NUL before its newline unfinished until it passes the inline limit', () => {
    const p = new RespParser({ maxBulkLength: 1e9 });
    expect(parseChunks([Buffer.from('PING\r\nECHO a\0b\r\nPING\r\n')], p)).toEqual([['PING']]);
    expect(parseChunks([Buffer.from('*1\r\n$4\r\nPING\r\n')], p)).toEqual([]);
    const out = parseChunks([Buffer.alloc(64 * 1024, 'x')], p);
    expect((out.at(-1) as ProtocolError).message).toBe('ERR Protocol error: too big inline request');
  });

  it('enforces maxBulkLength and the unauthenticated limits', () => {
    const p = new RespParser({ maxBulkLength: 100 });
    expect((parseChunks([Buffer.from('*1\r\n$101\r\n')], p)[0] as ProtocolError).message).toBe(
      'ERR Protocol error: invalid bulk length',
    );
    const unauth = new RespParser({ maxBulkLength: 1e9, authRequired: () => true });
    expect((parseChunks([Buffer.from('*11\r\n')], unauth)[0] as ProtocolError).message).toBe(
      'ERR Protocol error: unauthenticated multibulk length',
    );
    const unauth2 = new RespParser({ maxBulkLength: 1e9, authRequired: () => true });
    expect((parseChunks([Buffer.from('*1\r\n$20000\r\n')], unauth2)[0] as ProtocolError).message).toBe(
      'ERR Protocol error: unauthenticated bulk length',
    );
  });

  it('gives the same result for whole commands (fast path) as fed byte by byte (general path)', () => {
    const cases: [string, Partial<typeof opts> & { authRequired?: () => boolean }][] = [
      ['*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$0\r\n\r\n', {}],
      ['*01\r\n$1\r\na\r\n', {}],
      ['*1\r\n$01\r\na\r\n', {}],
      ['*1\r\n$1\r\nab\r\n', {}],
      ['*1\r\n$1\r\na\n\n', {}],
      ['*1\r\n$-1\r\n', {}],
      ['*1\r\n$+1\r\na\r\n', {}],
      ['*2\r\n$1\r\na\r\n:1\r\n', {}],
      ['*-1\r\n*1\r\n$1\r\nx\r\n', {}],
      [`*1\r\n$1500\r\n${'b'.repeat(1500)}\r\n`, {}],
      ['*1\r\n$4\r\nabcd\r\n', { maxBulkLength: 3 }],
      [`*12\r\n${'$1\r\nz\r\n'.repeat(12)}`, { authRequired: () => true }],
      [`*12\r\n${'$1\r\nz\r\n'.repeat(12)}`, { authRequired: () => false }],
    ];
    for (const [text, o] of cases) {
      const wire = Buffer.from(text, 'latin1');
      const whole = parseChunks([wire], new RespParser({ ...opts, ...o }));
      const bytes = [...wire].map((b) => Buffer.from([b]));
      expect(parseChunks(bytes, new RespParser({ ...opts, ...o })), text).toEqual(whole);
      expect(whole.length, text).toBeGreaterThan(0);
    }
  });

  it('splits quote-free inline lines exactly like splitArgs', () => {
    const lines = ['PING', '  SET  k\tv \x0b\f x', 'GET \xff\x80', 'a\rb', '   ', 'ECHO "q"', "ECHO it's"];
    for (const line of lines) {
      const got = parseChunks([Buffer.from(`${line}\n`, 'latin1')]);
      const want = splitArgs(line);
      if (want === null) expect(got[0]).toBeInstanceOf(ProtocolError);
      else expect(got, JSON.stringify(line)).toEqual(want.length ? [want] : []);
    }
  });

  it('rejects a header line that never ends', () => {
    const out = parseChunks([Buffer.from('*1'), Buffer.alloc(70 * 1024, '1')]);
    expect((out[0] as ProtocolError).message).toBe('ERR Protocol error: too big mbulk count string');
    const inline = parseChunks([Buffer.alloc(70 * 1024, 'a')]);
    expect((inline[0] as ProtocolError).message).toBe('ERR Protocol error: too big inline request');
  });

  it('ignores empty multibulks and resumes mid-command after a pull stops', () => {
    const p = new RespParser(opts);
    p.push(Buffer.concat([Buffer.from('*0\r\n'), encode(['A']), encode(['B'])]));
    expect(p.next()).toEqual(['A']);
    // The caller may stop here (blocked client) and come back later.
    p.push(encode(['C']));
    expect(p.next()).toEqual(['B']);
    expect(p.next()).toEqual(['C']);
    expect(p.next()).toBeNull();
  });
});
