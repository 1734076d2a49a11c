/**
 * The OBS pages' routes (overlay-routes.ts) on the real gateway app, through fastify's inject:
 * served with no token from this machine, with the studio's CSP; refused (403, the fix named) for
 * other machines and web pages of other sites unless the token comes along; the built files not
 * reachable past the check; a clear 503 when the renderer is not built.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RENDERER_CSP } from '../../shared/renderer-api.js';
import { buildGateway } from './server.js';
import type { GatewayDeps } from './types.js';

const TOKEN = 'overlay-route-token-0123456789abcdef';
let dir: string;
let app: FastifyInstance;
let bare: FastifyInstance;

const deps = (rendererDir: string): GatewayDeps => ({
  version: '0.0.0-test',
  token: TOKEN,
  services: { status: () => [], restart: async () => {} },
  logs: { tail: () => [], subscribe: () => () => {} },
  bus: { kind: 'embedded', url: 'redis://127.0.0.1:1', ping: async () => true },
  rendererDir,
});

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fav-overlay-routes-'));
  const built = path.join(dir, 'renderer');
  mkdirSync(built);
  writeFileSync(path.join(built, 'index.html'), '<p>studio</p>');
  writeFileSync(path.join(built, 'overlay.html'), '<p>overlay page</p>');
  writeFileSync(path.join(built, 'subtitles.html'), '<p>subtitles page</p>');
  app = buildGateway(deps(built)).app;
  bare = buildGateway(deps(path.join(dir, 'not-built'))).app;
  await Promise.all([app.ready(), bare.ready()]);
});
afterAll(async () => {
  await Promise.all([app?.close(), bare?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('overlay routes', () => {
  it('serve the built pages to this machine with no token, with the studio CSP as a header', async () => {
    for (const [url, body] of [
      ['/overlay', 'overlay page'],
      ['/overlay?bg=green&scale=1.2', 'overlay page'],
      ['/overlay/subtitles', 'subtitles page'],
    ] as const) {
      const res = await app.inject({ url, headers: { host: '127.0.0.1:8000', 'sec-fetch-site': 'none' } });
      expect(res.statusCode, url).toBe(200);
      expect(res.body).toContain(body);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['content-security-policy']).toBe(RENDERER_CSP);
    }
    // Programs without Origin or Fetch Metadata (curl, OBS's older CEF) and pages of this machine are fine.
    expect((await app.inject({ url: '/overlay', headers: { origin: 'http://localhost:5173', 'sec-fetch-site': 'same-site' } })).statusCode).toBe(200);
  });

  it('refuse another machine unless the token comes along', async () => {
    const res = await app.inject({ url: '/overlay', remoteAddress: '192.168.1.20' });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toBe('forbidden: without the studio token the overlay answers only programs on this machine (OBS on another machine: add ?token=<studio token> to the URL)');
    expect((await app.inject({ url: `/overlay/subtitles?token=${TOKEN}`, remoteAddress: '192.168.1.20' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/overlay?token=wrong', remoteAddress: '192.168.1.20' })).statusCode).toBe(403);
  });

  it('refuse web pages of other sites (Origin, or Sec-Fetch-Site: cross-site) unless the token comes along', async () => {
    const why = 'forbidden: a web page of another site may not open or embed the overlay without the studio token (add ?token=<studio token> to the URL)';
    for (const headers of [{ origin: 'https://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }]) {
      const res = await app.inject({ url: '/overlay', headers });
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.json().error).toBe(why);
    }
    expect((await app.inject({ url: '/overlay/subtitles', headers: { 'sec-fetch-site': 'cross-site' } })).statusCode).toBe(403);
    expect((await app.inject({ url: `/overlay?token=${TOKEN}`, headers: { 'sec-fetch-site': 'cross-site' } })).statusCode).toBe(200);
  });

  it('the built files are not served past the check by the static file server; the studio still is', async () => {
    expect((await app.inject({ url: '/overlay.html' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/subtitles.html' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/' })).body).toContain('studio');
  });

  it('answer 503 naming the fix when the renderer is not built', async () => {
    const res = await bare.inject({ url: '/overlay' });
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toMatch(/^the overlay pages are not built \(overlay\.html is missing from .*not-built\): run npm run build$/);
  });
});
