import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBus, type BusServer } from './bus/index.js';
import { connectCoreBus, createCoreBusClient } from './bus-client.js';

let bus: BusServer;
beforeAll(async () => {
  bus = await startBus({ port: 0, host: '127.0.0.1', password: 'pw' });
});
afterAll(async () => {
  await bus?.close();
});

describe('createCoreBusClient', () => {
  it('names the connection core:<host>#<pid>:<role>', async () => {
    const r = createCoreBusClient(`redis://:pw@127.0.0.1:${bus.port}`, { role: 'supervisor' });
    try {
      await connectCoreBus(r);
      expect(await r.client('GETNAME')).toMatch(new RegExp(`^core:.+#${process.pid}:supervisor$`));
    } finally {
      r.disconnect();
    }
  });

  it('a refused password rejects with the fix, the URL redacted', async () => {
    const r = createCoreBusClient(`redis://:nope@127.0.0.1:${bus.port}`, { role: 'gateway' });
    try {
      const err = await connectCoreBus(r).then(
        () => new Error('connected'),
        (e: Error) => e,
      );
      expect(err.message).toMatch(/^WRONGPASS .*\(the bus at redis:\/\/\*\*\*@127\.0\.0\.1:\d+ refused the credentials/);
      expect(err.message).toContain('redis://:PASSWORD@host:port');
    } finally {
      r.disconnect();
    }
  });

  it('a one-shot check of a closed port says why, not "Connection is closed."', async () => {
    const closed = await startBus({ port: 0, host: '127.0.0.1' });
    const port = closed.port;
    await closed.close();
    const r = createCoreBusClient(`redis://127.0.0.1:${port}`, { role: 'check', once: true });
    try {
      await expect(connectCoreBus(r)).rejects.toThrow(/ECONNREFUSED/);
      expect(r.status).toBe('end');
    } finally {
      r.disconnect();
    }
  });
});
