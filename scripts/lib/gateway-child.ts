/**
 * A gateway with its voice endpoints in a process of its own (for latency measurements that must
 * not share an event loop with the test's clients). Usage: node --import tsx scripts/lib/gateway-child.ts BUS_URL
 * Prints one JSON line {url, token} when listening; answers each stdin line `cpu` with a JSON line
 * {cpu_us} (its CPU time so far, user + system); runs until killed.
 */
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
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
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'cpu') return;
  const u = process.cpuUsage();
  process.stdout.write(JSON.stringify({ cpu_us: u.user + u.system }) + '\n');
});
process.on('SIGTERM', () => void gateway.close().then(() => process.exit(0)));
