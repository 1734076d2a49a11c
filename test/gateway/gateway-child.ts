/**
 * A gateway with its voice endpoints in a process of its own (for latency measurements that must
 * not share an event loop with the test's clients). Usage: node --import tsx gateway-child.ts BUS_URL
 * Prints one JSON line {url, token} when listening; runs until killed.
 */
import { randomBytes } from 'node:crypto';
import { startGateway } from '../../src/main/gateway/server.js';

const busUrl = process.argv[2];
if (!busUrl) throw new Error('usage: gateway-child.ts BUS_URL');
const token = randomBytes(24).toString('base64url');
const gateway = await startGateway(
  {
    version: '0.0.0-test',
    token,
    services: { status: () => [], restart: async () => {} },
    logs: { tail: () => [], subscribe: () => () => {} },
    bus: { kind: 'external', url: 'redis://test', ping: async () => true },
    voice: { busUrl, input: { maxBytes: 1024 * 1024, maxTextChars: 4000 } },
  },
  { host: '127.0.0.1', port: 0 },
);
process.stdout.write(JSON.stringify({ url: gateway.url, token }) + '\n');
process.on('SIGTERM', () => void gateway.close().then(() => process.exit(0)));
