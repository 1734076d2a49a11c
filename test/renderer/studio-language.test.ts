/**
 * The studio in Simplified Chinese and English, in real Chromium from the real gateway: `?lang=zh-CN`
 * (or a Chinese system language) shows Chinese, the language menu switches live and is remembered
 * across a reload, and Chinese renders with the Noto Sans SC the app ships (these machines have no
 * CJK font, so without it the glyphs would be boxes). Screenshots: /tmp/fav-shots/stage-<lang>.png.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/main/gateway/server.js';
import { testGatewayDeps } from '../main/gateway/helpers.js';
import { chromiumMissing, launchChromium, readCspViolations, watchPage, type PageProblems } from '../helpers/chromium.js';
import { ensureBuilt, rendererDir } from '../electron/built-app.js';

const skipReason = chromiumMissing();
const SHOTS = '/tmp/fav-shots';

let gateway: Gateway | undefined;
let browser: Browser | undefined;

async function open(url: string, locale?: string): Promise<{ page: Page; problems: PageProblems }> {
  const context = await browser!.newContext({ viewport: { width: 1280, height: 800 }, locale });
  const page = await context.newPage();
  const problems = await watchPage(page);
  await page.goto(url);
  await page.locator('[data-testid="nav-stage"]').waitFor({ timeout: 15_000 });
  return { page, problems };
}

const navLabels = (page: Page) => page.evaluate(`[...document.querySelectorAll('[data-testid^="nav-"]')].map((e) => e.innerText.trim())`);

/** Whether a Noto Sans SC face finished loading (fonts load on first use, per unicode range). */
async function cjkFontLoaded(page: Page): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const loaded = await page.evaluate(`document.fonts.ready.then(() => [...document.fonts].some((f) => f.family.replace(/"/g, '') === 'Noto Sans SC' && f.status === 'loaded'))`);
    if (loaded) return true;
    await page.waitForTimeout(100);
  }
  return false;
}

describe.skipIf(skipReason !== undefined)(`the studio's languages${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(async () => {
    await ensureBuilt();
    mkdirSync(SHOTS, { recursive: true });
    gateway = await startGateway(testGatewayDeps({ token: 'test-token', rendererDir }), { host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it('follows a Chinese system language, and renders it with the font the app ships', async () => {
    const { page, problems } = await open(`${gateway!.url}/`, 'zh-CN');
    await expect(navLabels(page)).resolves.toEqual(['舞台', '直播弹幕', '记忆', '设置', '管理', '初始设置']);
    await expect(page.evaluate('document.documentElement.lang')).resolves.toBe('zh-CN');
    expect(await cjkFontLoaded(page)).toBe(true);
    // The face that covers these characters is the shipped one, ready to draw them.
    await expect(page.evaluate(`document.fonts.check('16px "Noto Sans SC"', '舞台设置管理初始')`)).resolves.toBe(true);
    await page.screenshot({ path: `${SHOTS}/stage-zh-CN.png` });
    expect(await readCspViolations(page)).toEqual([]);
    expect(problems.pageErrors).toEqual([]);
    await page.context().close();
  });

  it('switches language from the menu at once, and remembers it across a reload', async () => {
    const { page, problems } = await open(`${gateway!.url}/`, 'en-US');
    await expect(navLabels(page)).resolves.toEqual(['Stage', 'Live chat', 'Memory', 'Settings', 'Manager', 'Setup']);
    await page.screenshot({ path: `${SHOTS}/stage-en.png` });

    await page.locator('[data-testid="language"]').click();
    await page.locator('[data-testid="language-zh-CN"]').click();
    await page.locator('[data-testid="nav-stage"]', { hasText: '舞台' }).waitFor({ timeout: 5_000 });
    await expect(page.locator('[data-testid="talk-panel"]').innerText()).resolves.toContain('对话');

    await page.reload();
    await page.locator('[data-testid="nav-stage"]', { hasText: '舞台' }).waitFor({ timeout: 15_000 });
    // ?lang= wins over the remembered choice (an OBS source has no menu).
    await page.goto(`${gateway!.url}/?lang=en`);
    await page.locator('[data-testid="nav-stage"]', { hasText: 'Stage' }).waitFor({ timeout: 15_000 });
    expect(problems.pageErrors).toEqual([]);
    await page.context().close();
  });
});
