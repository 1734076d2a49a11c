/**
 * Differential conformance at the byte level, over bare sockets: the exact RESP encoding of every
 * reply type, pipelining, inline commands, pub/sub push frames and the subscribed-mode restriction,
 * QUIT, and malformed input (the protocol error text must match redis-server's, the offending
 * connection must be closed, other connections must keep working). HELLO 3 is checked on its own
 * at the end (the bus speaks RESP2 only).
 */
import { describe, expect, it } from 'vitest';
import { useConformance, sleep } from '../lib/differential.js';
import { RawConn } from '../lib/raw-conn.js';
import { showBytes } from '../lib/resp.js';
import type { Target } from '../lib/targets.js';

interface Wire {
  open(label: string): Promise<WireConn>;
  record(step: string, value: unknown): void;
}
interface WireConn {
  /** Sends a multibulk command and records its `n` replies' bytes. */
  cmd(...args: string[]): Promise<void>;
  /** Writes bytes as they are and records the next `n` replies. */
  raw(bytes: string, n: number): Promise<void>;
  /** Writes bytes as they are and records everything until the server closes (and that it closed). */
  rawUntilClose(bytes: string): Promise<void>;
  /** Records the next `n` replies (push frames) without sending anything. */
  read(n: number): Promise<void>;
  send(...args: string[]): void;
}
interface WireCase {
  name: string;
  run(w: Wire): Promise<void>;
}

async function runWire(t: Target, c: WireCase): Promise<Array<[string, unknown]>> {
  const log: Array<[string, unknown]> = [];
  const conns: RawConn[] = [];
  const w: Wire = {
    record: (step, value) => void log.push([step, value]),
    async open(label) {
      const conn = await RawConn.open(t.port);
      conns.push(conn);
      const rec = async (step: string, n: number) => {
        try {
          log.push([`${label}> ${step}`, showBytes(await conn.read(n))]);
        } catch (err) {
          log.push([`${label}> ${step}`, `READ FAILED: ${(err as Error).message}`]);
        }
      };
      return {
        send: (...args) => conn.send(...args),
        cmd: (...args) => (conn.send(...args), rec(args.join(' '), 1)),
        raw: (bytes, n) => (conn.write(bytes), rec(showBytes(Buffer.from(bytes)), n)),
        read: (n) => rec('(read)', n),
        async rawUntilClose(bytes) {
          conn.write(bytes);
          const { data, closed } = await conn.readUntilClose(2000);
          log.push([`${label}> ${showBytes(Buffer.from(bytes))}`, { data: showBytes(Buffer.from(data, 'latin1')), closed }]);
        },
      };
    },
  };
  try {
    await c.run(w);
  } finally {
    for (const conn of conns) conn.close();
  }
  return log;
}

const cases: WireCase[] = [
  {
    name: 'reply encodings: simple, error, integer, bulk, nil bulk, nil array, empty array, nested, error in array',
    async run(w) {
      const c = await w.open('c1');
      for (const cmd of [
        ['PING'],
        ['SET', 'k', 'héllo'],
        ['GET', 'k'],
        ['GET', 'missing'],
        ['SET', 'e', ''],
        ['GET', 'e'],
        ['INCRBY', 'n', '9223372036854775806'],
        ['INCR', 'n'],
        ['DECRBY', 'm', '0'],
        ['LRANGE', 'nolist', '0', '-1'],
        ['LPOP', 'nolist', '2'],
        ['BLPOP', 'nolist', '0.01'],
        ['RPUSH', 'l', 'a', '', 'c'],
        ['LRANGE', 'l', '0', '-1'],
        ['MGET', 'k', 'missing', 'e'],
        ['XADD', 's', '1-1', 'f', 'v', 'g', ''],
        ['XRANGE', 's', '-', '+'],
        ['XREAD', 'STREAMS', 's', '0'],
        ['MULTI'],
        ['INCR', 'k'],
        ['GET', 'k'],
        ['EXEC'],
        ['GET', 'l'],
        ['TTL', 'missing'],
        ['nosuch', 'Arg'],
        ['GeT', 'k'],
      ]) {
        await c.cmd(...cmd);
      }
    },
  },
  {
    name: 'pipelining: one write, many replies in order',
    async run(w) {
      const c = await w.open('c1');
      const cmds = ['SET a 1', 'INCR a', 'GET a', 'NOSUCH', 'LPUSH l x', 'LPOP l', 'LPOP l', 'PING', 'ECHO end'];
      const bytes = cmds.map((s) => s.split(' ')).map((a) => `*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`);
      await c.raw(bytes.join(''), cmds.length);
      // The same pipeline split at awkward places (inside a length, inside a bulk, between CR and LF).
      const all = bytes.join('');
      await c.raw(all.slice(0, 3), 0);
      await sleep(20);
      await c.raw(all.slice(3, 17), 0);
      await sleep(20);
      await c.raw(all.slice(17, all.indexOf('\n', 40)), 0);
      await sleep(20);
      await c.raw(all.slice(all.indexOf('\n', 40)), cmds.length);
    },
  },
  {
    name: 'inline commands: spaces, quotes, escapes, bare LF, empty lines',
    async run(w) {
      const c = await w.open('c1');
      await c.raw('PING\r\n', 1);
      await c.raw('ping\n', 1);
      await c.raw('  ECHO   spaced   \r\n', 1);
      await c.raw('\r\n\r\nPING\r\n', 1);
      await c.raw('SET k "a b\\tc\\x41\\n"\r\n', 1);
      await c.raw('GET k\r\n', 1);
      await c.raw("SET q 'single \\' quote'\r\n", 1);
      await c.raw('GET q\r\n', 1);
      await c.raw('ECHO ""\r\n', 1);
      await c.raw('PING\r\nECHO two\r\nGET k\r\n', 3);
      await c.raw('NOSUCH inline arg\r\n', 1);
      await c.raw('GET\r\n', 1);
      // Empty and negative multibulk counts are skipped silently, like blank lines.
      await c.raw('*0\r\n*-1\r\nPING\r\n', 1);
    },
  },
  {
    name: 'malformed multibulk: protocol error text, connection closed, others unaffected',
    async run(w) {
      const bystander = await w.open('bystander');
      await bystander.cmd('SET', 'survivor', 'yes');
      for (const bad of [
        '*abc\r\n',
        '*1\r\nfoo\r\n',
        '*1\r\n$abc\r\n',
        '*1\r\n$-5\r\n',
        '*2\r\n$3\r\nGET\r\n:1\r\n',
        '*1\r\n$999999999999\r\n',
        'PING\r\n*1\r\n$4\r\nPING\r\n*x\r\n',
        'SET k "unbalanced\r\n',
        "SET k 'a'b\r\n",
        'SET k "a"b\r\n',
      ]) {
        const c = await w.open('bad');
        await c.rawUntilClose(bad);
        await bystander.cmd('GET', 'survivor');
      }
    },
  },
  {
    name: 'pub/sub frames, subscribed-mode restriction, PING in subscribed mode, leaving it',
    async run(w) {
      const sub = await w.open('sub');
      const pub = await w.open('pub');
      sub.send('SUBSCRIBE', 'a', 'b');
      await sub.read(2);
      await sub.cmd('PSUBSCRIBE', 'p*');
      await pub.cmd('PUBLISH', 'a', 'hello');
      await pub.cmd('PUBLISH', 'pq', 'pattern');
      await sub.read(2);
      await sub.cmd('GET', 'k');
      await sub.cmd('SET', 'k', 'v');
      await sub.cmd('PING');
      await sub.cmd('PING', 'arg');
      await sub.cmd('SUBSCRIBE', 'a');
      sub.send('UNSUBSCRIBE', 'b', 'a', 'never');
      await sub.read(3);
      await sub.cmd('GET', 'k');
      await sub.cmd('PUNSUBSCRIBE', 'p*');
      await sub.cmd('PING');
      await sub.cmd('UNSUBSCRIBE');
      await sub.cmd('PUNSUBSCRIBE');
      await sub.cmd('GET', 'k');
      await pub.cmd('PUBSUB', 'NUMPAT');
    },
  },
  {
    name: 'QUIT replies +OK and closes',
    async run(w) {
      const c = await w.open('c1');
      await c.rawUntilClose('*1\r\n$4\r\nQUIT\r\n');
      const d = await w.open('c2');
      await d.rawUntilClose('PING\r\nQUIT\r\nPING\r\n');
    },
  },
];

describe('raw socket', () => {
  const conf = useConformance();

  it.each(cases)('$name', async (c) => {
    const targets = conf.targets();
    const logs: Array<Array<[string, unknown]>> = [];
    for (const t of targets) {
      const flush = await RawConn.open(t.port);
      await flush.call('FLUSHALL');
      flush.close();
      logs.push(await runWire(t, c));
    }
    if (process.env.BUS_CONFORMANCE_DUMP) console.log(`${c.name}\n${logs[0].map((e) => JSON.stringify(e)).join('\n')}`);
    for (let i = 1; i < targets.length; i++) {
      expect(logs[i], `${c.name}: ${targets[i].name} vs ${targets[0].name}`).toEqual(logs[0]);
    }
  });

  // Not differential by design: redis-server switches to RESP3, the bus only speaks RESP2 and
  // answers NOPROTO (what ioredis 6 expects in order to fall back to RESP2). A target that did
  // implement RESP3 must then answer exactly like redis-server.
  it('HELLO 3: RESP3 on redis-server; the bus answers it identically or with NOPROTO and stays on RESP2', async () => {
    const [ref, ...others] = conf.targets();
    const hello3 = async (t: Target) => {
      const c = await RawConn.open(t.port);
      try {
        const hello = await c.call('HELLO', '3');
        const after = [await c.call('PING'), await c.call('GET', 'missing'), await c.call('HELLO', '3', 'SETNAME', 'x y')];
        return { hello, after };
      } finally {
        c.close();
      }
    };
    const r = await hello3(ref);
    expect(r.hello).toMatch(/^%7\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n/);
    expect(r.after.slice(0, 2)).toEqual(['+PONG\r\n', '_\r\n']);
    for (const t of others) {
      const o = await hello3(t);
      if (o.hello.startsWith('-')) {
        expect(o.hello, t.name).toBe('-NOPROTO unsupported protocol version\r\n');
        expect(o.after.slice(0, 2), t.name).toEqual(['+PONG\r\n', '$-1\r\n']);
      } else {
        expect(o.hello.replace(/:\d+\r\n/g, ':N\r\n').replace(/7\.\d+\.\d+/, 'V'), t.name).toBe(r.hello.replace(/:\d+\r\n/g, ':N\r\n').replace(/7\.\d+\.\d+/, 'V'));
        expect(o.after, t.name).toEqual(r.after);
      }
    }
  });
});
