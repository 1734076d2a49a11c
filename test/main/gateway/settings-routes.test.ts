/**
 * The settings routes on a real gateway over real HTTP: read and save through the settings service
 * on a real data dir (400 with the schema's issues and the file unchanged on a bad value), the LLM
 * probes against the OpenAI-compatible stand-in (model list, time to first token, and each failure
 * with its code and fix, the stand-in stopped included), the Redis probe against a real
 * redis-server and a closed port, and the restart of the services a save named.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LlmModelsResult, LlmTestResult, ProbeResult, SaveResult, SettingsRejection, SettingsView } from '../../../src/shared/settings-api.js';
import { SettingsPaths } from '../../../src/shared/settings-api.js';
import { writeSettingsFile } from '../../../src/main/config/load-config.js';
import { startGateway, type Gateway } from '../../../src/main/gateway/server.js';
import { SettingsService } from '../../../src/main/settings/index.js';
import { startOpenAiServer, type OpenAiServer } from '../../helpers/openai-server.js';
import { freePort, REDIS_SERVER_BIN, startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';
import { testGatewayDeps } from './helpers.js';

const token = randomBytes(24).toString('base64url');
let dir: string;
let gateway: Gateway;
let ai: OpenAiServer;
const restarted: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fav-settings-routes-'));
  ai = await startOpenAiServer({ models: ['qwen2.5:7b', 'llama3.2:3b'], reply: 'Hello stream, nice to see you!', firstTokenDelayMs: 120 });
  writeSettingsFile(dir, { llm: { preset: 'ollama', baseUrl: ai.url, model: 'qwen2.5:7b', apiKey: 'sk-stored' } });
  gateway = await startGateway(
    testGatewayDeps({
      token,
      services: {
        status: () => ['chat-ai', 'memory', 'tts'].map((name) => ({ name, state: 'ready' })),
        restart: async (name) => void restarted.push(name),
      },
      settings: { service: new SettingsService({ dataDir: dir }), llm: { timeoutMs: 1500 }, busTimeoutMs: 1000 },
    }),
    { host: '127.0.0.1', port: 0 },
  );
});
afterAll(async () => {
  await gateway?.close();
  await ai?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  ai.setOptions({ status: undefined, garbage: undefined, hangAfterHeaders: undefined, requireApiKey: undefined, faultsOnModels: undefined });
});

async function call<T>(method: string, route: string, body?: unknown, auth = true): Promise<{ status: number; body: T }> {
  const res = await fetch(`${gateway.url}${route}`, {
    method,
    headers: { ...(auth ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as T };
}

describe('GET/PUT /api/settings', () => {
  it('needs the token', async () => {
    expect((await call('GET', SettingsPaths.settings, undefined, false)).status).toBe(401);
    expect((await call('PUT', SettingsPaths.settings, { persona: { name: 'x' } }, false)).status).toBe(401);
  });

  it('shows the settings with the key blanked and marked as set', async () => {
    const { status, body } = await call<SettingsView>('GET', SettingsPaths.settings);
    expect(status).toBe(200);
    expect(body.settings.llm?.model).toBe('qwen2.5:7b');
    expect(body.settings.llm?.apiKey).toBe('');
    expect(body.secretsSet).toEqual(['llm.apiKey']);
    expect(body.firstRun).toBe(false);
    expect(JSON.stringify(body)).not.toContain('sk-stored');
  });

  it('saves a patch and names what must restart; a bad value is a 400 with the issues and no write', async () => {
    const ok = await call<SaveResult>('PUT', SettingsPaths.settings, { persona: { name: 'Mio' }, tts: { voice: 'slt' } });
    expect(ok.status).toBe(200);
    expect(ok.body.changed).toEqual(['persona.name', 'tts.voice']);
    expect(ok.body.restart).toEqual({ services: ['chat-ai', 'memory', 'tts'], app: [] });
    const before = readFileSync(path.join(dir, 'settings.json'), 'utf8');
    const bad = await call<SettingsRejection>('PUT', SettingsPaths.settings, { llm: { temperature: 5 } });
    expect(bad.status).toBe(400);
    expect(bad.body.issues).toHaveLength(1);
    expect(bad.body.issues[0]!.path).toBe('llm.temperature');
    expect(bad.body.issues[0]!.message).toMatch(/<=\s*2/);
    expect(readFileSync(path.join(dir, 'settings.json'), 'utf8')).toBe(before);
    const notJson = await call<SettingsRejection>('PUT', SettingsPaths.settings, 'just a string');
    expect(notJson.status).toBe(400);
  });

  it('restarts the named services, and refuses unknown names', async () => {
    restarted.length = 0;
    const r = await call<{ restarted: string[] }>('POST', SettingsPaths.restart, { services: ['chat-ai', 'tts', 'chat-ai'] });
    expect(r.status).toBe(200);
    expect(restarted.sort()).toEqual(['chat-ai', 'tts']);
    const bad = await call<{ error: string }>('POST', SettingsPaths.restart, { services: ['chat-ai', 'nope'] });
    expect(bad.status).toBe(404);
    expect(bad.body.error).toContain("'nope'");
  });
});

describe('LLM probes against the stand-in', () => {
  it('lists the endpoint models, with the saved key sent', async () => {
    const { body } = await call<LlmModelsResult>('POST', SettingsPaths.llmModels, {});
    expect(body).toEqual({ ok: true, baseUrl: ai.url, models: ['llama3.2:3b', 'qwen2.5:7b'] });
    const req = await ai.waitFor((r) => r.method === 'GET' && r.path === '/v1/models');
    expect(req.headers.authorization).toBe('Bearer sk-stored');
  });

  it('streams one prompt and reports the time to the first token', async () => {
    const { body } = await call<LlmTestResult>('POST', SettingsPaths.llmTest, { model: 'llama3.2:3b' });
    if (!body.ok) throw new Error(`test failed: ${body.error}`);
    expect(body.model).toBe('llama3.2:3b');
    expect(body.text).toBe('Hello stream, nice to see you!');
    // The stand-in holds the first token back 120 ms: the probe cannot have seen it sooner.
    expect(body.firstTokenMs).toBeGreaterThanOrEqual(120);
    expect(body.totalMs).toBeGreaterThanOrEqual(body.firstTokenMs);
  });

  it('names a missing model and the ones the server has', async () => {
    const { body } = await call<LlmTestResult>('POST', SettingsPaths.llmTest, { model: 'mistral' });
    expect(body).toMatchObject({ ok: false, code: 'model_missing' });
    if (body.ok) return;
    expect(body.fix).toBe('pick one of the models the server has: llama3.2:3b, qwen2.5:7b');
  });

  it('says a refused key is the key', async () => {
    ai.setOptions({ requireApiKey: 'sk-right' });
    const wrong = await call<LlmTestResult>('POST', SettingsPaths.llmTest, { apiKey: 'sk-wrong' });
    expect(wrong.body).toMatchObject({ ok: false, code: 'unauthorized', fix: 'the key was refused: enter a valid API key for this server' });
    const none = await call<LlmModelsResult>('POST', SettingsPaths.llmModels, { apiKey: '' });
    expect(none.body).toMatchObject({ ok: false, code: 'unauthorized', fix: 'this server needs an API key: enter it in the key field' });
    const right = await call<LlmModelsResult>('POST', SettingsPaths.llmModels, { apiKey: 'sk-right' });
    expect(right.body.ok).toBe(true);
  });

  it('tells a web page from the API, and a wrong path from a missing server', async () => {
    ai.setOptions({ garbage: true, faultsOnModels: true });
    const models = await call<LlmModelsResult>('POST', SettingsPaths.llmModels, {});
    expect(models.body).toMatchObject({ ok: false, code: 'bad_response' });
    const test = await call<LlmTestResult>('POST', SettingsPaths.llmTest, {});
    expect(test.body).toMatchObject({ ok: false, code: 'bad_response' });
    if (!test.body.ok) expect(test.body.fix).toMatch(/usually ending in \/v1/);
    const wrongPath = await call<LlmModelsResult>('POST', SettingsPaths.llmModels, { baseUrl: ai.url.replace(/\/v1$/, '/api') });
    expect(wrongPath.body).toMatchObject({ ok: false, code: 'not_found' });
  });

  it('gives up on a server that never answers', async () => {
    ai.setOptions({ hangAfterHeaders: true });
    const { body } = await call<LlmTestResult>('POST', SettingsPaths.llmTest, {});
    expect(body).toMatchObject({ ok: false, code: 'timeout' });
  });

  it('with the server down: unreachable, and how to start it for the preset', async () => {
    const down = await startOpenAiServer();
    const url = down.url;
    await down.close();
    const ollama = await call<LlmTestResult>('POST', SettingsPaths.llmTest, { preset: 'ollama', baseUrl: url });
    expect(ollama.body).toMatchObject({ ok: false, code: 'unreachable', fix: 'start Ollama (ollama serve) or check the URL' });
    const lms = await call<LlmModelsResult>('POST', SettingsPaths.llmModels, { preset: 'lmstudio', baseUrl: url });
    expect(lms.body).toMatchObject({ ok: false, code: 'unreachable' });
    if (!lms.body.ok) expect(lms.body.fix).toMatch(/LM Studio/);
    const bad = await call<LlmModelsResult>('POST', SettingsPaths.llmModels, { baseUrl: 'ftp://x' });
    expect(bad.body).toMatchObject({ ok: false, code: 'bad_url' });
  });
});

describe.skipIf(!REDIS_SERVER_BIN)('Redis probe', () => {
  let redis: RedisServerHandle;
  beforeAll(async () => {
    redis = await startRedisServer({ password: 'bus-pass' });
  });
  afterAll(async () => redis?.stop());

  it('passes a Redis that answers PING', async () => {
    const { body } = await call<ProbeResult>('POST', SettingsPaths.busTest, { redisUrl: redis.url });
    expect(body).toEqual({ ok: true });
  });

  it('says a wrong password is the password, without showing it', async () => {
    const { body } = await call<ProbeResult>('POST', SettingsPaths.busTest, { redisUrl: `redis://:wrong-pass@127.0.0.1:${redis.port}` });
    expect(body).toMatchObject({ ok: false, code: 'unauthorized' });
    expect(JSON.stringify(body)).not.toContain('wrong-pass');
  });

  it('says nothing listens on a closed port, and refuses a URL that is not Redis', async () => {
    const port = await freePort();
    const closed = await call<ProbeResult>('POST', SettingsPaths.busTest, { redisUrl: `redis://127.0.0.1:${port}` });
    expect(closed.body).toMatchObject({ ok: false, code: 'unreachable', error: `nothing listens at 127.0.0.1:${port}`, fix: 'start Redis there (redis-server) or check the host and port' });
    const notRedis = await call<ProbeResult>('POST', SettingsPaths.busTest, { redisUrl: 'http://127.0.0.1:6379' });
    expect(notRedis.body).toMatchObject({ ok: false, code: 'bad_url' });
  });
});
