import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBus, type BusServer } from './index.js';
import { cmd, RawConn } from '../../../test/main/bus/lib/raw-conn.js';

let bus: BusServer;
const conns: Array<{ close(): void } | Redis> = [];
const redis = () => {
  const r = new Redis({ port: bus.port, lazyConnect: false, maxRetriesPerRequest: 0 });
  conns.push(r);
  return r;
};
const raw = async (port = bus.port) => {
  const c = await RawConn.open(port);
  conns.push(c);
  return c;
};

beforeAll(async () => {
  bus = await startBus({ port: 0 });
});
afterEach(() => {
  for (const c of conns.splice(0)) {
    if (c instanceof Redis) c.disconnect();
    else c.close();
  }
});
afterAll(async () => {
  await bus.close();
});

describe('bus server: strings, keys, expiry', () => {
  it('round-trips binary and big values through ioredis', async () => {
    const r = redis();
    const bin = Buffer.from([0, 255, 13, 10, 128, 1]);
    const big = Buffer.alloc(200_000, 7);
    await r.set('bin', bin);
    await r.set('big', big);
    expect((await r.getBuffer('bin'))!.equals(bin)).toBe(true);
    expect((await r.getBuffer('big'))!.equals(big)).toBe(true);
    expect(await r.strlen('big')).toBe(200_000);
    expect(await r.append('bin', 'zz')).toBe(8);
  });

  it('implements SET options and TTL semantics', async () => {
    const r = redis();
    expect(await r.set('s1', 'a', 'NX')).toBe('OK');
    expect(await r.set('s1', 'b', 'NX')).toBeNull();
    expect(await r.set('s1', 'c', 'XX', 'GET')).toBe('a');
    expect(await r.ttl('s1')).toBe(-1);
    expect(await r.ttl('missing')).toBe(-2);
    await r.set('s1', 'd', 'PX', 100_000);
    expect(await r.pttl('s1')).toBeGreaterThan(99_000);
    await r.set('s1', 'e', 'KEEPTTL');
    expect(await r.ttl('s1')).toBeGreaterThan(98);
    await r.set('s1', 'f');
    expect(await r.ttl('s1')).toBe(-1);
    await expect(r.set('s1', 'x', 'EX', 0)).rejects.toThrow("ERR invalid expire time in 'set' command");
    await r.set('gone', 'x', 'PX', 30);
    await new Promise((res) => setTimeout(res, 60));
    expect(await r.get('gone')).toBeNull();
    expect(await r.exists('gone')).toBe(0);
  });

  it('actively expires keys nobody reads', async () => {
    const r = redis();
    for (let i = 0; i < 50; i++) await r.set(`vol:${i}`, 'x', 'PX', 20);
    await new Promise((res) => setTimeout(res, 400));
    // DBSIZE does not touch keys, so only the active cycle can have removed them.
    const volatileLeft = [...Array(50).keys()].filter((i) => bus.core.dbs[0].data.has(`vol:${i}`)).length;
    expect(volatileLeft).toBe(0);
  });

  it('INCR family keeps exact 64-bit integers and Redis errors', async () => {
    const r = redis();
    await r.set('n', '9223372036854775806');
    const c = await raw();
    await c.expect(cmd('INCR', 'n'), ':9223372036854775807\r\n');
    await expect(r.incr('n')).rejects.toThrow('ERR increment or decrement would overflow');
    expect(await r.get('n')).toBe('9223372036854775807');
    await r.set('t', 'abc');
    await expect(r.incr('t')).rejects.toThrow('ERR value is not an integer or out of range');
    await r.rpush('lst', 'a');
    await expect(r.get('lst')).rejects.toThrow('WRONGTYPE Operation against a key holding the wrong kind of value');
  });

  it('SCAN returns every key present throughout the iteration, even with concurrent changes', async () => {
    const r = redis();
    await r.flushdb();
    const stable = new Set<string>();
    for (let i = 0; i < 500; i++) {
      await r.set(`stable:${i}`, '1');
      stable.add(`stable:${i}`);
    }
    const seen = new Set<string>();
    let cursor = '0';
    let round = 0;
    do {
      const [next, keys] = await r.scan(cursor, 'COUNT', 37);
      keys.forEach((k) => seen.add(k));
      // Churn: add and remove other keys mid-iteration.
      await r.set(`churn:${round}`, '1');
      if (round > 2) await r.del(`churn:${round - 2}`);
      cursor = next;
      round++;
    } while (cursor !== '0');
    for (const k of stable) expect(seen.has(k)).toBe(true);
    const [, typed] = await r.scan('0', 'MATCH', 'stable:1?', 'COUNT', 10_000, 'TYPE', 'string');
    expect(typed.sort()).toEqual([...Array(10).keys()].map((i) => `stable:1${i}`).sort());
  });
});

describe('bus server: lists and blocking', () => {
  it('wakes blocked clients in FIFO order, one element each', async () => {
    const [a, b, p] = [redis(), redis(), redis()];
    const order: string[] = [];
    const pa = a.blpop('fifo', 0).then((v) => order.push(`a:${v![1]}`));
    await new Promise((res) => setTimeout(res, 30));
    const pb = b.blpop('fifo', 0).then((v) => order.push(`b:${v![1]}`));
    await new Promise((res) => setTimeout(res, 30));
    await p.rpush('fifo', '1', '2');
    await Promise.all([pa, pb]);
    expect(order).toEqual(['a:1', 'b:2']);
    expect(await p.llen('fifo')).toBe(0);
  });

  it('times out with a nil reply and honours float timeouts', async () => {
    const r = redis();
    const t0 = Date.now();
    expect(await r.brpop('never', 0.15)).toBeNull();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    await expect(r.blpop('x', -1)).rejects.toThrow('ERR timeout is negative');
    await expect(r.call('blpop', 'x', 'abc')).rejects.toThrow('ERR timeout is not a float or out of range');
  });

  it('a push inside MULTI wakes the waiter after EXEC; blocking inside MULTI does not block', async () => {
    const [w, p] = [redis(), redis()];
    const waiting = w.brpop('mq', 5);
    await new Promise((res) => setTimeout(res, 30));
    const res = await p.multi().lpush('mq', 'x').llen('mq').blpop('empty-q', 0).exec();
    // Inside EXEC the pushed element is still there (waiters are served after the transaction).
    expect(res).toEqual([
      [null, 1],
      [null, 1],
      [null, null],
    ]);
    expect(await waiting).toEqual(['mq', 'x']);
  });

  it('a pipelined push wakes a waiter, and the waiter resumes its own pipeline after unblocking', async () => {
    const c = await raw();
    c.write(cmd('BLMOVE', 'src', 'dst', 'LEFT', 'RIGHT', '0') + cmd('LLEN', 'dst') + cmd('PING'));
    await new Promise((res) => setTimeout(res, 30));
    const p = redis();
    await p.pipeline().rpush('src', 'v1').rpush('other', 'z').exec();
    expect(await c.until((o) => o.endsWith('+PONG\r\n'))).toBe('$2\r\nv1\r\n:1\r\n+PONG\r\n');
  });

  it('forgets a blocked client that disconnects', async () => {
    const c = await raw();
    c.write(cmd('BLPOP', 'ghost', '0'));
    await new Promise((res) => setTimeout(res, 30));
    c.close();
    await new Promise((res) => setTimeout(res, 30));
    const [w, p] = [redis(), redis()];
    const got = w.blpop('ghost', 2);
    await new Promise((res) => setTimeout(res, 30));
    await p.rpush('ghost', 'only');
    expect(await got).toEqual(['ghost', 'only']);
  });

  it('LRANGE/LREM/LTRIM/LINDEX/LMOVE behave like Redis', async () => {
    const r = redis();
    await r.rpush('L', 'a', 'b', 'a', 'c', 'a');
    expect(await r.lrem('L', -2, 'a')).toBe(2);
    expect(await r.lrange('L', 0, -1)).toEqual(['a', 'b', 'c']);
    expect(await r.lindex('L', -1)).toBe('c');
    await r.ltrim('L', 1, 5);
    expect(await r.lrange('L', 0, -1)).toEqual(['b', 'c']);
    expect(await r.lmove('L', 'L', 'LEFT', 'RIGHT')).toBe('b');
    expect(await r.lrange('L', 0, -1)).toEqual(['c', 'b']);
    expect(await r.lpop('L', 5)).toEqual(['c', 'b']);
    expect(await r.exists('L')).toBe(0);
  });
});

describe('bus server: streams', () => {
  it('XREAD BLOCK and XREADGROUP BLOCK are woken by XADD; $ means entries after the call', async () => {
    const [a, b, p] = [redis(), redis(), redis()];
    await p.xadd('ev', '1-1', 'old', 'x');
    await p.xgroup('CREATE', 'ev', 'workers', '$');
    const plain = a.xread('BLOCK', 2000, 'STREAMS', 'ev', '$');
    const grouped = b.xreadgroup('GROUP', 'workers', 'w1', 'BLOCK', 2000, 'STREAMS', 'ev', '>');
    await new Promise((res) => setTimeout(res, 30));
    await p.xadd('ev', '2-1', 'new', 'y');
    expect(await plain).toEqual([['ev', [['2-1', ['new', 'y']]]]]);
    expect(await grouped).toEqual([['ev', [['2-1', ['new', 'y']]]]]);
    expect(await p.xack('ev', 'workers', '2-1')).toBe(1);
    expect(await p.xread('BLOCK', 50, 'STREAMS', 'ev', '$')).toBeNull();
    await expect(p.xreadgroup('GROUP', 'nope', 'w', 'STREAMS', 'ev', '>')).rejects.toThrow(
      "NOGROUP No such key 'ev' or consumer group 'nope' in XREADGROUP with GROUP option",
    );
    await p.set('plain-string', 'x');
    await expect(p.xadd('plain-string', '*', 'f', 'v')).rejects.toThrow('WRONGTYPE');
  });
});
