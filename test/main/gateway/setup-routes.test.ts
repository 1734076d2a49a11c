/**
 * GET /api/setup through the real gateway: token-guarded, firstRun from the data dir's settings.json,
 * the local servers found (a stand-in Ollama on a free port) and the ones not found with their
 * reasons; `?detect=0` answers without probing.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../../src/main/gateway/server.js';
import type { SetupState } from '../../../src/shared/settings-api.js';
import { startOpenAiServer, type OpenAiServer } from '../../helpers/openai-server.js';
import { freePort } from '../../helpers/redis-server.js';
import { testGatewayDeps } from './helpers.js';

const TOKEN = 'setup-test-token-0123456789';

describe('GET /api/setup', () => {
  let gateway: Gateway;
  let ollama: OpenAiServer;
  let dataDir: string;
  let downUrl: string;

  beforeAll(async () => {
    ollama = await startOpenAiServer({ models: ['qwen2.5:7b'] });
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fav-setup-'));
    downUrl = `http://127.0.0.1:${await freePort()}/v1`;
    gateway = await startGateway(
      testGatewayDeps({
        token: TOKEN,
        setup: {
          dataDir,
          probeTargets: [
            { preset: 'ollama', baseUrl: ollama.url },
            { preset: 'lmstudio', baseUrl: downUrl },
          ],
          probeTimeoutMs: 3000,
        },
      }),
      { host: '127.0.0.1', port: 0 },
    );
  });

  afterAll(async () => {
    await gateway?.close();
    await ollama?.close();
  });

  const get = (query = '', token: string | null = TOKEN) =>
    fetch(`${gateway.url}/api/setup${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('needs the token', async () => {
    const res = await get('', null);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toMatch(/needs the studio token/);
  });

  it('says first run and lists the servers found and not found', async () => {
    const res = await get();
    expect(res.status).toBe(200);
    const body = (await res.json()) as SetupState;
    expect(body.firstRun).toBe(true);
    expect(body.detected).toEqual([{ preset: 'ollama', baseUrl: ollama.url, models: ['qwen2.5:7b'] }]);
    expect(body.notFound).toEqual([{ preset: 'lmstudio', baseUrl: downUrl, code: 'unreachable', reason: expect.stringContaining('ECONNREFUSED') }]);
  });

  it('answers detect=0 without probing, and firstRun turns false once settings.json exists', async () => {
    const before = ollama.requests.length;
    const quick = (await (await get('?detect=0')).json()) as SetupState;
    expect(quick).toEqual({ firstRun: true, detected: [] });
    // The probe that follows is the only new request the stand-in sees: detect=0 sent none.
    writeFileSync(path.join(dataDir, 'settings.json'), '{}\n');
    const full = (await (await get('?detect=1')).json()) as SetupState;
    expect(full.firstRun).toBe(false);
    expect(full.detected.map((d) => d.preset)).toEqual(['ollama']);
    expect(ollama.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/models']);
  });

  it('refuses a bad detect value with the fix', async () => {
    const res = await get('?detect=maybe');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('detect must be 0 or 1 (e.g. /api/setup?detect=0)');
  });
});

describe('GET /api/setup on a gateway that keeps no settings', () => {
  it('answers that this is no first run (the studio asks at every start)', async () => {
    const gateway = await startGateway(testGatewayDeps({ token: TOKEN }), { host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(`${gateway.url}/api/setup`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
      await expect(res.json()).resolves.toEqual({ firstRun: false, detected: [] });
      expect((await fetch(`${gateway.url}/api/setup`)).status).toBe(401);
    } finally {
      await gateway.close();
    }
  });
});
