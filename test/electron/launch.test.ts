/**
 * The packaged shell end to end: Playwright's `_electron.launch()` starts the built app (out/), the
 * studio window must show the page the gateway serves, with the services on its manager page, `window.fav` must be the
 * preload's API and nothing more, and quitting must stop the core (the gateway stops answering).
 * Needs the Electron binary, which cannot be downloaded on the project's build machines: the test
 * skips, saying so, when node_modules/electron/dist is absent (`npx install-electron` fetches it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron, type ElectronApplication } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, repoRoot } from './built-app.js';

const electronDist = path.join(repoRoot, 'node_modules/electron/dist');
const executable = path.join(electronDist, process.platform === 'win32' ? 'electron.exe' : 'electron');
const skipReason = existsSync(executable)
  ? undefined
  : `no Electron binary at ${electronDist} (it cannot be downloaded here; run \`npx install-electron\` where it can)`;

let app: ElectronApplication | undefined;
let xvfb: ChildProcess | undefined;
let dataDir: string;

/** A display for the window: the real one if there is one, else a private Xvfb. */
async function display(): Promise<string | undefined> {
  if (process.platform !== 'linux' || process.env.DISPLAY) return process.env.DISPLAY;
  const name = `:${90 + Math.floor(Math.random() * 400)}`;
  xvfb = spawn('Xvfb', [name, '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return name;
}

describe.skipIf(skipReason !== undefined)(`Electron app${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(async () => {
    await ensureBuilt();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fav-electron-'));
    const env: Record<string, string> = { ...(process.env as Record<string, string>), FAV_DATA_DIR: dataDir, FAV_PORT: '0' };
    const shown = await display();
    if (shown) env.DISPLAY = shown;
    app = await _electron.launch({
      executablePath: executable,
      // Chromium refuses its sandbox as root without this; the renderer sandbox stays on otherwise.
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), repoRoot],
      env,
      timeout: 60_000,
    });
  }, 120_000);

  afterAll(async () => {
    await app?.close().catch(() => {});
    xvfb?.kill();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('opens the studio window on the gateway and shows the services', async () => {
    const win = await app!.firstWindow();
    await win.waitForLoadState('domcontentloaded');
    expect(win.url()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    await expect(win.title()).resolves.toBe('Free-Agent-Vtuber Studio');
    // The services are on the manager page.
    await win.locator('[data-testid="nav-manager"]').click();
    await win.locator('[data-service]').first().waitFor({ timeout: 30_000 });
    await win.screenshot({ path: '/tmp/studio-electron.png' });
  });

  it('exposes only the preload API: window.fav, no Node', async () => {
    const win = await app!.firstWindow();
    const probe = await win.evaluate(
      `(async () => ({ keys: Object.keys(window.fav).sort(), require: typeof require, process: typeof process,
         token: typeof (await window.fav.getToken()) }))()`,
    );
    expect(probe).toEqual({ keys: ['getToken', 'platform', 'version'], require: 'undefined', process: 'undefined', token: 'string' });
  });

  it('blocks navigation away from the gateway', async () => {
    const win = await app!.firstWindow();
    const before = win.url();
    // Not http(s): blocked without handing it to the OS browser either.
    await win.evaluate(`location.href = 'file:///etc/hostname'`).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(win.url()).toBe(before);
  });

  it('stops the core when the app quits', async () => {
    const win = await app!.firstWindow();
    const gateway = new URL(win.url()).origin;
    await expect(fetch(`${gateway}/health`).then((r) => r.status)).resolves.toBe(200);
    await app!.close();
    app = undefined;
    await expect(fetch(`${gateway}/health`)).rejects.toThrow();
  });
});
