/**
 * The built studio page (out/renderer) served by the real gateway (src/main/gateway) over HTTP,
 * rendered by real Chromium. In-test sources stand in for the supervisor and bus, so the test
 * controls what the core reports and can take the core away. Checks: every service renders with
 * the state it was given, updates arrive by polling, an unreachable core is said plainly, the page
 * recovers, and nothing violates the CSP or logs an error. The services table is on the manager page. Leaves a screenshot in /tmp/studio.png.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RENDERER_CSP } from '../../src/shared/renderer-api.js';
import { startGateway, type Gateway } from '../../src/main/gateway/server.js';
import { testGatewayDeps } from '../main/gateway/helpers.js';
import type { GatewayDeps, ServiceView } from '../../src/main/gateway/types.js';
import {
  chromiumMissing,
  launchChromium,
  readCspViolations,
  watchPage,
  type PageProblems,
} from '../helpers/chromium.js';
import { ensureBuilt, rendererDir } from '../electron/built-app.js';

const skipReason = chromiumMissing();
const SCREENSHOT = '/tmp/studio.png';

const services: ServiceView[] = [
  { name: 'input-handler', state: 'ready', restarts: 0, instances: [{ pid: 4101 }] },
  { name: 'asr', state: 'starting', restarts: 0, instances: [{ pid: 4102 }] },
  { name: 'tts', state: 'ready', restarts: 0, instances: [{ pid: 4103 }, { pid: 4104 }] },
  { name: 'memory', state: 'failed', restarts: 5, instances: [] },
];

let gateway: Gateway | undefined;
let browser: Browser | undefined;
let page: Page;
let problems: PageProblems;

function deps(): GatewayDeps {
  return testGatewayDeps({
    token: 'test-token',
    services: { status: () => services, restart: async () => {} },
    bus: { kind: 'external', url: 'redis://127.0.0.1:6390', ping: async () => true },
    rendererDir,
  });
}

const stateOf = (name: string) => page.locator(`[data-service="${name}"] [data-testid="state"]`);

describe.skipIf(skipReason !== undefined)(`studio page in Chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(async () => {
    await ensureBuilt();
    gateway = await startGateway(deps(), { host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1100, height: 640 } });
    problems = await watchPage(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  it('renders every service with the state the core reports', async () => {
    // The services table is on the manager page (without the token: the public service list, no stats).
    const response = await page.goto(`${gateway!.url}/?view=manager`);
    expect(response?.status()).toBe(200);
    await expect(page.title()).resolves.toBe('Free-Agent-Vtuber Studio');
    await page.locator('[data-service="memory"]').waitFor({ timeout: 10_000 });

    for (const s of services) await expect(stateOf(s.name).innerText()).resolves.toBe(s.state);
    const rows = await page.evaluate(`[...document.querySelectorAll('[data-service]')].map((e) => e.dataset.service)`);
    expect(rows).toEqual(services.map((s) => s.name));
    await expect(page.locator('[data-service="tts"]').innerText()).resolves.toMatch(/4103, 4104/);
    await expect(page.locator('[data-service="memory"] [data-testid="restarts"]').innerText()).resolves.toBe('5');
    await expect(page.locator('[data-testid="bus-kind"]').getAttribute('data-bus-kind')).resolves.toBe('external');
    await expect(page.locator('[data-testid="connection"]').getAttribute('data-connection')).resolves.toBe('online');
    // Chip colours follow the state: a failed service is red, a ready one green.
    await expect(stateOf('memory').getAttribute('class')).resolves.toMatch(/bg-error/);
    await expect(stateOf('tts').getAttribute('class')).resolves.toMatch(/bg-success/);

    await page.screenshot({ path: SCREENSHOT });
  });

  it('follows state changes by polling', async () => {
    services[1] = { ...services[1]!, state: 'ready' };
    await page.locator('[data-service="asr"] [data-testid="state"]', { hasText: /^ready$/ }).waitFor({ timeout: 6_000 });
  });

  it("shows what a service has to tell, under its row (a salvaged memory database)", async () => {
    const notice = 'memory.db was damaged (database disk image is malformed); saved 778 rows into a new one (22 lost). The old file is kept as /data/memory/memory.db.corrupt-2026-01-01T00-00-00-000Z';
    services[3] = { ...services[3]!, state: 'ready', notice };
    const shown = page.locator('[data-service-notice="memory"] [data-testid="notice"]');
    await shown.waitFor({ timeout: 6_000 });
    await expect(shown.innerText()).resolves.toBe(notice);
    await expect(page.locator('[data-service-notice]').count()).resolves.toBe(1);
    services[3] = { ...services[3]!, notice: undefined };
    await shown.waitFor({ state: 'detached', timeout: 6_000 });
  });

  it('has no CSP violations, console errors or page errors while the core is up', async () => {
    expect(await readCspViolations(page)).toEqual([]);
    expect(problems.consoleErrors).toEqual([]);
    expect(problems.pageErrors).toEqual([]);
    // The policy in force is the project's: the built page carries it in its <meta>.
    const meta = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    expect(meta).toBe(RENDERER_CSP);
  });

  it('says plainly when the core is unreachable, and recovers when it is back', async () => {
    const port = gateway!.port;
    await gateway!.close();
    gateway = undefined;
    const alert = page.locator('[data-testid="unreachable"]');
    await alert.waitFor({ timeout: 8_000 });
    await expect(alert.innerText()).resolves.toMatch(/The core is unreachable/);
    await expect(page.locator('[data-testid="connection"]').getAttribute('data-connection')).resolves.toBe('offline');
    // The last known services stay on screen while the core is away.
    await expect(stateOf('tts').innerText()).resolves.toBe('ready');
    await page.screenshot({ path: SCREENSHOT.replace('.png', '-offline.png') });

    gateway = await startGateway(deps(), { host: '127.0.0.1', port });
    await alert.waitFor({ state: 'detached', timeout: 8_000 });
    await expect(page.locator('[data-testid="connection"]').getAttribute('data-connection')).resolves.toBe('online');

    // While the core was away the browser logs failed requests; nothing else may appear.
    const unexpected = problems.consoleErrors.filter((m) => !/Failed to load resource|ERR_CONNECTION_REFUSED|Failed to fetch/.test(m));
    expect(unexpected).toEqual([]);
    expect(problems.pageErrors).toEqual([]);
    expect(await readCspViolations(page)).toEqual([]);
  });
});
