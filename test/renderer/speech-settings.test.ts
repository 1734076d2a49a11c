/**
 * The speech and models sections in real Chromium against the real gateway, with the real tts and
 * asr workers on redis-server and a local sherpa-onnx release server: the sections alone on a page
 * built here with vite (test/renderer/speech-settings-harness), served by the gateway as its renderer.
 * Checks: the preview of the draft voice plays a WAV of non-zero duration and an engine error shows
 * its fix; changing the engine emits a patch; the mic picker lists Chromium's fake devices, its level
 * meter moves with the fake mic (a tone), the choice is remembered, an unplugged device and a denied
 * permission are explained; a model download shows progress, cancels, resumes and installs, then is
 * deleted. Screenshots: /tmp/fav-shots/speech-en.png and speech-zh-CN.png.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import VueI18nPlugin from '@intlify/unplugin-vue-i18n/vite';
import vue from '@vitejs/plugin-vue';
import { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import vuetify from 'vite-plugin-vuetify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/main/gateway/server.js';
import { CONFIG_KEY } from '../../src/shared/bus.js';
import { ConfigSchema } from '../../src/shared/config.js';
import { encodeWav } from '../../src/workers/audio/pcm.js';
import { SHERPA_MODELS } from '../../src/workers/asr/models.js';
import { chromiumMissing, launchChromium, watchPage, type PageProblems } from '../helpers/chromium.js';
import { Worker } from '../helpers/worker.js';
import { testGatewayDeps } from '../main/gateway/helpers.js';
import { startBackend, type Backend } from '../main/supervisor/helpers.js';
import { ArchiveServer, buildModelArchive } from '../workers/asr/archive-server.js';

const skipReason = chromiumMissing();
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const HARNESS = path.join(ROOT, 'test', 'renderer', 'speech-settings-harness');
const SHOTS = '/tmp/fav-shots';
const SPEC = SHERPA_MODELS['sense-voice'];
const token = randomBytes(24).toString('base64url');

let tmp: string;
let bus: Backend;
let gateway: Gateway;
let archives: ArchiveServer;
let browser: Browser | undefined;
let page: Page;
let problems: PageProblems;
const workers: Worker[] = [];

/** Polls a page expression (waitForFunction is blocked by the CSP) until it is truthy. */
async function until<T>(fn: () => Promise<T>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const attr = (sel: string, name: string) => page.locator(sel).first().getAttribute(name);
/** The page's globals used here (the tests compile without the DOM library). */
interface Win {
  localStorage: { getItem(k: string): string | null; setItem(k: string, v: string): void; removeItem(k: string): void };
  navigator: { mediaDevices: { enumerateDevices(): Promise<Array<{ kind: string; deviceId: string }>>; dispatchEvent(e: Event): boolean } };
}
const model = (name = SPEC.name) => page.locator(`[data-model="${name}"]`);

/** A 30 s 440 Hz tone: what the fake microphone plays (once). */
function toneWav(file: string): void {
  const rate = 48_000;
  const samples = new Float32Array(rate * 30);
  for (let i = 0; i < samples.length; i++) samples[i] = 0.5 * Math.sin((2 * Math.PI * 440 * i) / rate);
  writeFileSync(file, encodeWav({ samples, sampleRate: rate }));
}

describe.skipIf(skipReason)('speech settings sections in Chromium', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'fav-speech-page-'));
    const out = path.join(tmp, 'page');
    await build({
      configFile: false,
      root: HARNESS,
      logLevel: 'warn',
      plugins: [
        vue(),
        vuetify({ autoImport: true }),
        VueI18nPlugin({ include: [path.join(ROOT, 'src/renderer/i18n/locales/**')], runtimeOnly: true, compositionOnly: true, fullInstall: false, strictMessage: true }),
      ],
      build: { outDir: out, emptyOutDir: true, minify: false },
    });
    archives = new ArchiveServer();
    await archives.start();
    archives.files.set(`${SPEC.archive}.tar.bz2`, buildModelArchive(tmp, SPEC, { 'model.int8.onnx': randomBytes(300_000), 'tokens.txt': Buffer.from('<blk> 0\n') }));
    bus = await startBackend('redis-server');
    const redis = new Redis(bus.url);
    await redis.set(CONFIG_KEY, JSON.stringify(ConfigSchema.parse({ dataDir: path.join(tmp, 'data'), tts: { engine: 'flite' }, asr: { sherpa: { modelsBaseUrl: archives.url } } })));
    redis.disconnect();
    workers.push(...(await Promise.all(['tts', 'asr'].map((s) => Worker.start(s, bus.url, { graceMs: 8000 })))));
    gateway = await startGateway(testGatewayDeps({ token, rendererDir: out, models: undefined, speech: { busUrl: bus.url } }), { host: '127.0.0.1', port: 0 });
    const mic = path.join(tmp, 'tone.wav');
    toneWav(mic);
    browser = await launchChromium({ fakeMic: mic });
    page = await browser.newPage({ viewport: { width: 1000, height: 1700 } });
    problems = await watchPage(page);
    await page.goto(`${gateway.url}/#token=${token}`);
    await page.locator('[data-testid="speech-section"]').waitFor();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    for (const w of workers) await w.stop();
    await gateway?.close();
    await bus?.stop();
    await archives?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 30_000);

  it('previews the draft voice: a WAV of non-zero duration is decoded and played', async () => {
    await page.locator('[data-testid="preview"]').click();
    const ms = Number(await until(() => attr('[data-testid="speech-section"]', 'data-played-ms').then((v) => (Number(v) > 0 ? v : undefined)), 'the preview'));
    expect(ms).toBeGreaterThan(500);
    expect(await page.locator('[data-testid="preview-played"]').innerText()).toMatch(/Played \d+\.\d s of audio/);
  });

  it('shows an engine failure with its fix', async () => {
    await page.evaluate(() => ((globalThis as unknown as { __settings: { tts: { voice: string } } }).__settings.tts.voice = 'nobody'));
    await page.locator('[data-testid="preview"]').click();
    const alert = page.locator('[data-testid="preview-error"]');
    await alert.waitFor();
    expect(await alert.getAttribute('data-code')).toBe('tts_failed');
    const text = await alert.innerText();
    expect(text).toContain('The voice engine could not speak this.');
    expect(text).toContain('flite has no voice "nobody"');
    expect(text).toContain('Fix: try another voice');
  });

  it('emits a patch when the engine changes, and lists that engine\'s voices', async () => {
    await page.locator('[data-testid="tts-engine"]').click();
    await page.getByRole('option', { name: 'espeak-ng' }).click();
    await page.getByRole('option').first().waitFor({ state: 'detached' });
    const patches = await page.evaluate(() => (globalThis as unknown as { __patches: unknown[] }).__patches);
    expect(patches.at(-1)).toEqual({ tts: { engine: 'espeak-ng', voice: '' } });
    expect(await page.locator('[data-testid="tts-network"]').innerText()).toContain('Runs offline on this computer');
    await page.locator('[data-testid="tts-voice"]').click();
    // espeak-ng's own list (the menu renders its first rows): the first voice after the default.
    const first = page.getByRole('option').nth(1);
    const name = (await first.innerText()).trim();
    expect(name).toMatch(/^[a-z]{2,3}(-[a-z0-9-]+)?$/);
    await first.click();
    await page.getByRole('option').first().waitFor({ state: 'detached' });
    expect((await page.evaluate(() => (globalThis as unknown as { __patches: unknown[] }).__patches)).at(-1)).toEqual({ tts: { voice: name } });
  });

  it('lists the fake microphones and the level meter moves with the fake mic', async () => {
    if ((await attr('[data-testid="mic-picker"]', 'data-running')) !== 'true') await page.locator('[data-testid="mic-check"]').click();
    const level = await until(() => attr('[data-testid="mic-picker"]', 'data-level').then((v) => (Number(v) > 20 ? Number(v) : undefined)), 'the level meter');
    expect(level).toBeGreaterThan(20);
    await page.locator('[data-testid="mic-device"]').click();
    await page.getByRole('option', { name: 'System default' }).waitFor();
    const options = await page.getByRole('option').allInnerTexts();
    expect(options[0]).toBe('System default');
    expect(options.filter((o) => /fake/i.test(o)).length).toBeGreaterThanOrEqual(1);
    const fake = options.find((o) => /fake/i.test(o) && !/default/i.test(o)) ?? options[1]!;
    await page.getByRole('option', { name: fake, exact: true }).click();
    await page.getByRole('option').first().waitFor({ state: 'detached' });
    const stored = await page.evaluate(() => (globalThis as unknown as Win).localStorage.getItem('fav.micDeviceId'));
    expect(stored).toBeTruthy();
    const ids = await page.evaluate(async () => (await (globalThis as unknown as Win).navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audioinput').map((d) => d.deviceId));
    expect(ids).toContain(stored);
    // The studio's capture (voice/mic.ts) asks for the remembered device.
    const asked = await page.evaluate(async () => {
      const w = globalThis as unknown as {
        navigator: { mediaDevices: { getUserMedia(c: unknown): Promise<unknown> } };
        __openMic(cb: { onFrame(): void; onEnded(): void }): Promise<{ stop(): Promise<void> }>;
      };
      const seen: unknown[] = [];
      const real = w.navigator.mediaDevices.getUserMedia.bind(w.navigator.mediaDevices);
      w.navigator.mediaDevices.getUserMedia = (c: unknown) => (seen.push(c), real(c));
      const mic = await w.__openMic({ onFrame: () => undefined, onEnded: () => undefined });
      await mic.stop();
      w.navigator.mediaDevices.getUserMedia = real;
      return seen;
    });
    expect(asked).toEqual([expect.objectContaining({ audio: expect.objectContaining({ deviceId: { ideal: stored } }) })]);
  });

  it('explains an unplugged microphone on a device change', async () => {
    await page.evaluate(() => (globalThis as unknown as Win).localStorage.setItem('fav.micDeviceId', 'a-device-that-was-unplugged'));
    await page.reload();
    // Granted before in this page: the meter starts by itself.
    await until(() => attr('[data-testid="mic-picker"]', 'data-running').then((v) => v === 'true'), 'the meter');
    await page.evaluate(() => (globalThis as unknown as Win).navigator.mediaDevices.dispatchEvent(new Event('devicechange')));
    await until(() => page.locator('[data-testid="mic-notice"]').count(), 'the notice');
    expect(await page.locator('[data-testid="mic-notice"]').innerText()).toContain('was unplugged');
    expect(await page.locator('[data-testid="mic-device"]').innerText()).toContain('The chosen microphone (not connected)');
    await page.evaluate(() => (globalThis as unknown as Win).localStorage.removeItem('fav.micDeviceId'));
  });

  it('explains a denied microphone permission and its fix', async () => {
    // Every permission prompt answered "Block", as a user would.
    const denied = await launchChromium({ args: ['--use-fake-device-for-media-stream', '--deny-permission-prompts'] });
    try {
      const p = await denied.newPage();
      await p.goto(`${gateway.url}/#token=${token}`);
      await p.locator('[data-testid="mic-check"]').click();
      const alert = p.locator('[data-testid="mic-problem"]');
      await alert.waitFor();
      expect(await p.locator('[data-testid="mic-picker"]').getAttribute('data-problem')).toBe('denied');
      expect(await alert.innerText()).toContain('set Microphone to Allow');
    } finally {
      await denied.close();
    }
  }, 90_000);

  it('downloads a model with progress, cancels, resumes to installed, and deletes it', async () => {
    await until(() => model().getAttribute('data-state').then((s) => s === 'absent'), 'the list');
    archives.holdAfter = 100_000;
    await model().locator('[data-testid="model-download"]').click();
    await until(() => model().getAttribute('data-percent').then((p) => Number(p) > 0), 'progress');
    expect(await model().locator('[data-testid="model-progress"]').innerText()).toMatch(/kB of \d+ kB/);
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'speech-en.png'), fullPage: true });
    await model().locator('[data-testid="model-cancel"]').click();
    await until(() => model().getAttribute('data-state').then((s) => s === 'absent'), 'cancelled');
    expect(await model().locator('[data-testid="model-download"]').innerText()).toMatch(/resume \(\d+ kB kept\)/i);
    archives.release();
    await model().locator('[data-testid="model-download"]').click();
    await until(() => model().getAttribute('data-state').then((s) => s === 'installed'), 'installed', 30_000);
    expect(archives.served.at(-1)?.status).toBe(206);
    await model().locator('[data-testid="model-delete"]').click();
    await until(() => model().getAttribute('data-state').then((s) => s === 'absent'), 'deleted');
  });

  it('shows the page in Chinese', async () => {
    await page.goto(`${gateway.url}/?lang=zh-CN`);
    await page.locator('[data-testid="speech-section"]').waitFor();
    await until(() => model().count(), 'the model list');
    expect(await page.locator('[data-testid="speech-section"]').innerText()).toContain('语音识别');
    expect(await page.locator('[data-testid="models-section"]').innerText()).toContain('本地语音模型');
    // The Chinese font's pieces load as the page shows their characters.
    await page.evaluate(() => (globalThis as unknown as { document: { fonts: { ready: Promise<unknown> } } }).document.fonts.ready.then(() => true));
    await page.screenshot({ path: path.join(SHOTS, 'speech-zh-CN.png'), fullPage: true });
    expect(problems.pageErrors).toEqual([]);
  });
});
