/**
 * Local LLM detection against real HTTP servers on free ports: one speaking the OpenAI protocol
 * like Ollama, one port with nothing on it, one web server answering HTML, one answering JSON that
 * is no model list, an Ollama too old for /v1 (only /api/tags), and one that never answers. Only
 * the first and the old Ollama are found; every miss carries its reason, none throws.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProbeTargets, detectLocalLlms, probeLlm, type ProbeTarget } from '../../../src/main/setup/index.js';
import { LLM_PRESETS } from '../../../src/shared/config.js';
import { startOpenAiServer, type OpenAiServer } from '../../helpers/openai-server.js';
import { freePort } from '../../helpers/redis-server.js';

/** A plain HTTP server answering every request with `handler`. */
async function serve(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

// A generous timeout: these servers answer at once (or never); the test is not about speed.
const opts = { timeoutMs: 3000 };

describe('local LLM detection', () => {
  let ollama: OpenAiServer;
  const servers: Array<{ url: string; close(): Promise<void> }> = [];
  let html: string;
  let wrongJson: string;
  let oldOllama: string;
  let silent: string;
  let downPort: number;

  beforeAll(async () => {
    ollama = await startOpenAiServer({ models: ['qwen2.5:7b', 'llama3.2:3b'] });
    const h = await serve((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!DOCTYPE html><h1>It works!</h1>'));
    const w = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'));
    const o = await serve((req, res) => {
      if (req.url === '/api/tags') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ models: [{ name: 'mistral:7b', size: 1 }] }));
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
    });
    const s = await serve(() => {}); // accepts, never answers
    servers.push(h, w, o, s);
    [html, wrongJson, oldOllama, silent] = [h.url, w.url, o.url, s.url];
    downPort = await freePort();
  });

  afterAll(async () => {
    await ollama?.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  it('finds an OpenAI-compatible server with its models, and says why the others are not found', async () => {
    const targets: ProbeTarget[] = [
      { preset: 'ollama', baseUrl: ollama.url },
      { preset: 'lmstudio', baseUrl: `http://127.0.0.1:${downPort}/v1` },
      { preset: 'llamacpp', baseUrl: `${html}/v1` },
    ];
    const { detected, notFound } = await detectLocalLlms(targets, opts);
    expect(detected).toEqual([{ preset: 'ollama', baseUrl: ollama.url, models: ['qwen2.5:7b', 'llama3.2:3b'] }]);
    expect(notFound).toEqual([
      expect.objectContaining({ preset: 'lmstudio', code: 'unreachable', reason: expect.stringContaining(`nothing answers at http://127.0.0.1:${downPort}/v1/models (ECONNREFUSED)`) }),
      expect.objectContaining({ preset: 'llamacpp', code: 'bad_response', reason: expect.stringMatching(/not with JSON \(text\/html\): another program uses this port/) }),
    ]);
    // The stand-in saw the probe: a GET of /v1/models.
    expect(ollama.requests.map((r) => `${r.method} ${r.path}`)).toContain('GET /v1/models');
  });

  it('does not take JSON that is not a model list for a server', async () => {
    const o = await probeLlm({ preset: 'llamacpp', baseUrl: `${wrongJson}/v1` }, opts);
    expect(o).toMatchObject({ found: false, code: 'bad_response', reason: expect.stringContaining('not an OpenAI model list') });
  });

  it("asks an Ollama without OpenAI routes for /api/tags; other servers' 404 stays a miss", async () => {
    await expect(probeLlm({ preset: 'ollama', baseUrl: `${oldOllama}/v1` }, opts)).resolves.toEqual({ found: true, preset: 'ollama', baseUrl: `${oldOllama}/v1`, models: ['mistral:7b'] });
    await expect(probeLlm({ preset: 'lmstudio', baseUrl: `${oldOllama}/v1` }, opts)).resolves.toMatchObject({ found: false, code: 'http_error', reason: expect.stringContaining('answered HTTP 404') });
  });

  it('gives up on a server that accepts and never answers, with the reason', async () => {
    const o = await probeLlm({ preset: 'lmstudio', baseUrl: `${silent}/v1` }, { timeoutMs: 100 });
    expect(o).toMatchObject({ found: false, code: 'timeout', reason: `no answer from ${silent}/v1/models within 100 ms` });
  });

  it("probes the presets' own URLs by default", () => {
    expect(defaultProbeTargets()).toEqual([
      { preset: 'ollama', baseUrl: LLM_PRESETS.ollama.baseUrl },
      { preset: 'lmstudio', baseUrl: LLM_PRESETS.lmstudio.baseUrl },
      { preset: 'llamacpp', baseUrl: LLM_PRESETS.llamacpp.baseUrl },
    ]);
    expect(defaultProbeTargets().map((t) => new URL(t.baseUrl).port)).toEqual(['11434', '1234', '8080']);
    expect(defaultProbeTargets().every((t) => new URL(t.baseUrl).hostname === '127.0.0.1')).toBe(true);
  });
});
