import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BusServer, startBus } from './index.js';
import { cmd, RawConn } from '../../../test/main/bus/lib/raw-conn.js';

let bus: BusServer;
const cleanup: Array<() => unknown> = [];
const raw = async (port = bus.port) => {
  const c = await RawConn.open(port);
  cleanup.push(() => c.close());
  return c;
};
const redis = (port = bus.port, password?: string) => {
  const r = new Redis({ port, password, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  cleanup.push(() => r.disconnect());
  return r;
};

beforeAll(async () => {
  bus = await startBus({ port: 0 });
});
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});
afterAll(async () => {
  await bus.close();
});

describe('bus protocol handling', () => {
  it('answers inline commands like telnet', async () => {
    const c = await raw();
    await c.expect('PING\r\n', '+PONG\r\n');
    await c.expect('SET greeting "hello world"\r\nGET greeting\n', '+OK\r\n$11\r\nhello world\r\n');
  });

  it('writes all replies of one read with one write', async () => {
    const c = await raw();
    const writes: number[] = [];
    c.socket.on('data', (d) => writes.push(d.length));
    c.write(cmd('PING').repeat(500));
    await c.until((o) => o.length >= 500 * 7);
    // One socket write from the server usually arrives as one chunk on loopback.
    expect(writes.length).toBeLessThanOrEqual(3);
    expect(c.take()).toBe('+PONG\r\n'.repeat(500));
  });

  it('replies a protocol error and closes only that connection', async () => {
    const bad = await raw();
    const good = await raw();
    bad.write('*abc\r\n');
    expect(await bad.waitClosed()).toBe('-ERR Protocol error: invalid multibulk length\r\n');
    const bad2 = await raw();
    bad2.write('*1\r\n$-5\r\n');
    expect(await bad2.waitClosed()).toBe('-ERR Protocol error: invalid bulk length\r\n');
    const bad3 = await raw();
    bad3.write('*1\r\nx\r\n');
    expect(await bad3.waitClosed()).toBe("-ERR Protocol error: expected '$', got 'x'\r\n");
    await good.expect(cmd('PING'), '+PONG\r\n');
  });

  it('uses Redis 7 texts for unknown commands and wrong arity', async () => {
    const c = await raw();
    await c.expect(cmd('foo', 'a', 'b'), "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n");
    await c.expect(cmd('GET'), "-ERR wrong number of arguments for 'get' command\r\n");
    await c.expect(cmd('SELECT', '16'), '-ERR DB index is out of range\r\n');
    // RESP2 and RESP3 are spoken; any other version is refused like Redis 7.
    await c.expect(cmd('HELLO', '4'), '-NOPROTO unsupported protocol version\r\n');
    await c.expect(cmd('HELLO', '0'), '-NOPROTO unsupported protocol version\r\n');
  });

  it('MULTI: queues, aborts on queuing errors, rejects nesting, WATCH detects changes', async () => {
    const c = await raw();
    await c.expect(cmd('EXEC'), '-ERR EXEC without MULTI\r\n');
    await c.expect(cmd('MULTI') + cmd('SET', 'tx', '1') + cmd('INCR', 'tx') + cmd('EXEC'), '+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n:2\r\n');
    await c.expect(cmd('MULTI') + cmd('MULTI'), '+OK\r\n-ERR MULTI calls can not be nested\r\n');
    await c.expect(cmd('NOPE') + cmd('EXEC'), "-ERR unknown command 'NOPE', with args beginning with: \r\n-EXECABORT Transaction discarded because of previous errors.\r\n");
    const other = redis();
    await c.expect(cmd('WATCH', 'wk'), '+OK\r\n');
    await other.set('wk', 'changed');
    await c.expect(cmd('MULTI') + cmd('SET', 'wk', 'mine') + cmd('EXEC'), '+OK\r\n+QUEUED\r\n*-1\r\n');
    expect(await other.get('wk')).toBe('changed');
  });

  it('pub/sub: channels, patterns, subscribed-mode rules, PING reply', async () => {
    const sub = await raw();
    await sub.expect(cmd('SUBSCRIBE', 'news'), '*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n');
    await sub.expect(cmd('PSUBSCRIBE', 'n[aeiou]ws*'), '*3\r\n$10\r\npsubscribe\r\n$11\r\nn[aeiou]ws*\r\n:2\r\n');
    const pub = redis();
    expect(await pub.publish('news', 'hi')).toBe(2);
    expect(await sub.until((o) => o.includes('pmessage') && o.endsWith('hi\r\n'))).toBe(
      '*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n*4\r\n$8\r\npmessage\r\n$11\r\nn[aeiou]ws*\r\n$4\r\nnews\r\n$2\r\nhi\r\n',
    );
    sub.take();
    await sub.expect(cmd('PING'), '*2\r\n$4\r\npong\r\n$0\r\n\r\n');
    await sub.expect(
      cmd('GET', 'x'),
      "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    expect(await pub.call('pubsub', 'numsub', 'news', 'none')).toEqual(['news', 1, 'none', 0]);
    expect(await pub.call('pubsub', 'numpat')).toBe(1);
    await sub.expect(cmd('UNSUBSCRIBE'), '*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:1\r\n');
    sub.close();
    await new Promise((r) => setTimeout(r, 30));
    expect(await pub.publish('news', 'nobody')).toBe(0);
  });

  it('survives handler exceptions and hostile input without crashing', async () => {
    const c = await raw();
    c.write(Buffer.from([0x2a, 0x31, 0x0d, 0x0a, 0x24, 0x31, 0x0d, 0x0a, 0xff, 0x0d, 0x0a]));
    expect(await c.until((o) => o.endsWith('\r\n'))).toBe("-ERR unknown command '\u00ff', with args beginning with: \r\n");
    c.take();
    await c.expect(cmd('KEYS', '*[[[[[*a*a*a*a*a*a*a*a*a*b'), '*0\r\n');
    await c.expect(cmd('PING'), '+PONG\r\n');
  });

  it('node-redis (RESP2) and ioredis both connect and work', async () => {
    // node-redis 6 defaults to RESP3; the bus speaks RESP2 only (HELLO 3 -> NOPROTO), so RESP: 2.
    const nr = createClient({ RESP: 2, socket: { port: bus.port, host: '127.0.0.1' } });
    await nr.connect();
    cleanup.push(() => nr.destroy());
    await nr.set('nr', 'v');
    expect(await nr.get('nr')).toBe('v');
    expect(await nr.hSet('nh', { a: '1', b: '2' })).toBe(2);
    expect(await nr.hGetAll('nh')).toEqual({ a: '1', b: '2' });
    const io = redis();
    expect(await io.info('server')).toContain('redis_version:7.0.15');
  });
});

describe('bus limits, auth and snapshot', () => {
  it('requires AUTH when a password is set, with Redis texts', async () => {
    const pw = 'p@ss word/1';
    const b = await startBus({ port: 0, password: pw });
    cleanup.push(() => b.close());
    expect(b.url()).toBe(`redis://:${encodeURIComponent(pw)}@127.0.0.1:${b.port}`);
    const c = await raw(b.port);
    await c.expect(cmd('GET', 'k'), '-NOAUTH Authentication required.\r\n');
    await c.expect(cmd('AUTH', 'wrong'), '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    await c.expect(cmd('AUTH', pw) + cmd('PING'), '+OK\r\n+PONG\r\n');
    const io = redis(b.port, pw);
    expect(await io.ping()).toBe('PONG');
    const c2 = await raw();
    await c2.expect(
      cmd('AUTH', 'x'),
      '-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n',
    );
  });

  it('enforces maxClients and maxBulkLength', async () => {
    const b = await startBus({ port: 0, maxClients: 2, maxBulkLength: 1000 });
    cleanup.push(() => b.close());
    const a1 = await raw(b.port);
    await a1.expect(cmd('PING'), '+PONG\r\n');
    const a2 = await raw(b.port);
    await a2.expect(cmd('PING'), '+PONG\r\n');
    const a3 = await raw(b.port);
    expect(await a3.waitClosed()).toBe('-ERR max number of clients reached\r\n');
    a1.write('*2\r\n$3\r\nGET\r\n$1001\r\n');
    expect(await a1.waitClosed()).toBe('-ERR Protocol error: invalid bulk length\r\n');
    await a2.expect(cmd('PING'), '+PONG\r\n');
  });

  it('saves on close, loads on start, keeps TTLs, and survives a corrupt file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bus-snap-'));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'bus.snap');
    const b1 = await startBus({ port: 0, snapshotPath: file });
    const r1 = redis(b1.port);
    const big = Buffer.alloc(5000, 0xab);
    await r1.set('s', 'v\u00ff');
    await r1.set('big', big);
    await r1.set('ttl', 'x', 'EX', 1000);
    await r1.set('short', 'x', 'PX', 1);
    await r1.rpush('l', 'a', 'b');
    await r1.hset('h', 'f', 'v');
    await r1.sadd('set', 'm1', 'm2');
    await r1.xadd('st', '5-1', 'f', 'v');
    await r1.xgroup('CREATE', 'st', 'g', '0');
    await r1.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 'st', '>');
    r1.disconnect();
    await b1.close();
    expect(fs.existsSync(file)).toBe(true);

    const b2 = await startBus({ port: 0, snapshotPath: file });
    const r2 = redis(b2.port);
    expect(await r2.get('s')).toBe('v\u00ff');
    expect((await r2.getBuffer('big'))!.equals(big)).toBe(true);
    expect(await r2.ttl('ttl')).toBeGreaterThan(990);
    expect(await r2.exists('short')).toBe(0);
    expect(await r2.lrange('l', 0, -1)).toEqual(['a', 'b']);
    expect(await r2.hgetall('h')).toEqual({ f: 'v' });
    expect((await r2.smembers('set')).sort()).toEqual(['m1', 'm2']);
    expect(await r2.xrange('st', '-', '+')).toEqual([['5-1', ['f', 'v']]]);
    expect(await r2.xpending('st', 'g')).toEqual([1, '5-1', '5-1', [['c', '1']]]);
    r2.disconnect();
    await b2.close();

    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 30] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const logs: string[] = [];
    const b3 = new BusServer({ port: 0, snapshotPath: file });
    b3.core.log = (l) => logs.push(l);
    await b3.listen();
    expect(b3.stats().keys).toBe(0);
    expect(logs.join('\n')).toMatch(/unreadable.*checksum.*corrupt-/);
    expect(fs.readdirSync(dir).some((f) => f.startsWith('bus.snap.corrupt-'))).toBe(true);
    await b3.close();
  });

  it('pauses reading while a slow consumer lets a huge reply back up', async () => {
    const r = redis();
    await r.set('blob', Buffer.alloc(512 * 1024, 1));
    const c = await raw();
    c.socket.pause(); // a client that does not read
    c.write(cmd('GET', 'blob').repeat(400)); // ~200 MB of replies if fully produced
    await new Promise((res) => setTimeout(res, 300));
    const client = [...bus.core.clients.values()].find((x) => x.parser.pending > 0);
    // The server stopped producing: far less than 200 MB is queued in the socket.
    const queued = client ? client.socket.writableLength : 0;
    expect(queued).toBeLessThan(64 * 1024 * 1024);
    expect(client).toBeDefined();
    c.close();
  });
});
