/**
 * The studio's model panel in real Chromium against a real gateway with real model files: the panel
 * alone on a page built here with vite (test/renderer/model-panel-harness), served by the gateway
 * as its renderer, with the shizuku sample as the built-in model. Checks: the list and the proposed
 * emotion map show; a good zip imported through the file picker is listed and selected; a broken
 * one shows its problems by file and changes nothing; a dropped folder is zipped in the page and
 * imported; the emotion map's preview calls the `preview` prop and save persists; delete.
 * Leaves screenshots in /tmp/model-panel.png and /tmp/model-panel-broken.png (the refused import).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import VueI18nPlugin from '@intlify/unplugin-vue-i18n/vite';
import vuetify from 'vite-plugin-vuetify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/main/gateway/server.js';
import { ModelLibrary } from '../../src/main/models/index.js';
import { ModelListResponse, type ModelSettings } from '../../src/shared/models.js';
import { chromiumMissing, launchChromium, watchPage, type PageProblems } from '../helpers/chromium.js';
import { copyShizuku, cubism3Zip, tempDir } from '../main/models/fixtures.js';

const skipReason = chromiumMissing();
const LOCALES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/renderer/i18n/locales/**');
const HARNESS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'model-panel-harness');
const token = randomBytes(24).toString('base64url');

let root: string;
let gateway: Gateway;
let browser: Browser | undefined;
let page: Page;
let problems: PageProblems;
/** Every settings save the library was asked for. */
const saved: Array<[string, ModelSettings]> = [];

async function list(): Promise<ModelListResponse> {
  return ModelListResponse.parse(await (await fetch(gateway.url + '/api/models')).json());
}

const listed = () => page.locator('[data-testid="model-list"] [data-model-id]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-model-id')}${e.getAttribute('data-selected') === 'true' ? '*' : ''}`));

describe.skipIf(skipReason)('model panel in Chromium', () => {
  beforeAll(async () => {
    root = tempDir('fav-model-panel-');
    const out = path.join(root, 'page');
    await build({ configFile: false, root: HARNESS, logLevel: 'warn', plugins: [vue(), vuetify({ autoImport: true }), VueI18nPlugin({ include: [LOCALES], runtimeOnly: true, compositionOnly: true, fullInstall: false })], build: { outDir: out, emptyOutDir: true, minify: false } });
    const builtinDir = path.join(root, 'live2d-models');
    mkdirSync(builtinDir);
    copyShizuku(path.join(builtinDir, 'shizuku'));
    const library = new ModelLibrary({ builtinDir, dataDir: path.join(root, 'data') });
    const save = library.saveSettings.bind(library);
    library.saveSettings = (id, settings) => {
      saved.push([id, settings]);
      return save(id, settings);
    };
    gateway = await startGateway(
      {
        version: '0.0.0-test',
        token,
        services: { status: () => [], restart: async () => {} },
        logs: { tail: () => [], subscribe: () => () => {} },
        bus: { kind: 'external', url: 'redis://test', ping: async () => true },
        rendererDir: out,
        models: { library },
      },
      { host: '127.0.0.1', port: 0 },
    );
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 900, height: 1400 } });
    problems = await watchPage(page);
    await page.goto(`${gateway.url}/#token=${token}`);
  }, 120_000);

  afterAll(async () => {
    await page?.screenshot({ path: '/tmp/model-panel.png', fullPage: true }).catch(() => {});
    await browser?.close();
    await gateway?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('lists the built-in model, selected, with its proposed emotion map', async () => {
    await page.locator('[data-model-id="shizuku"]').waitFor();
    expect(await listed()).toEqual(['shizuku*']);
    await expect.poll(() => page.locator('[data-emotion="sad"]').innerText()).toContain('Expression: f02');
    expect(await page.locator('[data-emotion="angry"]').innerText()).toContain('Expression: f03');
  });

  it('imports a good zip from the file picker: listed and selected', async () => {
    await page.locator('[data-testid="model-zip-input"]').setInputFiles({ name: 'hiyori.zip', mimeType: 'application/zip', buffer: Buffer.from(cubism3Zip({ version: 3 })) });
    await page.locator('[data-testid="model-imported"]').waitFor();
    await expect.poll(listed).toEqual(['shizuku', 'hiyori*']);
    expect((await list()).selected).toBe('hiyori');
  });

  it('a broken zip shows its problems by file, and the list and the selection stay', async () => {
    const zip = cubism3Zip({ version: 8, edit: (j) => ((j.FileReferences as Record<string, unknown>).Textures = ['gone.png']) }, 'broken/');
    await page.locator('[data-testid="model-zip-input"]').setInputFiles({ name: 'broken.zip', mimeType: 'application/zip', buffer: Buffer.from(zip) });
    const alert = page.locator('[data-testid="model-import-error"]');
    await alert.waitFor();
    const items = await page.locator('[data-testid="model-problem"]').allInnerTexts();
    expect(items).toEqual([expect.stringMatching(/^broken\/hiyori\.moc3: moc3 version 8 is newer/), expect.stringMatching(/^broken\/gone\.png: missing/)]);
    expect(await alert.innerText()).toContain('The current model stays as it is.');
    await page.screenshot({ path: '/tmp/model-panel-broken.png', fullPage: true });
    expect(await listed()).toEqual(['shizuku', 'hiyori*']);
    expect((await list()).models.map((m) => m.id)).toEqual(['shizuku', 'hiyori']);
  });

  it('a dropped .zip is imported too', async () => {
    const bytes = JSON.stringify([...cubism3Zip({ name: 'mao' })]);
    // A string: the test's tsconfig has no DOM types, and the page builds the DataTransfer itself.
    const dt = await page.evaluateHandle(
      `(() => { const t = new DataTransfer(); t.items.add(new File([new Uint8Array(${bytes})], 'mao.zip', { type: 'application/zip' })); return t; })()`,
    );
    await page.dispatchEvent('[data-testid="model-panel"]', 'drop', { dataTransfer: dt });
    await expect.poll(listed).toEqual(['shizuku', 'hiyori', 'mao*']);
  });

  it('a folder from the directory picker is zipped in the page and imported', async () => {
    const d = tempDir();
    try {
      const { writeCubism3Model } = await import('../main/models/fixtures.js');
      writeCubism3Model(path.join(d, 'natori'), { name: 'natori' });
      await page.locator('[data-testid="model-folder-input"]').setInputFiles(path.join(d, 'natori'));
      await expect.poll(listed).toEqual(['shizuku', 'hiyori', 'mao', 'natori*']);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('the emotion map: preview plays the chosen action through the prop, save persists it', async () => {
    const row = page.locator('[data-emotion="thinking"]');
    const saveButton = page.locator('[data-testid="emotion-save"]');
    expect(await saveButton.isDisabled()).toBe(true);
    await row.locator('.v-select').click();
    await page.locator('.v-overlay-container .v-list-item', { hasText: 'Motion group: TapBody' }).click();
    await row.locator('[data-testid="emotion-preview"]').click();
    expect(await page.evaluate('globalThis.__previews')).toEqual([{ motion: { group: 'TapBody' } }]);
    expect(await saveButton.isDisabled()).toBe(false);
    await saveButton.click();
    await expect.poll(async () => (await list()).models.find((m) => m.id === 'natori')?.emotionMap.thinking).toEqual({ motion: { group: 'TapBody' } });
    // Saved: nothing left to save.
    await expect.poll(() => saveButton.isDisabled()).toBe(true);
  });

  it('a dragged avatar saves its transform once it rests (the last position wins)', async () => {
    await page.evaluate(`(() => {
      for (let i = 1; i <= 20; i++) globalThis.__models.saveTransform('natori', { x: i / 100, y: 0, scale: 1 });
    })()`);
    await expect.poll(async () => (await list()).models.find((m) => m.id === 'natori')?.transform).toEqual({ x: 0.2, y: 0, scale: 1 });
    // The gateway handles them in order: without the wait for rest, all twenty would have been saved by now.
    expect(saved.filter(([id, s]) => id === 'natori' && s.transform)).toEqual([['natori', { transform: { x: 0.2, y: 0, scale: 1 } }]]);
  });

  it('deletes an imported model; a built-in one has no delete button', async () => {
    expect(await page.locator('[data-model-id="shizuku"] [data-testid="model-delete"]').count()).toBe(0);
    await page.locator('[data-model-id="mao"] [data-testid="model-delete"]').click();
    await expect.poll(listed).toEqual(['shizuku', 'hiyori', 'natori*']);
    expect((await list()).models.map((m) => m.id)).toEqual(['shizuku', 'hiyori', 'natori']);
  });

  it('no page errors, and no console errors but the refused import', () => {
    expect(problems.pageErrors).toEqual([]);
    expect(problems.consoleErrors).toEqual([expect.stringMatching(/status of 400 \(Bad Request\)/)]);
  });
});
