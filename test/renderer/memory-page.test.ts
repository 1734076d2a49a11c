/**
 * The memory page and the settings' memory section, BUILT (out/renderer) and run in real Chromium
 * against the real gateway on a real bus, with the real settings service on a temp data dir. The
 * long-term-memory service's real admin handler answers fav:ltm:admin over a real SQLite store with
 * the real on-device embedder (test/main/gateway/ltm-admin-on-bus.ts); memory's contexts are
 * published on memory_updates as memory would. Checks: the list, the subjects (a viewer by name and
 * platform) and the engine status; a search by meaning (a word the memory does not contain); edit in place; pin; delete
 * and forget a subject, each after a confirmation; add by hand; export (a real download) and import
 * (merge, and a bad file refused with the gateway's words); the memories the last reply used with
 * its recall status; Chinese; the settings section (engine, key masked, saved to settings.json); and
 * what the page says once long-term-memory is gone. Screenshots: /tmp/fav-shots/memory-en.png,
 * memory-zh-CN.png.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/main/gateway/server.js';
import { SettingsService } from '../../src/main/settings/index.js';
import { Channels } from '../../src/shared/bus.js';
import type { MemoryExport } from '../../src/shared/long-term.js';
import { ensureBuilt, rendererDir } from '../electron/built-app.js';
import { chromiumMissing, launchChromium, readCspViolations, watchPage, type PageProblems } from '../helpers/chromium.js';
import { until } from '../helpers/until.js';
import { LtmAdminOnBus } from '../main/gateway/ltm-admin-on-bus.js';
import { testGatewayDeps } from '../main/gateway/helpers.js';
import { BACKENDS, client, startBackend, type Backend } from '../main/supervisor/helpers.js';

const skipReason = chromiumMissing();
const SHOTS = '/tmp/fav-shots';
const KIND = BACKENDS.includes('embedded') ? 'embedded' : 'redis-server';
const EMBED_KEY = 'sk-embed-never-in-the-page-42';

let bus: Backend;
let pub: Redis;
let ltm: LtmAdminOnBus;
const ids: Record<string, number> = {};
let gateway: Gateway;
let dir: string;
let browser: Browser | undefined;
let page: Page;
let problems: PageProblems;
const token = randomBytes(24).toString('base64url');

const rows = () => page.locator('[data-testid="memory-row"]');
const rowOf = (text: string) => page.locator('[data-testid="memory-row"]', { hasText: text });
const texts = () => page.locator('[data-testid="memory-text"]').allInnerTexts();
const stored = () => ltm.store.list({ limit: 500 }).memories;
const byText = (text: string) => stored().find((m) => m.text === text);
const searches = () => ltm.requests.filter((r) => r.op === 'search');

describe.skipIf(skipReason !== undefined)(`memory page in Chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await ensureBuilt();
    bus = await startBackend(KIND);
    pub = await client(bus.url);
    ltm = await LtmAdminOnBus.start(bus.url);
    const seeds = [
      ['cat', { text: 'The streamer has a cat called Mochi.', importance: 0.8 }],
      ['tea', { text: 'Alice prefers green tea.', subject: 'viewer:twitch:u1', subject_name: 'Alice', kind: 'preference' }],
      ['friday', { text: 'Alice will be back on Friday.', subject: 'viewer:twitch:u1', subject_name: 'Alice', kind: 'promise' }],
    ] as const;
    const t0 = Date.now() - 60_000;
    for (const [i, [name, memory]] of seeds.entries()) {
      ltm.deps.now = () => t0 + i * 1000;
      ids[name] = (await ltm.ask({ op: 'add', memory })).memory!.id;
    }
    ltm.deps.now = undefined;
    for (let i = 0; i < 4; i++) ltm.store.touch([ids.cat!]);
    dir = mkdtempSync(path.join(os.tmpdir(), 'fav-memory-page-'));
    gateway = await startGateway(testGatewayDeps({ token, rendererDir, settings: { service: new SettingsService({ dataDir: dir }) }, memory: { busUrl: bus.url } }), { host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 }, acceptDownloads: true });
    problems = await watchPage(page);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await ltm?.close();
    pub?.disconnect();
    await bus?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists the memories newest first, the subjects with their counts (a viewer by name and platform) and the engine status', async () => {
    await page.goto(`${gateway.url}/?token=${token}&lang=en&view=memory`);
    await until(async () => (await rows().count()) === 3, 20_000, 'three memories');
    expect(await texts()).toEqual(['Alice will be back on Friday.', 'Alice prefers green tea.', 'The streamer has a cat called Mochi.']);
    const cat = rowOf('Mochi');
    await expect(cat.locator('[data-testid="memory-subject"]').innerText()).resolves.toBe('Streamer');
    await expect(cat.locator('[data-testid="memory-kind"]').innerText()).resolves.toBe('fact');
    await expect(cat.locator('[data-testid="memory-importance"]').innerText()).resolves.toBe('80%');
    await expect(cat.locator('[data-testid="memory-used"]').innerText()).resolves.toBe('4');
    await expect(rowOf('green tea').locator('[data-testid="memory-subject"]').innerText()).resolves.toBe('Alice · Twitch');

    const alice = page.locator('[data-testid="subject-row"][data-subject="viewer:twitch:u1"]');
    await expect(alice.innerText()).resolves.toMatch(/Alice · Twitch\s+2/);
    await expect(page.locator('[data-testid="subject-row"][data-subject="streamer"]').getAttribute('data-count')).resolves.toBe('1');

    const status = page.locator('[data-testid="memory-status"]');
    await until(async () => (await status.getAttribute('data-engine-state')) === 'ready', 10_000, 'the engine status');
    await expect(status.locator('[data-testid="memory-engine"]').innerText()).resolves.toBe(ltm.embedder.id);
    await expect(status.locator('[data-testid="memory-counts"]').innerText()).resolves.toBe('3 of 3 memories searchable by meaning');
    await expect(status.locator('[data-testid="memory-extraction"]').getAttribute('data-extraction')).resolves.toBe('rules');
    // A model being downloaded and a re-embed under way, as the service reports them.
    ltm.statusOver = { engine_state: 'downloading', download: 0.4, reembed: { done: 1, total: 3 } };
    await until(async () => (await status.getAttribute('data-engine-state')) === 'downloading', 10_000, 'the download');
    await expect(status.locator('[data-testid="memory-download"]').innerText()).resolves.toContain('Downloading the model: 40%');
    await expect(status.locator('[data-testid="memory-reembed"]').innerText()).resolves.toContain('1 of 3');
    ltm.statusOver = {};
    await expect(page.locator('[data-testid="memory-last-empty"]').innerText()).resolves.toBe('No reply in this session yet.');
  }, 60_000);

  it('searches by meaning with the same query a reply uses, and shows one subject when it is clicked', async () => {
    // Neither word is in any memory: found by the on-device embedder's vectors.
    await page.locator('[data-testid="memory-search"] input').fill('feline');
    await until(async () => (await texts()).join('|') === 'The streamer has a cat called Mochi.', 15_000, 'the cat, by meaning');
    expect(searches().at(-1)).toMatchObject({ op: 'search', query: 'feline' });
    await expect(page.locator('[data-testid="memory-search-mode"]').getAttribute('data-mode')).resolves.toBe('vector');
    await page.locator('[data-testid="memory-search"] input').fill('hot drink');
    await until(async () => (await texts()).join('|') === 'Alice prefers green tea.', 15_000, 'the tea, by meaning');
    await page.locator('[data-testid="memory-search"] input').fill('');
    await until(async () => (await rows().count()) === 3, 10_000, 'all three again');

    await page.locator('[data-testid="subject-row"][data-subject="viewer:twitch:u1"]').click();
    await until(async () => (await rows().count()) === 2, 10_000, "Alice's two");
    // Nothing searched: the newest of the subject, a page at a time.
    expect(ltm.requests.filter((r) => r.op === 'list').at(-1)).toMatchObject({ op: 'list', subject: 'viewer:twitch:u1', offset: 0 });
    await page.locator('[data-testid="subject-all"]').click();
    await until(async () => (await rows().count()) === 3, 10_000, 'everyone again');
  });

  it('edits a memory in place and pins it', async () => {
    const cat = rowOf('Mochi');
    await cat.locator('[data-testid="memory-edit"]').click();
    const editor = page.locator('[data-testid="memory-edit-text"] textarea').first();
    await editor.fill('The streamer has two cats, Mochi and Tofu.');
    await page.locator('[data-testid="memory-save"]').click();
    await rowOf('Mochi and Tofu').waitFor({ timeout: 10_000 });
    expect(byText('The streamer has two cats, Mochi and Tofu.')).toMatchObject({ id: ids.cat, subject: 'streamer', has_vector: true });
    expect(ltm.requests.filter((r) => r.op === 'update').at(-1)).toEqual(expect.objectContaining({ op: 'update', id: ids.cat, patch: { text: 'The streamer has two cats, Mochi and Tofu.' } }));

    const row = page.locator(`[data-testid="memory-row"][data-id="${ids.cat}"]`);
    await expect(row.getAttribute('data-pinned')).resolves.toBe('no');
    await row.locator('[data-testid="memory-pin"]').click();
    await until(async () => (await row.getAttribute('data-pinned')) === 'yes', 10_000, 'pinned');
    expect(ltm.store.get(ids.cat!)?.pinned).toBe(true);
    await row.locator('[data-testid="memory-pin"]').click();
    await until(async () => (await row.getAttribute('data-pinned')) === 'no', 10_000, 'unpinned');
    await row.locator('[data-testid="memory-pin"]').click();
    await until(async () => (await row.getAttribute('data-pinned')) === 'yes', 10_000, 'pinned again');
  });

  it('adds a memory by hand', async () => {
    await page.locator('[data-testid="memory-add"]').click();
    const dialog = page.locator('[data-testid="memory-add-dialog"]');
    await dialog.locator('[data-testid="memory-add-text"] textarea').first().fill('Mio sings on Saturdays.');
    await dialog.locator('[data-testid="memory-add-subject"]').click();
    await page.locator('.v-overlay .v-list-item', { hasText: /^Avatar$/ }).click();
    await dialog.locator('[data-testid="memory-add-save"]').click();
    await rowOf('Mio sings on Saturdays.').waitFor({ timeout: 10_000 });
    expect(byText('Mio sings on Saturdays.')).toMatchObject({ subject: 'avatar', kind: 'fact', importance: 0.5, pinned: false });
    await expect(rowOf('Mio sings').locator('[data-testid="memory-subject"]').innerText()).resolves.toBe('Avatar');
  });

  it('deletes a memory after a confirmation (cancel keeps it)', async () => {
    const tea = rowOf('green tea');
    await tea.locator('[data-testid="memory-delete"]').click();
    await expect(page.locator('[data-testid="memory-confirm"]').innerText()).resolves.toContain('Delete the memory “Alice prefers green tea.”?');
    await page.locator('[data-testid="memory-confirm-cancel"]').click();
    await page.locator('[data-testid="memory-confirm"]').waitFor({ state: 'detached', timeout: 10_000 });
    expect(byText('Alice prefers green tea.')).toBeDefined();

    await tea.locator('[data-testid="memory-delete"]').click();
    await page.locator('[data-testid="memory-confirm-ok"]').click();
    await until(async () => (await rowOf('green tea').count()) === 0, 10_000, 'the row gone');
    expect(byText('Alice prefers green tea.')).toBeUndefined();
    await until(async () => (await page.locator('[data-testid="subject-row"][data-subject="viewer:twitch:u1"]').getAttribute('data-count')) === '1', 10_000, "Alice's count");
  });

  it('forgets everything about a viewer after a confirmation', async () => {
    await page.locator('[data-testid="subject-row"][data-subject="viewer:twitch:u1"] [data-testid="subject-forget"]').click();
    await expect(page.locator('[data-testid="memory-confirm"]').innerText()).resolves.toContain('Forget everything about Alice · Twitch (1 memories)?');
    await page.locator('[data-testid="memory-confirm-ok"]').click();
    await until(async () => (await page.locator('[data-testid="subject-row"][data-subject="viewer:twitch:u1"]').count()) === 0, 10_000, 'Alice gone');
    expect(stored().some((m) => m.subject === 'viewer:twitch:u1')).toBe(false);
    expect(ltm.requests.filter((r) => r.op === 'forget').at(-1)).toMatchObject({ op: 'forget', subject: 'viewer:twitch:u1' });
    expect(await rows().count()).toBe(2);
  });

  it('exports a JSON download, imports a file (merge), and refuses a bad one with the reason', async () => {
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), page.locator('[data-testid="memory-export"]').click()]);
    expect(download.suggestedFilename()).toMatch(/^fav-memories-\d{4}-\d\d-\d\d\.json$/);
    const file = JSON.parse(readFileSync((await download.path())!, 'utf8')) as MemoryExport;
    expect(file.format).toBe('fav-memories');
    expect(file.memories.map((m) => m.text).sort()).toEqual(['Mio sings on Saturdays.', 'The streamer has two cats, Mochi and Tofu.']);

    const more: MemoryExport = { ...file, memories: [...file.memories, { ...file.memories[0]!, text: 'Bob gifted five subs.', subject: 'viewer:youtube:UCbob', subject_name: 'Bob', kind: 'event' }] };
    await page.locator('[data-testid="memory-import-file"]').setInputFiles({ name: 'backup.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(more)) });
    await expect(page.locator('[data-testid="memory-notice"]').innerText({ timeout: 10_000 })).resolves.toContain('1 memories added from backup.json.');
    await rowOf('Bob gifted five subs.').waitFor({ timeout: 10_000 });
    await expect(rowOf('Bob gifted').locator('[data-testid="memory-subject"]').innerText()).resolves.toBe('Bob · YouTube');
    expect(ltm.requests.filter((r) => r.op === 'import').at(-1)).toMatchObject({ mode: 'merge' });

    const bad = { ...file, memories: [{ ...file.memories[0]!, kind: 'gossip' }] };
    await page.locator('[data-testid="memory-import-file"]').setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(bad)) });
    const error = page.locator('[data-testid="memory-action-error"]');
    await error.waitFor({ timeout: 10_000 });
    await expect(error.getAttribute('data-code')).resolves.toBe('bad_file');
    await expect(error.innerText()).resolves.toContain('memories.0.kind');
    await page.screenshot({ path: `${SHOTS}/memory-en.png`, fullPage: true });
  });

  it('shows the memories the last reply used, with its recall status', async () => {
    const context = (turn_id: string, memories: unknown[], recall: Record<string, unknown>) =>
      JSON.stringify({
        session_id: 'studio',
        turn_id,
        task_id: turn_id,
        event_id: `e-${turn_id}`,
        ts: Date.now(),
        marks: {},
        source: 'typed',
        text: 'do you remember my cats?',
        messages: [{ role: 'user', content: 'do you remember my cats?' }],
        memories,
        recall,
      });
    await pub.publish(Channels.memoryUpdates, context('t1', [{ id: ids.cat, text: 'The streamer has two cats, Mochi and Tofu.', subject: 'streamer', kind: 'fact', score: 0.87, updated_at: Date.now() }], { status: 'vector', waited_ms: 23, took_ms: 20, engine: 'use-lite:512', count: 1 }));
    const last = page.locator('[data-testid="memory-last"]');
    await until(async () => (await last.getAttribute('data-turn')) === 't1', 10_000, 'the last reply');
    await expect(last.locator('[data-testid="memory-last-item"]').innerText()).resolves.toMatch(/The streamer has two cats, Mochi and Tofu\.\s+Streamer · relevance 0\.87/);
    await expect(last.locator('[data-testid="memory-last-recall"]').innerText()).resolves.toBe('found by meaning');
    await expect(last.locator('[data-testid="memory-last-waited"]').innerText()).resolves.toBe('waited 23 ms');

    await pub.publish(Channels.memoryUpdates, context('t2', [], { status: 'timeout', waited_ms: 120, count: 0 }));
    await until(async () => (await last.getAttribute('data-turn')) === 't2', 10_000, 'the next reply');
    await expect(last.locator('[data-testid="memory-last-recall"]').getAttribute('data-recall')).resolves.toBe('timeout');
    await expect(last.locator('[data-testid="memory-last-none"]').innerText()).resolves.toBe('The last reply used no memory.');
  });

  it('speaks Chinese, with no CSP violation or console error but the refused import', async () => {
    await page.locator('[data-testid="language"]').click();
    await page.locator('[data-testid="language-zh-CN"]').click();
    await page.locator('[data-testid="memory-last-recall"]', { hasText: '检索超时' }).waitFor({ timeout: 5000 });
    await expect(rowOf('Mio sings').locator('[data-testid="memory-subject"]').innerText()).resolves.toBe('形象');
    await expect(page.locator('[data-testid="nav-memory"]').innerText()).resolves.toBe('记忆');
    await page.screenshot({ path: `${SHOTS}/memory-zh-CN.png`, fullPage: true });
    await page.locator('[data-testid="language"]').click();
    await page.locator('[data-testid="language-en"]').click();
    expect(await readCspViolations(page)).toEqual([]);
    expect(problems.consoleErrors.filter((e) => !/status of 400/.test(e))).toEqual([]);
    expect(problems.pageErrors).toEqual([]);
  });

  it('settings: chooses the embedder (the server key masked) and saves the memory settings', async () => {
    await page.locator('[data-testid="nav-settings"]').click();
    const section = page.locator('[data-testid="settings-memory"]');
    await section.waitFor({ timeout: 15_000 });
    await section.locator('[data-testid="memory-engine-select"]').click();
    await page.locator('.v-overlay .v-list-item', { hasText: 'A server (OpenAI-compatible' }).click();
    await section.locator('[data-field="memory.embedder.model"] input').fill('bge-m3');
    await section.locator('[data-field="memory.embedder.apiKey"] input').fill(EMBED_KEY);
    await section.locator('[data-field="memory.recallK"] input').fill('5');
    await page.locator('[data-testid="settings-save"]').click();
    await page.locator('[data-testid="settings-saved"]').waitFor({ timeout: 10_000 });
    const saved = JSON.parse(readFileSync(path.join(dir, 'settings.json'), 'utf8')).memory;
    expect(saved).toMatchObject({ recallK: 5, embedder: { engine: 'openai', model: 'bge-m3', apiKey: EMBED_KEY } });

    // After a reload the key is only said to be saved; it never reaches the page.
    await page.reload();
    await section.locator('[data-field="memory.embedder.apiKey"]').waitFor({ timeout: 15_000 });
    await expect(section.locator('[data-field="memory.embedder.apiKey"]').getAttribute('data-key-set')).resolves.toBe('yes');
    await expect(section.locator('[data-field="memory.embedder.apiKey"] input').inputValue()).resolves.toBe('');
    expect(await page.content()).not.toContain(EMBED_KEY);

    // The ONNX engine asks where to download from; a bad URL is refused as it is typed.
    await section.locator('[data-testid="memory-engine-select"]').click();
    await page.locator('.v-overlay .v-list-item', { hasText: 'multilingual' }).click();
    const mirror = section.locator('[data-field="memory.embedder.downloadBaseUrl"]');
    await mirror.locator('input').fill('not a url');
    await until(async () => ((await mirror.getAttribute('class')) ?? '').includes('v-input--error'), 5000, 'the URL error');
    await expect(page.locator('[data-testid="settings-save"]').isDisabled()).resolves.toBe(true);
    await mirror.locator('input').fill('https://hf-mirror.com');
    await page.locator('[data-testid="settings-save"]').click();
    await page.locator('[data-testid="settings-saved"]').waitFor({ timeout: 10_000 });
    expect(JSON.parse(readFileSync(path.join(dir, 'settings.json'), 'utf8')).memory.embedder).toMatchObject({ engine: 'onnx', downloadBaseUrl: 'https://hf-mirror.com', apiKey: EMBED_KEY });
  }, 60_000);

  it('lists a large store a page at a time, and replaces the memories from a file after a confirmation', async () => {
    for (let i = 0; i < 130; i++) ltm.store.add({ persona: 'Aria', text: `Old note number ${i}.`, subject: 'world', kind: 'event', importance: 0.3, pinned: false, at: Date.now() - 10 * 86_400_000 + i });
    const total = stored().length;
    expect(total).toBeGreaterThan(130);
    await page.goto(`${gateway.url}/?token=${token}&lang=en&view=memory`);
    await until(async () => (await rows().count()) === 100, 20_000, 'the first page');
    await expect(page.locator('[data-testid="memory-shown"]').innerText()).resolves.toBe(`Showing 100 of ${total}, newest first.`);
    await page.locator('[data-testid="memory-more"]').click();
    await until(async () => (await rows().count()) === total, 10_000, 'every memory');
    await expect(page.locator('[data-testid="memory-more"]').count()).resolves.toBe(0);
    expect(ltm.requests.filter((r) => r.op === 'list').at(-1)).toMatchObject({ offset: 100, limit: 100 });

    const only: MemoryExport = {
      format: 'fav-memories',
      version: 1,
      exported_at: Date.now(),
      memories: [{ persona: 'Aria', subject: 'streamer', kind: 'fact', text: 'The streamer moved to Osaka.', importance: 0.6, pinned: false, access_count: 0, created_at: Date.now(), updated_at: Date.now() }],
    };
    await page.locator('[data-testid="memory-import-replace"]').click();
    await page.locator('[data-testid="memory-import-file"]').setInputFiles({ name: 'fresh.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(only)) });
    await expect(page.locator('[data-testid="memory-confirm"]').innerText()).resolves.toContain('Replace the memories of the personas in fresh.json');
    expect(stored().length).toBe(total); // nothing replaced before the answer
    await page.locator('[data-testid="memory-confirm-ok"]').click();
    await until(async () => (await texts()).join('|') === 'The streamer moved to Osaka.', 15_000, 'only the imported memory');
    expect(stored().map((m) => m.text)).toEqual(['The streamer moved to Osaka.']);
    expect(ltm.requests.filter((r) => r.op === 'import').at(-1)).toMatchObject({ mode: 'replace' });
  }, 60_000);

  it('says when long-term memory is not running, with where to start it', async () => {
    await ltm.stopAnswering();
    await page.goto(`${gateway.url}/?token=${token}&lang=en&view=memory`);
    const error = page.locator('[data-testid="memory-error"]');
    await error.waitFor({ timeout: 15_000 });
    await expect(error.getAttribute('data-code')).resolves.toBe('ltm_not_running');
    await expect(error.innerText()).resolves.toContain('start the long-term-memory service in the Manager');
    await expect(page.locator('[data-testid="memory-status-unknown"]').isVisible()).resolves.toBe(true);
  });
});
