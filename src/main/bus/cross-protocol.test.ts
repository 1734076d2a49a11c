/**
 * The cross-protocol guard on a real bus: an HTTP request (a browser tricked into POSTing to the
 * bus port) closes the connection before anything in it runs, and the warning is logged like
 * redis-server's, at most once a minute (timed with an injected clock).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startBus, type BusServer } from './index.js';
import { cmd, RawConn } from '../../../test/main/bus/lib/raw-conn.js';

const WARNING = 'Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis.';
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function bus(clock: () => number): Promise<{ bus: BusServer; logs: string[] }> {
  const b = await startBus({ port: 0, password: 'pw', clock });
  const logs: string[] = [];
  b.core.log = (line) => void logs.push(line);
  cleanup.push(() => b.close());
  return { bus: b, logs };
}

async function attack(port: number, bytes: string): Promise<string> {
  const c = await RawConn.open(port);
  cleanup.push(() => c.close());
  c.write(bytes);
  return c.waitClosed();
}

describe('cross-protocol guard', () => {
  it('closes on POST / Host: without running what follows, and logs it once a minute', async () => {
    let now = 1_000_000;
    const { bus: b, logs } = await bus(() => now);
    expect(await attack(b.port, 'POST / HTTP/1.1\r\nHost: x\r\n\r\nAUTH pw\r\nSET k v\r\n')).toBe('');
    expect(await attack(b.port, 'AUTH pw\r\nhost: evil\r\nSET k v\r\n')).toBe('');
    expect(logs.filter((l) => l.startsWith(WARNING))).toHaveLength(1);
    expect(logs[0]).toMatch(/Connection aborted\.$/);
    now += 60_001;
    expect(await attack(b.port, `AUTH pw\r\n${cmd('Post')}${cmd('SET', 'k', 'v')}`)).toBe('');
    expect(logs.filter((l) => l.startsWith(WARNING))).toHaveLength(2);
    const ok = await RawConn.open(b.port);
    cleanup.push(() => ok.close());
    await ok.expect('AUTH pw\r\nEXISTS k\r\n', '+OK\r\n:0\r\n');
    expect(b.core.clients.size).toBe(1);
  });
});
