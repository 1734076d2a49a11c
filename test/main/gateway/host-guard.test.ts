/**
 * The gateway's edge against a real gateway with its voice endpoints on the embedded bus, over real
 * HTTP and WebSocket requests: the Host check (DNS rebinding) on every kind of route, upgrades
 * included; a plain GET on a WebSocket route (426, not an empty 404); the auth scheme's case.
 */
import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { HealthBodySchema } from '../../../src/shared/studio-status.js';
import { StudioPaths } from '../../../src/shared/renderer-api.js';
import { startGateway, type Gateway } from '../../../src/main/gateway/server.js';
import { startBackend, type Backend } from '../supervisor/helpers.js';
import { startVoiceGateway, type Json, type VoiceRig } from './helpers.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request with the Host header we choose (fetch would not let us set it). */
function request(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket handshake; resolves with 'open' or the HTTP status that refused it. */
function upgrade(url: string, headers: Record<string, string> = {}): Promise<{ opened: true } | { opened: false; status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve({ opened: true });
    });
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ opened: false, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    ws.once('error', (e) => {
      if (!/Unexpected server response/.test(e.message)) reject(e);
    });
  });
}

let backend: Backend;
let rig: VoiceRig;
let port: number;

beforeAll(async () => {
  backend = await startBackend('embedded');
  rig = await startVoiceGateway(backend);
  port = rig.gateway.port;
});
afterAll(async () => {
  await rig?.close();
  await backend?.stop();
});

const SURFACE = [StudioPaths.health, StudioPaths.services, StudioPaths.connections, StudioPaths.page, '/no-such-route'];

describe('Host header (DNS rebinding)', () => {
  it('refuses a foreign host on every route with 421 naming the setting to change', async () => {
    for (const path of SURFACE) {
      const res = await request(rig.gateway.url, path, { host: `evil.example:${port}` });
      expect(res.status, path).toBe(421);
      expect((JSON.parse(res.body) as Json).error).toMatch(/evil\.example.*gateway\.allowedHosts.*settings\.json/);
      expect(res.body).not.toContain('pid');
    }
    const post = await request(rig.gateway.url, StudioPaths.controlStop, { host: 'evil.example', 'content-type': 'application/json' }, 'POST');
    expect(post.status).toBe(421);
  });

  it('refuses a WebSocket upgrade for a foreign host before it opens', async () => {
    for (const path of [StudioPaths.seedInput, `${StudioPaths.session}?token=${rig.token}`, `${StudioPaths.logStream}?token=${rig.token}`]) {
      const r = await upgrade(rig.ws + path, { host: 'evil.example' });
      expect(r, path).toMatchObject({ opened: false, status: 421 });
    }
    // The same handshake with a loopback name opens: the refusal was the host's doing.
    expect(await upgrade(rig.ws + StudioPaths.seedInput, { host: `localhost:${port}` })).toEqual({ opened: true });
  });

  it('answers loopback names with any port, and no Host at all', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', 'LOCALHOST.', `[::1]:${port}`, '127.1.2.3', 'studio.localhost:5173']) {
      const res = await request(rig.gateway.url, StudioPaths.health, { host });
      expect(res.status, host).toBe(200);
    }
    // An HTTP/1.0 client may send no Host; a browser always does.
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => sock.write('GET /health HTTP/1.0\r\n\r\n'));
      let got = '';
      sock.on('data', (d: Buffer) => (got += d.toString()));
      sock.on('end', () => resolve(got));
      sock.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 200/);
  });

  it('refuses names that only look local, and malformed hosts', async () => {
    for (const host of ['localhost.evil.example', '127.0.0.1.nip.io', 'evil.example@localhost', '0.0.0.0', '[::2]']) {
      const res = await request(rig.gateway.url, StudioPaths.health, { host });
      expect(res.status, host).toBe(421);
    }
  });

  it('answers the hosts the user configured and the address it is bound to', async () => {
    const token = randomBytes(24).toString('base64url');
    const deps = {
      version: '0.0.0-test',
      token,
      services: { status: () => [], restart: async () => {} },
      logs: { tail: () => [], subscribe: () => () => {} },
      bus: { kind: 'embedded' as const, url: 'redis://test', ping: async () => true },
    };
    const gw: Gateway = await startGateway(deps, { host: '127.0.0.1', port: 0, allowedHosts: ['Studio.LAN', '192.168.7.7', 'fe80::1'] });
    try {
      for (const host of ['studio.lan', `studio.lan:${gw.port}`, '192.168.7.7:8000', '[fe80::1]:8000']) {
        expect((await request(gw.url, StudioPaths.health, { host })).status, host).toBe(200);
      }
      expect((await request(gw.url, StudioPaths.health, { host: 'other.lan' })).status).toBe(421);
    } finally {
      await gw.close();
    }
  });
});

describe('WebSocket routes and auth', () => {
  it('answers a plain GET on a WebSocket route with 426 and says what it is', async () => {
    for (const path of [StudioPaths.seedInput, '/ws/output/some-task', StudioPaths.session, StudioPaths.logStream]) {
      const res = await request(rig.gateway.url, path);
      expect(res.status, path).toBe(426);
      expect(res.headers.upgrade).toBe('websocket');
      expect((JSON.parse(res.body) as Json).error).toMatch(/WebSocket endpoint/);
    }
  });

  it('takes the auth scheme in any case (RFC 7235)', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const res = await request(rig.gateway.url, StudioPaths.config, { authorization: `${scheme} ${rig.token}` });
      expect(res.status, scheme).toBe(200);
    }
    expect((await request(rig.gateway.url, StudioPaths.config, { authorization: `Basic ${rig.token}` })).status).toBe(401);
  });

  it('sends the health body its shared schema describes', async () => {
    const res = await request(rig.gateway.url, StudioPaths.health);
    expect(HealthBodySchema.parse(JSON.parse(res.body))).toMatchObject({ status: 'ok', bus: { kind: 'external' } });
  });
});
