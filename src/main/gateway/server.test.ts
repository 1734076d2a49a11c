import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadOrCreateToken } from './auth.js';
import { startGateway, type Gateway } from './server.js';
import type { LogRecordView, ServiceView } from './types.js';

// The gateway alone over real HTTP and WebSockets, with in-process sources standing in for the
// supervisor and log hub (the full core is exercised in test/main/app/).
const services: Array<ServiceView & Record<string, unknown>> = [
  { name: 'asr', state: 'ready', restarts: 0 },
  { name: 'tts', state: 'starting', restarts: 1 },
];
const restarted: string[] = [];
const listeners = new Set<(r: LogRecordView & Record<string, unknown>) => void>();
const records: Array<LogRecordView & Record<string, unknown>> = [{ service: 'asr', level: 'info', msg: 'hello', time: 1 }];
let busUp = true;
let gateway: Gateway;
let dataDir: string;
let token: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'fav-gw-'));
  token = loadOrCreateToken(dataDir);
  gateway = await startGateway(
    {
      version: '0.0.0-test',
      token,
      services: { status: () => services, restart: async (name) => void restarted.push(name) },
      logs: {
        tail: (n, service) => records.filter((r) => !service || r.service === service).slice(-n),
        subscribe: (l) => (listeners.add(l), () => listeners.delete(l)),
      },
      bus: { kind: 'embedded', url: 'redis://127.0.0.1:1', ping: async () => busUp },
      rendererDir: path.join(dataDir, 'no-such-build'),
    },
    { host: '127.0.0.1', port: 0 },
  );
});
afterAll(async () => {
  await gateway.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const get = (p: string, headers: Record<string, string> = {}) => fetch(gateway.url + p, { headers });
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies are checked field by field below
type Json = any;

describe('gateway', () => {
  it('keeps the token private and stable', () => {
    expect(statSync(path.join(dataDir, 'gateway-token')).mode & 0o777).toBe(0o600);
    expect(loadOrCreateToken(dataDir)).toBe(token);
    expect(token.length).toBeGreaterThanOrEqual(24);
  });

  it('reports health in the seed shape, degraded until every service is ready', async () => {
    const res = await get('/health');
    expect(res.status).toBe(200);
    const body = await res.json() as Json;
    expect(body).toMatchObject({ status: 'degraded', ready: '1/2', services: { asr: 'ready', tts: 'starting' }, bus: { kind: 'embedded', status: 'ok' } });
    services[1].state = 'ready';
    expect((await (await get('/health')).json() as Json).status).toBe('ok');
    busUp = false;
    expect(await (await get('/health')).json() as Json).toMatchObject({ status: 'error', bus: { status: 'unreachable' } });
    busUp = true;
    // What a running service has to tell is listed by service; nothing when none has.
    expect((await (await get('/health')).json() as Json).notices).toBeUndefined();
    services[1].notice = 'memory.db was damaged; saved 3 rows';
    expect(await (await get('/health')).json() as Json).toMatchObject({ status: 'ok', notices: { tts: 'memory.db was damaged; saved 3 rows' } });
    delete services[1].notice;
  });

  it('lists services without a token but guards control and logs', async () => {
    expect((await (await get('/api/services')).json() as Json).services.map((s: ServiceView) => s.name)).toEqual(['asr', 'tts']);
    const denied = await fetch(gateway.url + '/api/services/asr/restart', { method: 'POST' });
    expect(denied.status).toBe(401);
    expect(restarted).toEqual([]);
    const wrong = await fetch(gateway.url + '/api/services/asr/restart', { method: 'POST', headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const ok = await fetch(gateway.url + '/api/services/asr/restart', { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(await ok.json() as Json).toEqual({ ok: true, service: 'asr' });
    expect(restarted).toEqual(['asr']);
    const missing = await fetch(gateway.url + '/api/services/nope/restart', { method: 'POST', headers: { 'x-fav-token': token } });
    expect(missing.status).toBe(404);
    expect((await get('/api/logs')).status).toBe(401);
    expect((await (await get('/api/logs?service=asr&n=5', { authorization: `Bearer ${token}` })).json() as Json).records).toHaveLength(1);
    expect((await get('/api/logs?n=abc', { authorization: `Bearer ${token}` })).status).toBe(400);
  });

  it('streams logs to token holders and counts the connection', async () => {
    const bad = new WebSocket(gateway.url.replace('http', 'ws') + '/api/logs/stream?token=wrong');
    const code = await new Promise<number>((resolve) => bad.on('close', (c) => resolve(c)));
    expect(code).toBe(4401);

    const ws = new WebSocket(gateway.url.replace('http', 'ws') + `/api/logs/stream?token=${token}&service=tts`);
    await new Promise((resolve) => ws.on('open', resolve));
    await new Promise((r) => setTimeout(r, 50));
    const conns = await (await get('/connections')).json() as Json;
    expect(conns.total_connections).toBe(1);
    expect(conns.connections[0].path).toBe('/api/logs/stream');
    const got = new Promise<Json>((resolve) => ws.on('message', (d) => resolve(JSON.parse(String(d)))));
    for (const l of listeners) l({ service: 'asr', msg: 'filtered out' });
    for (const l of listeners) l({ service: 'tts', msg: 'wanted' });
    expect((await got).msg).toBe('wanted');
    ws.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(listeners.size).toBe(0);
    expect((await (await get('/connections')).json() as Json).total_connections).toBe(0);
  });

  it('serves a status page when the studio is not built, and JSON 404s', async () => {
    services[0].notice = 'asr.db was <damaged>';
    const page = await (await get('/')).text();
    delete services[0].notice;
    expect(page).toContain('npm run build');
    expect(page).toContain('asr');
    expect(page).toContain('asr.db was &#60;damaged&#62;');
    const nf = await get('/nope');
    expect(nf.status).toBe(404);
    expect((await nf.json() as Json).error).toMatch(/not found: GET \/nope/);
  });

  it('names the fix when the port is taken', async () => {
    await expect(startGateway({} as never, { host: '127.0.0.1', port: gateway.port })).rejects.toThrow(/in use.*--port/);
  });
});
