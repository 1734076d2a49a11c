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
  /** More command-line flags (e.g. --deny-permission-prompts: every permission prompt answered "Block"). */
  args?: string[];
}

export function launchChromium(opts: LaunchOptions = {}): Promise<Browser> {
  const mic = opts.fakeMic
    ? ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${opts.fakeMic}%noloop`]
    : [];
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...FLAGS, ...mic, ...(opts.args ?? [])] });
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

/** One JSON frame of the page's session socket, as the page saw it (through its onmessage). */
export interface WireEntry {
  dir: 'in' | 'out';
  type: string;
  turn?: string;
  /** The player's AudioContext time (window.__favVoice) when the page sent it, or received it. */
  audioTime: number | null;
  /** For frames received: the player's active sources once the page had handled the frame. */
  activeAfter?: number;
}

/**
 * Records, in the page, every JSON frame its WebSockets send and receive, in order, with the
 * player's audio clock at that moment: a test then checks what the page did relative to what it
 * was told (playback_done after audio_end, after the schedule's end in audio time; the sources
 * gone once `stop` was handled) by the page's own clock, not by the test's wall clock. A string,
 * like watchPage's script.
 */
export async function recordWire(page: Page): Promise<void> {
  await page.addInitScript({
    content: `window.__wire = [];
      (() => {
        const clock = () => (window.__favVoice ? window.__favVoice.stats().contextTime : null);
        const parse = (d) => { if (typeof d !== 'string') return null; try { return JSON.parse(d); } catch { return null; } };
        const Base = window.WebSocket;
        window.WebSocket = class extends Base {
          // The page sets onmessage (session.ts): wrap it to look before and after its handler.
          set onmessage(fn) {
            super.onmessage = fn && ((e) => {
              const m = parse(e.data);
              const entry = m ? { dir: 'in', type: m.type, turn: m.turn_id, audioTime: clock() } : undefined;
              if (entry) window.__wire.push(entry);
              const r = fn.call(this, e);
              if (entry) entry.activeAfter = window.__favVoice ? window.__favVoice.stats().activeSources : undefined;
              return r;
            });
          }
          get onmessage() {
            return super.onmessage;
          }
          send(d) {
            const m = parse(d);
            if (m) window.__wire.push({ dir: 'out', type: m.type, turn: m.turn_id, audioTime: clock() });
            return super.send(d);
          }
        };
      })();`,
  });
}

export function readWire(page: Page): Promise<WireEntry[]> {
  return page.evaluate('window.__wire') as Promise<WireEntry[]>;
}
