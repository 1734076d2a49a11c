/**
 * The manager page, BUILT (out/renderer) and run in real Chromium against the real gateway, with a
 * real supervisor running real worker processes (tts, memory) on a real bus. The turn is driven by the
 * FakePipeline (test/main/gateway/helpers.ts): the page's typed text reaches fav:input as a real
 * InputTask (marks.input stamped by the gateway); the fake answers with audio and a turn_end whose
 * pipeline marks it sets itself, and the page's real player reports `heard` when the audio starts.
 * Checks: the services with CPU and memory of their real pids; the restart button gives the service a
 * new pid that the page shows; the latency chart draws the turn just spoken, one bar per stage with the
 * marks' milliseconds, heard and memory recall included, and the turn's recall status (from its
 * memory context on memory_updates, published here as memory would). Screenshots: /tmp/fav-shots/manager-en.png, manager-zh-CN.png.
 */
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/main/gateway/server.js';
import { NodeProcessHost, Supervisor, defaultManifest } from '../../src/main/supervisor/index.js';
import { Channels } from '../../src/shared/bus.js';
import { ManagerPaths, type TurnTiming } from '../../src/shared/manager-api.js';
import { nowMs, type ClientEvent, type MemoryContext } from '../../src/shared/voice.js';
import { ensureBuilt, rendererDir } from '../electron/built-app.js';
import { chromiumMissing, launchChromium, readCspViolations, watchPage, type PageProblems } from '../helpers/chromium.js';
import { audioEvent, FakePipeline, pcm, testGatewayDeps } from '../main/gateway/helpers.js';
import { BACKENDS, client, startBackend, tempDataDir, type Backend } from '../main/supervisor/helpers.js';
import { until } from '../helpers/until.js';

const skipReason = chromiumMissing();
const SHOTS = '/tmp/fav-shots';
const KIND = BACKENDS.includes('embedded') ? 'embedded' : 'redis-server';
const SESSION = 'manager-test';

let bus: Backend;
let sup: Supervisor;
let redis: Redis;
let gateway: Gateway;
let pipe: FakePipeline;
let browser: Browser | undefined;
let page: Page;
let problems: PageProblems;
const token = randomBytes(24).toString('base64url');

const pidOf = (name: string) => sup.status().find((s) => s.name === name)!.instances[0]!.pid!;
const row = (name: string) => page.locator(`[data-service="${name}"]`);

describe.skipIf(skipReason !== undefined)(`manager page in Chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await ensureBuilt();
    bus = await startBackend(KIND);
    redis = await client(bus.url);
    sup = new Supervisor({ host: new NodeProcessHost(), redisUrl: bus.url, dataDir: tempDataDir(), handleSignals: false, manifest: defaultManifest({ only: ['memory', 'tts'] }) });
    await sup.start();
    gateway = await startGateway(
      testGatewayDeps({
        token,
        rendererDir,
        services: sup,
        logs: sup.logs,
        bus: { kind: 'embedded', url: 'redis://127.0.0.1', ping: async () => true, reader: redis },
        voice: { busUrl: bus.url, input: { maxBytes: 64 * 1024, maxTextChars: 200 }, asrTimeoutMs: 2000, log: () => {} },
        memory: { busUrl: bus.url },
      }),
      { host: '127.0.0.1', port: 0 },
    );
    pipe = await FakePipeline.start(bus.url);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    problems = await watchPage(page);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await pipe?.close();
    await gateway?.close();
    await sup?.stop();
    redis?.disconnect();
    await bus?.stop();
  });

  it('shows every service with the CPU and memory of its real process', async () => {
    // The stage first: it opens the session (and keeps playing while the manager is shown).
    await page.goto(`${gateway.url}/?token=${token}&session=${SESSION}&lang=en`);
    await page.locator('[data-testid="session-connection"][data-state="open"]').waitFor({ timeout: 15_000 });
    await page.locator('[data-testid="nav-manager"]').click();
    const cpu = row('tts').locator('[data-testid="cpu"]');
    await until(async () => (await cpu.count()) > 0 && /^\d+\.\d %$/.test(await cpu.innerText()), 15_000, 'the CPU of tts');
    for (const name of ['memory', 'tts']) {
      await expect(row(name).locator('[data-testid="state"]').getAttribute('data-state')).resolves.toBe('ready');
      await expect(row(name).locator('[data-testid="pids"]').innerText()).resolves.toBe(String(pidOf(name)));
      await expect(row(name).locator('[data-testid="memory"]').innerText()).resolves.toMatch(/^\d+\.\d MB$/);
    }
  });

  it('restarts a service from its row and shows the new pid', async () => {
    const before = pidOf('tts');
    await row('tts').locator('[data-testid="action-restart"]').click();
    const shown = await until(
      async () => {
        const text = await row('tts').locator('[data-testid="pids"]').innerText();
        return text !== String(before) && text !== '-' ? text : undefined;
      },
      30_000,
      'a new pid for tts',
    );
    expect(Number(shown)).toBe(pidOf('tts'));
    expect(pidOf('tts')).not.toBe(before);
    // The row shows the supervisor's count (on a loaded machine a slow start may have added its own).
    const restarts = sup.status().find((s) => s.name === 'tts')!.restarts ?? 0;
    expect(restarts).toBeGreaterThanOrEqual(1);
    await until(async () => ((await row('tts').locator('[data-testid="restarts"]').innerText()) === String(sup.status().find((s) => s.name === 'tts')!.restarts) ? true : undefined), 10_000, 'the restart count');
    await row('tts').locator('[data-testid="state"][data-state="ready"]').waitFor({ timeout: 10_000 });
  }, 60_000);

  it('stops a service from its row (it shows stopped, no pid) and starts it again', async () => {
    const before = pidOf('memory');
    await row('memory').locator('[data-testid="action-stop"]').click();
    await row('memory').locator('[data-testid="state"][data-state="stopped"]').waitFor({ timeout: 30_000 });
    await expect(row('memory').locator('[data-testid="pids"]').innerText()).resolves.toBe('-');
    expect(sup.status().find((s) => s.name === 'memory')!.state).toBe('stopped');
    await row('memory').locator('[data-testid="action-start"]').click();
    await row('memory').locator('[data-testid="state"][data-state="ready"]').waitFor({ timeout: 30_000 });
    await until(async () => (await row('memory').locator('[data-testid="pids"]').innerText()) === String(pidOf('memory')), 10_000, 'the new pid of memory');
    expect(pidOf('memory')).not.toBe(before);
  }, 90_000);

  it('draws the latency of a turn just spoken, stage by stage, recall and heard included, with its recall status', async () => {
    await page.locator('[data-testid="nav-stage"]').click();
    const input = page.locator('[data-testid="text-input"] input');
    await input.fill('how long did that take?');
    await input.press('Enter');
    const task = await pipe.nextInput();
    const s = task.session_id;
    const t = task.turn_id;
    expect(s).toBe(SESSION);
    const inputAt = task.marks.input!;
    expect(inputAt).toBeGreaterThan(0);

    // The pipeline's marks (the fake's own, between the real input and now), then the audio.
    const firstAudio = nowMs();
    const span = firstAudio - inputAt;
    const marks = {
      input: inputAt,
      turn_start: inputAt + 0.05 * span,
      recall: inputAt + 0.1 * span,
      context: inputAt + 0.11 * span,
      llm_first_token: inputAt + 0.5 * span,
      sentence_0: inputAt + 0.7 * span,
      first_audio: firstAudio,
      delivered: firstAudio + 1,
    };
    // memory's context for the turn, with how its recall went (before the turn ends, as in the pipeline).
    const recall = { status: 'keyword' as const, waited_ms: Math.round(0.05 * span), took_ms: 3, count: 1 };
    const context: MemoryContext = {
      session_id: s,
      turn_id: t,
      task_id: task.task_id,
      event_id: 'ctx-1',
      ts: nowMs(),
      marks: { input: inputAt, recall: marks.recall, context: marks.context },
      source: 'typed',
      text: 'how long did that take?',
      messages: [{ role: 'user', content: 'how long did that take?' }],
      memories: [{ id: 1, text: 'The streamer times every turn.', subject: 'streamer', kind: 'fact', score: 0.8, updated_at: 1 }],
      recall,
    };
    await redis.publish(Channels.memoryUpdates, JSON.stringify(context));
    const events: ClientEvent[] = [
      { type: 'turn_state', session_id: s, turn_id: t, state: 'speaking' },
      { type: 'reply_delta', session_id: s, turn_id: t, task_id: t, text: 'About this long.' },
      audioEvent(s, t, 0, pcm(7200), { task_id: task.task_id }),
      { type: 'reply_done', session_id: s, turn_id: t, task_id: task.task_id, text: 'About this long.', marks },
      { type: 'audio_end', session_id: s, turn_id: t, task_id: task.task_id, chunks: 1 },
      { type: 'turn_end', session_id: s, turn_id: t, task_id: task.task_id, reason: 'done', marks },
    ];
    await pipe.deliver(...events);

    // The gateway joins the page's heard report with the turn's marks.
    const timing = await until(
      async () => {
        const res = await fetch(`${gateway.url}${ManagerPaths.turns}`, { headers: { authorization: `Bearer ${token}` } });
        const turns = ((await res.json()) as { turns: TurnTiming[] }).turns;
        return turns.find((x) => x.turn_id === t && x.marks.heard !== undefined);
      },
      20_000,
      'the turn with its heard mark',
    );
    expect(timing.marks.heard).toBeGreaterThanOrEqual(firstAudio);
    expect(timing.recall).toEqual(recall);

    await page.locator('[data-testid="nav-manager"]').click();
    const bars = page.locator(`[data-testid="latency-chart"] [data-turn="${t}"] rect[data-stage]`);
    await until(async () => (await bars.count()) === 5, 10_000, 'five bars for the typed turn');
    const drawn = await bars.evaluateAll((rects) => rects.map((r) => [r.getAttribute('data-stage'), Number(r.getAttribute('data-ms')), Number(r.getAttribute('width'))]));
    const m = timing.marks;
    expect(drawn.map((d) => d[0])).toEqual(['recall', 'llm', 'sentence', 'tts', 'playback']);
    expect(drawn.map((d) => d[1])).toEqual(
      [m.recall! - m.input!, m.llm_first_token! - m.recall!, m.sentence_0! - m.llm_first_token!, m.first_audio! - m.sentence_0!, m.heard! - m.first_audio!].map(Math.round),
    );
    // After the bars, how the recall went.
    const status = page.locator(`[data-testid="latency-chart"] [data-turn="${t}"] [data-testid="recall-status"]`);
    await expect(status.getAttribute('data-recall')).resolves.toBe('keyword');
    await expect(status.evaluate((el) => el.firstChild?.textContent?.trim())).resolves.toBe('recall: keywords only');
    // Widths follow the milliseconds: the longest stage is the widest bar.
    const widest = drawn.reduce((a, b) => (b[2]! > a[2]! ? b : a));
    const longest = drawn.reduce((a, b) => (b[1]! > a[1]! ? b : a));
    expect(widest[0]).toBe(longest[0]);
    // The legend names the slow stage (the largest median; with one turn, its longest stage).
    await expect(page.locator('[data-testid="latency-legend"] [data-slowest="true"]').getAttribute('data-legend')).resolves.toBe(longest[0]);
    // Hovering a bar says its stage and milliseconds.
    await expect(bars.nth(1).locator('title').textContent()).resolves.toBe(`LLM first token: ${Math.round(m.llm_first_token! - m.recall!).toLocaleString('en')} ms`);
    await expect(page.locator('[data-testid="latency-legend"] [data-legend]').count()).resolves.toBe(6);

    // The bus lengths and the log tail are there too.
    await page.locator('[data-bus="fav:input"] [data-testid="length"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="log-tail"][data-state="live"]').waitFor({ timeout: 10_000 });
    await until(async () => (await page.locator('[data-log-service="tts"]').count()) > 0, 10_000, 'tts log lines');
    await page.screenshot({ path: `${SHOTS}/manager-en.png`, fullPage: true });
  }, 90_000);

  it('filters the log by service and lowest level', async () => {
    await page.locator('[data-testid="log-service"]').click();
    await page.locator('.v-overlay .v-list-item', { hasText: /^memory$/ }).click();
    await until(async () => (await page.locator('[data-log-service="tts"]').count()) === 0 && (await page.locator('[data-log-service="memory"]').count()) > 0, 5000, 'only memory lines');
    await page.locator('[data-testid="log-level"]').click();
    await page.locator('.v-overlay .v-list-item', { hasText: /^error$/ }).click();
    await until(async () => (await page.locator('[data-testid="log-lines"] [data-level="info"]').count()) === 0, 5000, 'no info lines');
    // Back to everything for the screenshots.
    await page.locator('[data-testid="log-level"]').click();
    await page.locator('.v-overlay .v-list-item', { hasText: /^info$/ }).click();
    await page.locator('[data-testid="log-service"]').click();
    await page.locator('.v-overlay .v-list-item', { hasText: /^All services$/ }).click();
    await until(async () => (await page.locator('[data-log-service="tts"]').count()) > 0, 5000, 'all lines back');
  });

  it('speaks Chinese when switched, and has no CSP violations or console errors', async () => {
    await page.locator('[data-testid="language"]').click();
    await page.locator('[data-testid="language-zh-CN"]').click();
    await page.locator('[data-testid="latency-legend"]', { hasText: '大模型首个词元' }).waitFor({ timeout: 5000 });
    await expect(row('tts').locator('[data-testid="state"]').innerText()).resolves.toBe('就绪');
    await page.screenshot({ path: `${SHOTS}/manager-zh-CN.png`, fullPage: true });
    expect(await readCspViolations(page)).toEqual([]);
    expect(problems.consoleErrors).toEqual([]);
    expect(problems.pageErrors).toEqual([]);
  });
});
