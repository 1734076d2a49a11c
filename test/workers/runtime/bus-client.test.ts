/**
 * The workers' bus client factory against the real embedded bus (the boundary under test: the
 * handshake's CLIENT SETNAME and AUTH).
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBus, type BusServer } from '../../../src/main/bus/index.js';
import { connectBus, createBusClient } from '../../../src/workers/runtime/bus-client.js';

const log = pino({ level: 'silent' });
let bus: BusServer;

beforeAll(async () => {
  bus = await startBus({ port: 0, host: '127.0.0.1', password: 's3cret' });
});
afterAll(async () => {
  await bus?.close();
});

describe('createBusClient', () => {
  it('names the connection service:instance:role (spaces made safe)', async () => {
    const r = createBusClient(`redis://:s3cret@127.0.0.1:${bus.port}`, { service: 'chat-ai', instance: 'chat-ai@box #1', role: 'cmd', log });
    try {
      await connectBus(r);
      expect(await r.client('GETNAME')).toBe('chat-ai:chat-ai@box_#1:cmd');
    } finally {
      r.disconnect();
    }
  });

  it('a wrong password fails at once with a message that names the fix, and is not retried', async () => {
    const r = createBusClient(`redis://:wrong@127.0.0.1:${bus.port}`, { service: 'tts', instance: 'tts-1', role: 'cmd', log });
    const ended = new Promise<void>((resolve) => r.once('end', () => resolve()));
    try {
      const err = await connectBus(r).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/^WRONGPASS .*refused the credentials/);
      expect(err?.message).toContain('redis://:PASSWORD@host:port; FAV_REDIS_URL');
      expect(err?.message).toContain(`the bus at redis://:***@127.0.0.1:${bus.port}`);
      expect(err?.message).not.toContain('wrong');
      // No reconnect loop: the connection ends for good.
      await ended;
      expect(r.status).toBe('end');
    } finally {
      r.disconnect();
    }
  });

  it('a missing password gets the same clear error', async () => {
    const r = createBusClient(`redis://127.0.0.1:${bus.port}`, { service: 'tts', instance: 'tts-1', role: 'sub', log });
    try {
      await expect(connectBus(r)).rejects.toThrow(/^NOAUTH .*refused the credentials/);
    } finally {
      r.disconnect();
    }
  });
});
