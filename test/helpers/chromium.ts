/**
 * The one way tests start a real Chromium: Debian's /usr/bin/chromium driven by playwright-core
 * (Playwright's own browsers cannot be downloaded here), with the flags of FIELD-NOTES.md, an
 * optional fake microphone, and a skip reason when it is absent (under CI=true the global setup in
 * system-packages.ts fails the run instead).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.FAV_CHROMIUM ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH)
    ? undefined
    : `no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium, or set FAV_CHROMIUM)`;
}

/** Flags that work as root on the project's machines, without flooding the closed network. */
const FLAGS = [
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--autoplay-policy=no-user-gesture-required',
  '--use-gl=angle',
  '--use-angle=swiftshader',
];

export interface LaunchOptions {
  /** A WAV file that Chromium's fake capture device plays once as the microphone (getUserMedia granted). */
  fakeMic?: string;
}

export function launchChromium(opts: LaunchOptions = {}): Promise<Browser> {
  const mic = opts.fakeMic
    ? ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${opts.fakeMic}%noloop`]
    : [];
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...FLAGS, ...mic] });
}

export interface PageProblems {
  consoleErrors: string[];
  pageErrors: string[];
  /** Filled in the page by a listener for `securitypolicyviolation`; read with readCspViolations. */
}

/**
 * Records console errors and uncaught page errors, and installs a CSP-violation listener. The policy
 * comes from index.html's <meta>, the same text the Electron session sends as a header. (Adding the
 * header here with page.route was tried: Playwright then fetches from Node over keep-alive, and the
 * gateway's close() waits ~30 s for that connection.) The init script is a string: tsx/vitest
 * rewrite functions in ways that break when Playwright serialises them into the page.
 */
export async function watchPage(page: Page): Promise<PageProblems> {
  const problems: PageProblems = { consoleErrors: [], pageErrors: [] };
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => problems.pageErrors.push(err.message));
  await page.addInitScript({
    content: `window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
      });`,
  });
  return problems;
}

export function readCspViolations(page: Page): Promise<string[]> {
  return page.evaluate('window.__csp') as Promise<string[]>;
}
