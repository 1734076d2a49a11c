/**
 * The issue's "first run against a stand-in 'Ollama' ends with the avatar speaking", as a new user
 * does it: a data dir with no settings.json, the real studio (startStudio: embedded bus, the eight
 * services, flite TTS) whose LLM setting still points at the default Ollama port where nothing
 * runs, and an OpenAI-compatible stand-in on a free port that the first-run detection probes as
 * "Ollama". In Chromium the setup page opens by itself; the wizard finds the stand-in and its
 * models, tests it, plays a voice sample, hears the (fake) microphone, saves, and lands on the
 * stage, where the greeting is answered by the stand-in's text, spoken with flite and played by the
 * page. Screenshots: /tmp/fav-shots/setup-en.png and setup-zh-CN.png.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStudio, type Studio } from '../../src/main/app.js';
import { loadConfig } from '../../src/main/config/load-config.js';
import { chromiumMissing, launchChromium, readCspViolations, watchPage, type PageProblems } from '../helpers/chromium.js';
import { startOpenAiServer, type OpenAiServer } from '../helpers/openai-server.js';
import { freePort } from '../helpers/redis-server.js';
import { ensureBuilt, rendererDir } from '../electron/built-app.js';
import { HAVE_FLITE, HAVE_POCKETSPHINX } from '../pipeline/helpers.js';
import { makeFakeMic } from './voice-audio.js';

const REPLY = 'Hello everyone! I am so happy to be here.';
const SHOTS = '/tmp/fav-shots';
const skipReason = chromiumMissing() ?? (!HAVE_FLITE ? 'flite is not installed (apt install flite)' : !HAVE_POCKETSPHINX ? 'pocketsphinx is not installed (apt install pocketsphinx pocketsphinx-en-us)' : undefined);

/** Polls `expr` in the page until it is truthy (waitForFunction is blocked by the CSP). */
async function until(page: Page, expr: string, timeoutMs: number, what: string): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await page.evaluate(expr);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(skipReason !== undefined)(`first run in Chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let ai: OpenAiServer;
  let studio: Studio;
  let browser: Browser;
  let page: Page;
  let problems: PageProblems;
  let dataDir: string;
  let downUrl: string;

  beforeAll(async () => {
    await ensureBuilt();
    mkdirSync(SHOTS, { recursive: true });
    ai = await startOpenAiServer({ models: ['qwen2.5:7b', 'llama3.2:3b'], reply: REPLY, firstTokenDelayMs: 30, tokensPerSecond: 60 });
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fav-first-run-'));
    downUrl = `http://127.0.0.1:${await freePort()}/v1`;
    // Only what a fresh install has: no settings file, no FAV_* variables, the default LLM preset.
    const { config } = loadConfig({ port: 0, dataDir }, {});
    expect(config.llm.baseUrl).toBeUndefined();
    studio = await startStudio({
      config,
      rendererDir,
      llmProbeTargets: [
        { preset: 'ollama', baseUrl: ai.url },
        { preset: 'lmstudio', baseUrl: downUrl },
      ],
    });
    const mic = makeFakeMic('Testing the microphone.', path.join(dataDir, 'mic.wav'), 0.3);
    browser = await launchChromium({ fakeMic: mic.file });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 }, locale: 'en-US' });
    problems = await watchPage(page);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await studio?.stop();
    await ai?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('opens the setup page by itself and finds the stand-in "Ollama" with its models', async () => {
    await page.goto(`${studio.gatewayUrl}/#token=${studio.token}`);
    await page.locator('[data-testid="setup"][data-step="language"]').waitFor({ timeout: 20_000 });
    await page.locator('[data-testid="setup-language-en"] input').check();
    await page.locator('[data-testid="setup-next"]').click();

    const found = page.locator('[data-testid="llm-detected-ollama"]');
    await found.waitFor({ timeout: 15_000 });
    await expect(found.innerText()).resolves.toContain(`Ollama at ${ai.url} (2 models)`);
    await expect(page.locator('[data-testid="llm-detected-model"]').innerText()).resolves.toContain('qwen2.5:7b');
    await expect(page.locator('[data-testid="llm-not-found"] [data-preset="lmstudio"]').innerText()).resolves.toBe(`LM Studio at ${downUrl}: not running`);
    await expect(page.locator('[data-testid="llm-reach"]').getAttribute('data-reach')).resolves.toBe('offline');
    await expect(page.locator('[data-testid="llm-offline-note"]').innerText()).resolves.toMatch(/works offline.*Cloud LLMs .* need the internet/s);
    await page.screenshot({ path: `${SHOTS}/setup-en.png` });

    // The same step in Chinese (the language step is the app's language menu), then back.
    await page.locator('[data-testid="setup-step-language"]').click();
    await page.locator('[data-testid="setup-language-zh-CN"] input').check();
    await page.locator('[data-testid="setup-step-llm"]').click();
    await page.locator('[data-testid="llm-detected-ollama"]', { hasText: '个模型' }).waitFor({ timeout: 10_000 });
    await expect(page.locator('[data-testid="llm-offline-note"]').innerText()).resolves.toContain('无需联网');
    await page.screenshot({ path: `${SHOTS}/setup-zh-CN.png` });
    await page.locator('[data-testid="setup-step-language"]').click();
    await page.locator('[data-testid="setup-language-en"] input').check();
    await page.locator('[data-testid="setup-step-llm"]').click();
  }, 60_000);

  it('tests the chosen model: the stand-in answers and its time to first token is shown', async () => {
    await page.locator('[data-testid="llm-test"]').click();
    const ok = page.locator('[data-testid="llm-test-ok"]');
    await ok.waitFor({ timeout: 15_000 });
    await expect(ok.innerText()).resolves.toMatch(/^Answered: first token after \d+ ms \(qwen2\.5:7b\)$/);
    const chat = await ai.waitFor((r) => r.path === '/v1/chat/completions', 5000);
    expect(chat.body?.model).toBe('qwen2.5:7b');
  }, 30_000);

  it('plays a sample of the chosen flite voice through the core', async () => {
    await page.locator('[data-testid="setup-next"]').click();
    await page.locator('[data-testid="setup"][data-step="voice"]').waitFor();
    await expect(page.locator('[data-testid="voice-reach"]').getAttribute('data-reach')).resolves.toBe('offline');
    await page.locator('[data-testid="voice-listen"]').click();
    const played = page.locator('[data-testid="voice-played"]');
    await played.waitFor({ timeout: 30_000 });
    expect(Number(await played.getAttribute('data-seconds'))).toBeGreaterThan(1);
  }, 40_000);

  it('hears the microphone on the level meter', async () => {
    await page.locator('[data-testid="setup-next"]').click();
    await page.locator('[data-testid="setup"][data-step="mic"]').waitFor();
    await page.locator('[data-testid="mic-toggle"]').click();
    await page.locator('[data-testid="mic-heard"][data-heard="true"]').waitFor({ timeout: 15_000 });
    expect(Number(await page.locator('[data-testid="setup-mic-level"]').getAttribute('data-peak'))).toBeGreaterThan(0.01);
    await page.locator('[data-testid="mic-toggle"]').click();
    await page.locator('[data-testid="mic-heard"]').waitFor({ state: 'detached' });
  }, 30_000);

  it('saves, lands on the stage, and the avatar answers the greeting aloud', async () => {
    await page.locator('[data-testid="setup-next"]').click();
    await expect(page.locator('[data-testid="finish-llm"]').innerText()).resolves.toBe('qwen2.5:7b on Ollama (Runs on this computer, offline)');
    const before = ai.requests.length;
    await page.locator('[data-testid="setup-finish"]').click();
    // Restarting five services (chat-ai, memory, long-term-memory, asr, tts) takes a while on a loaded machine.
    const failed = page.locator('[data-testid="finish-error"]');
    await page.locator('[data-testid="talk-panel"]').or(failed).waitFor({ timeout: 120_000 }).catch(async (err: Error) => {
      await page.screenshot({ path: `${SHOTS}/setup-finish-stuck.png` });
      const where = await page.evaluate(`JSON.stringify({ step: document.querySelector('[data-testid="setup"]')?.dataset.step, phase: document.querySelector('[data-testid="finish-phase"]')?.textContent, talk: !!document.querySelector('[data-testid="talk-panel"]') })`);
      throw new Error(`${err.message}; page: ${String(where)}; services: ${JSON.stringify(studio.supervisor.status().map((x) => [x.name, x.state]))}`);
    });
    if (await failed.isVisible()) throw new Error(`the wizard could not finish: ${await failed.innerText()}`);

    // The choices are in settings.json: the stand-in's URL (not the preset's), its model, flite.
    const saved = JSON.parse(readFileSync(path.join(dataDir, 'settings.json'), 'utf8')) as { llm: Record<string, unknown>; tts: Record<string, unknown> };
    expect(saved.llm).toMatchObject({ preset: 'ollama', baseUrl: ai.url, model: 'qwen2.5:7b' });
    expect(saved.tts).toMatchObject({ engine: 'flite', voice: 'slt' });

    // The reply comes from the stand-in (the services read the saved LLM), spoken and played here.
    const reply = page.locator('[data-testid="entry"][data-role="assistant"][data-final="true"]', { hasText: REPLY });
    await reply.waitFor({ timeout: 60_000 });
    const chat = await ai.waitFor((r) => ai.requests.indexOf(r) >= before && r.path === '/v1/chat/completions', 5000);
    const users = (chat.body?.messages as Array<{ role: string; content: string }>).filter((m) => m.role === 'user');
    expect(users.at(-1)?.content).toBe('Hello! We just finished setting you up. Please say hello.');
    expect(chat.body?.model).toBe('qwen2.5:7b');
    const stats = (await until(page, '(() => { const s = window.__favVoice?.stats(); return s && s.chunks > 0 && s.mouthMax > 0.2 ? s : null; })()', 60_000, 'the reply audio to play')) as { chunks: number; mouthMax: number };
    expect(stats.chunks).toBeGreaterThan(0);
    await expect(page.locator('[data-testid="setup"]').isVisible()).resolves.toBe(false);

    // Not a first run any more: the studio opens on the stage next time.
    const state = (await (await fetch(`${studio.gatewayUrl}/api/setup?detect=0`, { headers: { authorization: `Bearer ${studio.token}` } })).json()) as { firstRun: boolean };
    expect(state.firstRun).toBe(false);
  }, 240_000);

  it('had no CSP violations, console errors or page errors', async () => {
    expect(await readCspViolations(page)).toEqual([]);
    expect(problems.pageErrors).toEqual([]);
    expect(problems.consoleErrors).toEqual([]);
  });
});
