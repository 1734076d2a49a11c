/**
 * The model routes on a real gateway over real HTTP, with real files: the list without a token, a
 * good zip imported and listed and its files served, a broken one answered 400 with its problems and
 * nothing changed, selection, settings and deletion behind the token, and no way out of the imported
 * models' folder through /models/.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelImportError, ModelInfo, ModelListResponse } from '../../../src/shared/models.js';
import { StudioPaths } from '../../../src/shared/renderer-api.js';
import { startGateway, type Gateway } from '../../../src/main/gateway/server.js';
import { ModelLibrary } from '../../../src/main/models/index.js';
import { copyShizuku, cubism3Zip, PNG_1X1, tempDir } from '../models/fixtures.js';

let root: string;
let dataDir: string;
let gateway: Gateway;
const token = randomBytes(24).toString('base64url');
const SECRET = 'secret-in-the-data-dir';

beforeAll(async () => {
  root = tempDir();
  dataDir = path.join(root, 'data');
  const builtinDir = path.join(root, 'renderer/live2d/models');
  mkdirSync(builtinDir, { recursive: true });
  copyShizuku(path.join(builtinDir, 'shizuku'));
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(path.join(dataDir, 'gateway-token'), SECRET);
  const library = new ModelLibrary({ builtinDir, dataDir });
  gateway = await startGateway(
    {
      version: '0.0.0-test',
      token,
      services: { status: () => [], restart: async () => {} },
      logs: { tail: () => [], subscribe: () => () => {} },
      bus: { kind: 'external', url: 'redis://test', ping: async () => true },
      models: { library, maxUploadBytes: 64 * 1024 },
    },
    { host: '127.0.0.1', port: 0 },
  );
});
afterAll(async () => {
  await gateway?.close();
  rmSync(root, { recursive: true, force: true });
});

const auth = { authorization: `Bearer ${token}` };

async function list(): Promise<ModelListResponse> {
  const res = await fetch(gateway.url + StudioPaths.models);
  expect(res.status).toBe(200);
  return ModelListResponse.parse(await res.json());
}

function upload(zip: Uint8Array, headers: Record<string, string> = auth, query = ''): Promise<Response> {
  return fetch(gateway.url + StudioPaths.models + query, { method: 'POST', headers: { 'content-type': 'application/zip', ...headers }, body: zip });
}

/** A GET with the path sent as written (fetch would resolve `..` before sending). */
function rawGet(p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(gateway.url + '/', { path: p, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

function dataFiles(): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      out.push(`${rel}/${e.name}`);
      if (e.isDirectory()) walk(path.join(d, e.name), `${rel}/${e.name}`);
    }
  };
  walk(dataDir, '');
  return out.sort();
}

describe('model routes', () => {
  it('lists the built-in model without a token; another host name gets nothing', async () => {
    const l = await list();
    expect(l.selected).toBe('shizuku');
    expect(l.models.map((m) => [m.id, m.source, m.url])).toEqual([['shizuku', 'builtin', '/live2d/models/shizuku/shizuku.model.json']]);
    expect((await rawGet(StudioPaths.models, { host: 'evil.example' })).status).toBe(421);
  });

  it('imports a good zip: 401 without the token, 201 with it, listed, its files served under /models/<id>/', async () => {
    const zip = cubism3Zip({ version: 4 });
    const refused = await upload(zip, {});
    expect(refused.status).toBe(401);
    expect(existsSync(path.join(dataDir, 'models/hiyori'))).toBe(false);

    const res = await upload(zip, auth, '?name=My%20Model.zip');
    expect(res.status).toBe(201);
    const info = ModelInfo.parse(await res.json());
    expect(info).toMatchObject({ id: 'hiyori', source: 'imported', cubism: 4, url: '/models/hiyori/hiyori.model3.json' });
    expect((await list()).models.map((m) => m.id)).toEqual(['shizuku', 'hiyori']);

    const modelJson = await fetch(gateway.url + info.url);
    expect(modelJson.status).toBe(200);
    expect(await modelJson.json()).toMatchObject({ FileReferences: { Moc: 'hiyori.moc3' } });
    const png = await fetch(gateway.url + '/models/hiyori/hiyori.2048/texture_00.png');
    expect(Buffer.from(await png.arrayBuffer())).toEqual(PNG_1X1);
  });

  it('a broken zip answers 400 with its problems, and nothing changes', async () => {
    const before = { list: await list(), files: dataFiles() };
    const zip = cubism3Zip({ edit: (j) => ((j.FileReferences as Record<string, unknown>).Moc = 'gone.moc3') }, 'broken/');
    const res = await upload(zip);
    expect(res.status).toBe(400);
    const body = ModelImportError.parse(await res.json());
    expect(body.error).toMatch(/^import refused: the model broken\/hiyori\.model3\.json has 1 problem/);
    expect(body.problems).toEqual([{ file: 'broken/gone.moc3', message: expect.stringMatching(/missing: .*its moc/) }]);
    expect(await list()).toEqual(before.list);
    expect(dataFiles()).toEqual(before.files);
  });

  it('an upload without the token is refused before its body is read (401, not 413)', async () => {
    const res = await upload(new Uint8Array(200 * 1024), {});
    expect(res.status).toBe(401);
  });

  it('files of a model are served sandboxed: an .html in a model zip never runs as a studio page', async () => {
    const zip = cubism3Zip({ name: 'sneaky', edit: () => {} }, 'sneaky/');
    const { unzipSync, zipSync } = await import('fflate');
    const withPage = zipSync({ ...unzipSync(zip), 'sneaky/page.html': new TextEncoder().encode('<script>fetch("/api/models")</script>') });
    expect((await upload(withPage)).status).toBe(201);
    const page = await fetch(gateway.url + '/models/sneaky/page.html');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await fetch(gateway.url + StudioPaths.model.replace(':id', 'sneaky'), { method: 'DELETE', headers: auth })).status).toBe(200);
  });

  it('an upload over the size limit answers 413, a wrong content type 415', async () => {
    const big = await upload(new Uint8Array(65 * 1024));
    expect(big.status).toBe(413);
    expect(ModelImportError.parse(await big.json()).error).toBe('import refused: the upload is larger than 64 KiB');
    const json = await fetch(gateway.url + StudioPaths.models, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: '{}' });
    expect(json.status).toBe(415);
    expect(((await json.json()) as { error: string }).error).toMatch(/Content-Type: application\/zip \(got application\/json\)/);
    const text = await fetch(gateway.url + StudioPaths.models, { method: 'POST', headers: { 'content-type': 'image/png', ...auth }, body: 'x' });
    expect(text.status).toBe(415);
  });

  it('selects a model and saves its settings (token, validated)', async () => {
    const put = (p: string, body: unknown, headers: Record<string, string> = auth) =>
      fetch(gateway.url + p, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    expect((await put(StudioPaths.modelSelected, { id: 'hiyori' }, {})).status).toBe(401);
    expect((await put(StudioPaths.modelSelected, { id: 'nope' })).status).toBe(404);
    expect((await put(StudioPaths.modelSelected, { id: 'hiyori' })).status).toBe(200);
    expect((await list()).selected).toBe('hiyori');

    const settings = StudioPaths.modelSettings.replace(':id', 'hiyori');
    const bad = await put(settings, { transform: { x: 0, y: 0, scale: 100 } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/transform\.scale/);
    const ok = await put(settings, { emotionMap: { joy: { expression: 'Smile' } }, transform: { x: 0.25, y: 0, scale: 1.2 } });
    expect(ok.status).toBe(200);
    expect(ModelInfo.parse(await ok.json()).transform).toEqual({ x: 0.25, y: 0, scale: 1.2 });
    expect((await list()).models.find((m) => m.id === 'hiyori')?.emotionMap).toEqual({ joy: { expression: 'Smile' } });
    expect(JSON.parse(readFileSync(path.join(dataDir, 'models.json'), 'utf8'))).toMatchObject({ selected: 'hiyori' });
  });

  it('serves nothing outside an imported model: traversal, encoded traversal, hidden folders, built-in ids', async () => {
    mkdirSync(path.join(dataDir, 'models/.import-left'), { recursive: true });
    writeFileSync(path.join(dataDir, 'models/.import-left/x.json'), SECRET);
    for (const p of [
      '/models/hiyori/../../gateway-token',
      '/models/hiyori/%2e%2e/%2e%2e/gateway-token',
      '/models/hiyori/..%2f..%2fgateway-token',
      '/models/..%2fgateway-token',
      '/models/.import-left/x.json',
      '/models/shizuku/shizuku.model.json',
      '/models/%E0%A4%A/x',
    ]) {
      const r = await rawGet(p);
      expect(r.status, p).toBeGreaterThanOrEqual(400);
      expect(r.body, p).not.toContain(SECRET);
    }
  });

  it('deletes an imported model (token) and refuses a built-in one', async () => {
    const del = (id: string, headers: Record<string, string> = auth) => fetch(gateway.url + StudioPaths.model.replace(':id', id), { method: 'DELETE', headers });
    expect((await del('hiyori', {})).status).toBe(401);
    const builtin = await del('shizuku');
    expect(builtin.status).toBe(403);
    expect(((await builtin.json()) as { error: string }).error).toMatch(/built-in model and cannot be deleted/);
    expect((await del('nope')).status).toBe(404);
    const gone = await del('hiyori');
    expect(gone.status).toBe(200);
    expect(ModelListResponse.parse(await gone.json())).toMatchObject({ selected: 'shizuku', models: [{ id: 'shizuku' }] });
    expect(existsSync(path.join(dataDir, 'models/hiyori'))).toBe(false);
    expect((await fetch(gateway.url + '/models/hiyori/hiyori.model3.json')).status).toBe(404);
  });
});
