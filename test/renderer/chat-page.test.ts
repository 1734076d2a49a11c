/**
 * The chat page, BUILT (out/renderer) and run in real Chromium against the real gateway on a real
 * bus, with the real settings service on a temp data dir. A fake publisher stands in for the
 * live-chat service (feed events on fav:chat:feed; a recorder on fav:chat:command takes its
 * commands). Checks: the empty state leads to the settings' live-chat section (the saved token never
 * reaches the page); a pushed feed renders with its platforms, badges, paid amount highlighted, gift,
 * and each message's fate and reason; the connection chips; "answer this" and "ban user" publish the
 * right commands (the ban is saved); the DOM stays capped under a long stream; the settings section
 * adds, disables and removes connections (the token kept), imports a banned-word file and unbans;
 * Chinese renders from the gateway's snapshot after a reload; a lost feed socket is said, and the
 * page reconnects to a new core. Screenshots: /tmp/fav-shots/chat-en.png, chat-zh-CN.png.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import type { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSettingsFile } from '../../src/main/config/load-config.js';
import { startGateway, type Gateway } from '../../src/main/gateway/server.js';
import { SettingsService } from '../../src/main/settings/index.js';
import { CHAT_STATUS_KEY, ChatChannels, type ChatFeedEvent, type LiveChatMessageInput } from '../../src/shared/live-chat.js';
import { ensureBuilt, rendererDir } from '../electron/built-app.js';
import { chromiumMissing, launchChromium, readCspViolations, watchPage, type PageProblems } from '../helpers/chromium.js';
import { testGatewayDeps } from '../main/gateway/helpers.js';
import { BACKENDS, client, Recorder, startBackend, type Backend } from '../main/supervisor/helpers.js';
import { until } from '../helpers/until.js';

const skipReason = chromiumMissing();
const SHOTS = '/tmp/fav-shots';
const KIND = BACKENDS.includes('embedded') ? 'embedded' : 'redis-server';
const TWITCH_TOKEN = 'oauth:never-in-the-page-0123';

let bus: Backend;
let pub: Redis;
let rec: Recorder;
let gateway: Gateway;
let dir: string;
let browser: Browser | undefined;
let page: Page;
let problems: PageProblems;
/** HTTP errors the page got. */
const failed: string[] = [];
const token = randomBytes(24).toString('base64url');

const publish = (e: z.input<typeof ChatFeedEvent>) => pub.publish(ChatChannels.feed, JSON.stringify(e));
const entry = (id: string) => page.locator(`[data-testid="chat-entry"][data-id="${id}"]`);

function msg(id: string, extra: Partial<LiveChatMessageInput> = {}): LiveChatMessageInput {
  return { id, platform: 'twitch', connection: 'tw', channel: 'mio', author: { id: `u-${id}`, name: 'viewer', roles: [] }, text: 'hi', kind: 'message', received_at: Date.now(), ...extra };
}

const FEED: Array<z.input<typeof ChatFeedEvent>> = [
  {
    type: 'status',
    connections: [
      { id: 'tw', platform: 'twitch', channel: 'mio', state: 'live', since: 1, messages: 42, malformed: 1, can_post: true },
      { id: 'yt', platform: 'youtube', channel: 'dQw4w9WgXcQ', state: 'reconnecting', detail: 'connection lost, retrying', since: 2, messages: 7, malformed: 0, retry_in_ms: 2000, can_post: false },
    ],
  },
  { type: 'message', message: msg('twitch:a1', { author: { id: 'u1', name: 'Alice', roles: ['moderator', 'subscriber'] }, text: 'Mio, what game is next?' }), priority: 2 },
  {
    type: 'message',
    message: msg('youtube:sc1', { platform: 'youtube', connection: 'yt', channel: 'dQw4w9WgXcQ', author: { id: 'UCbob', name: 'Bob', roles: ['member'] }, text: 'Love the stream!', kind: 'paid', paid: { amount: 5, currency: 'USD', display: '$5.00' } }),
    priority: 4,
  },
  { type: 'message', message: msg('bilibili:g1', { platform: 'bilibili', connection: 'bili', channel: '21452505', author: { id: '777', name: '小明', roles: [] }, text: '', kind: 'gift', gift: { name: '小心心', count: 3 } }), priority: 3 },
  { type: 'message', message: msg('twitch:l1', { author: { id: 'u9', name: 'Spammer', roles: [] }, text: 'free coins at example.com' }), dropped: 'link' },
  { type: 'picked', ids: ['youtube:sc1'], reason: 'paid', turn_id: 'turn-1' },
  { type: 'picked', ids: ['bilibili:g1'], reason: 'thanks', turn_id: 'turn-2', note: 'thank you 小明' },
];

describe.skipIf(skipReason !== undefined)(`chat page in Chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await ensureBuilt();
    bus = await startBackend(KIND);
    pub = await client(bus.url);
    rec = await Recorder.open(bus.url, [ChatChannels.command]);
    dir = mkdtempSync(path.join(os.tmpdir(), 'fav-chat-page-'));
    writeSettingsFile(dir, { liveChat: { connections: [{ id: 'tw', platform: 'twitch', channel: 'mio', token: TWITCH_TOKEN, username: 'miobot' }] } });
    gateway = await startGateway(testGatewayDeps({ token, rendererDir, settings: { service: new SettingsService({ dataDir: dir }) }, chat: { busUrl: bus.url } }), { host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    problems = await watchPage(page);
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`);
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await rec?.close();
    pub?.disconnect();
    await bus?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('explains how to add a connection while there is no chat, and leads to the settings (the token stays out of the page)', async () => {
    await page.goto(`${gateway.url}/?token=${token}&lang=en&view=chat`);
    await page.locator('[data-testid="chat-page"][data-feed="live"]').waitFor({ timeout: 20_000 });
    await expect(page.locator('[data-testid="chat-empty"]').innerText()).resolves.toContain('Add a Twitch channel, a YouTube stream or a Bilibili room');
    await page.locator('[data-testid="chat-empty-settings"]').click();
    const section = page.locator('[data-testid="settings-live-chat"]');
    await section.locator('[data-connection="tw"]').waitFor({ timeout: 15_000 });
    await expect(section.locator('[data-field="liveChat.connections.0.token"]').innerText()).resolves.toContain('A token is saved');
    await expect(section.locator('[data-field="liveChat.connections.0.token"] input').inputValue()).resolves.toBe('');
    expect(await page.content()).not.toContain(TWITCH_TOKEN);
    await page.locator('[data-testid="nav-chat"]').click();
    await page.locator('[data-testid="chat-empty"]').waitFor({ timeout: 10_000 });
  }, 60_000);

  it('renders a pushed feed: platforms, badges, paid amount highlighted, gifts, fates with their reasons, status chips', async () => {
    for (const e of FEED) await publish(e);
    await until(async () => (await page.locator('[data-testid="chat-entry"]').count()) === 4 && (await entry('bilibili:g1').getAttribute('data-fate')) === 'picked', 15_000, 'the four messages');

    // Newest first.
    const ids = await page.locator('[data-testid="chat-entry"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    expect(ids).toEqual(['twitch:l1', 'bilibili:g1', 'youtube:sc1', 'twitch:a1']);

    const paid = entry('youtube:sc1');
    await expect(paid.getAttribute('class')).resolves.toMatch(/\bpaid\b/);
    await expect(paid.locator('[data-testid="chat-paid"]').innerText()).resolves.toBe('$5.00');
    const background = (id: string) => page.evaluate(`getComputedStyle(document.querySelector('[data-testid="chat-entry"][data-id="${id}"]')).backgroundColor`);
    expect(await background('youtube:sc1')).not.toBe(await background('twitch:a1'));
    await expect(paid.locator('[data-testid="chat-fate"]').innerText()).resolves.toBe('picked: paid message');
    await expect(paid.locator('[data-testid="chat-kind"]').innerText()).resolves.toBe('paid');

    await expect(entry('bilibili:g1').locator('[data-testid="chat-gift"]').innerText()).resolves.toBe('小心心 × 3');
    await expect(entry('bilibili:g1').locator('[data-testid="chat-fate"]').innerText()).resolves.toBe('picked: thanks for support');
    await expect(entry('bilibili:g1').innerText()).resolves.toContain('thank you 小明');
    await expect(entry('twitch:l1').locator('[data-testid="chat-fate"]').innerText()).resolves.toBe('dropped: link');
    await expect(entry('twitch:a1').locator('[data-testid="chat-fate"]').innerText()).resolves.toBe('waiting');
    await expect(entry('twitch:a1').locator('[data-role]').allInnerTexts()).resolves.toEqual(['moderator', 'subscriber']);
    // Only a waiting message can be answered.
    await expect(entry('youtube:sc1').locator('[data-testid="chat-answer"]').count()).resolves.toBe(0);

    const tw = page.locator('[data-testid="chat-connections"] [data-connection="tw"]');
    await expect(tw.getAttribute('data-state')).resolves.toBe('live');
    await expect(tw.innerText()).resolves.toContain('42 messages, 1 skipped');
    const yt = page.locator('[data-testid="chat-connections"] [data-connection="yt"]');
    await expect(yt.getAttribute('data-state')).resolves.toBe('reconnecting');
    await expect(yt.innerText()).resolves.toContain('connection lost, retrying');
  }, 60_000);

  it('"answer this" and "ban user" publish the right commands; the ban is saved and shown', async () => {
    // A running live-chat service keeps its status key alive; the gateway answers 503 without one.
    await pub.set(CHAT_STATUS_KEY, '[]', 'PX', 600_000);
    await entry('twitch:a1').locator('[data-testid="chat-answer"]').click();
    await until(async () => rec.msgs(ChatChannels.command).find((m) => m.action === 'answer'), 10_000, 'the answer command');
    expect(rec.msgs(ChatChannels.command)).toEqual([{ action: 'answer', id: 'twitch:a1' }]);
    await page.locator('[data-testid="chat-notice"]').waitFor({ timeout: 10_000 });

    await entry('twitch:l1').locator('[data-testid="chat-ban"]').click();
    await until(async () => rec.msgs(ChatChannels.command).find((m) => m.action === 'ban'), 10_000, 'the ban command');
    expect(rec.msgs(ChatChannels.command)[1]).toEqual({ action: 'ban', platform: 'twitch', user_id: 'u9', name: 'Spammer' });
    await entry('twitch:l1').locator('[data-testid="chat-banned"]').waitFor({ timeout: 10_000 });
    expect(JSON.parse(readFileSync(path.join(dir, 'settings.json'), 'utf8')).liveChat.moderation.bannedUsers).toEqual(['twitch:u9']);

    // The Chinese names are drawn with the Noto Sans SC the app ships: loaded before the picture.
    await expect(page.evaluate(`document.fonts.load('16px "Noto Sans SC"', '小明小心心').then((faces) => faces.length)`)).resolves.toBeGreaterThan(0);
    await page.screenshot({ path: `${SHOTS}/chat-en.png`, fullPage: true });
  }, 60_000);

  it('keeps the DOM capped under a long stream, newest shown', async () => {
    for (let i = 0; i < 230; i++) await publish({ type: 'message', message: msg(`twitch:flood${i}`, { text: `line ${i}` }) });
    await entry('twitch:flood229').waitFor({ timeout: 20_000 });
    await until(async () => (await page.locator('[data-testid="chat-hidden"]').count()) > 0, 10_000, 'the hidden count');
    expect(await page.locator('[data-testid="chat-entry"]').count()).toBe(200);
    // 4 + 230 held, 200 shown.
    await expect(page.locator('[data-testid="chat-hidden"]').innerText()).resolves.toBe('34 older messages are not shown.');
  }, 60_000);

  it('settings: adds, disables and removes connections (the saved token kept), imports banned words (a bad file refused), unbans', async () => {
    await page.goto(`${gateway.url}/?token=${token}&lang=en&view=settings`);
    const section = page.locator('[data-testid="settings-live-chat"]');
    await section.locator('[data-connection="tw"]').waitFor({ timeout: 20_000 });
    const file = () => JSON.parse(readFileSync(path.join(dir, 'settings.json'), 'utf8')).liveChat;

    await section.locator('[data-testid="live-chat-add-bilibili"]').click();
    await section.locator('[data-field="liveChat.connections.1.channel"] input').fill('21452505');
    await page.locator('[data-testid="settings-save"]').click();
    await page.locator('[data-testid="settings-saved"]').waitFor({ timeout: 10_000 });
    expect(file().connections).toEqual([
      { id: 'tw', platform: 'twitch', channel: 'mio', token: TWITCH_TOKEN, username: 'miobot', enabled: true, postReplies: false },
      { id: 'bilibili-1', platform: 'bilibili', channel: '21452505', enabled: true, postReplies: false },
    ]);

    const input = section.locator('[data-testid="live-chat-import-file"]');
    const note = section.locator('[data-testid="live-chat-message"]');
    await input.setInputFiles({ name: 'words.txt', mimeType: 'text/plain', buffer: Buffer.from('# from my mod team\nbadword\n傻瓜\n') });
    await until(async () => ((await note.count()) > 0 ? note.innerText() : undefined), 10_000, 'the import message');
    await expect(note.innerText()).resolves.toBe('Imported 2 words (2 new); the list now has 2.');
    await expect(section.locator('[data-field="liveChat.moderation.bannedWords"] textarea').first().inputValue()).resolves.toBe('badword\n傻瓜');
    expect(file().moderation.bannedWords).toEqual(['badword', '傻瓜']);

    await input.setInputFiles({ name: 'empty.txt', mimeType: 'text/plain', buffer: Buffer.from('# nothing here\n') });
    await until(async () => ((await note.innerText()).startsWith('Import failed') ? true : undefined), 10_000, 'the refusal');
    await expect(note.innerText()).resolves.toMatch(/the file has no words: put one word or phrase per line/);
    expect(file().moderation.bannedWords).toEqual(['badword', '傻瓜']);

    // The user banned in the feed is listed; unbanning publishes the command and saves.
    const chip = section.locator('[data-user="twitch:u9"]');
    await chip.waitFor({ timeout: 5_000 });
    await chip.locator('.v-chip__close').click();
    await until(async () => rec.msgs(ChatChannels.command).find((m) => m.action === 'unban'), 10_000, 'the unban command');
    expect(rec.msgs(ChatChannels.command).find((m) => m.action === 'unban')).toEqual({ action: 'unban', platform: 'twitch', user_id: 'u9' });
    await until(async () => ((await chip.count()) === 0 ? true : undefined), 10_000, 'the chip gone');
    expect(file().moderation.bannedUsers).toEqual([]);

    // Disabling one connection and removing the other.
    await section.locator('[data-connection="bilibili-1"] [data-testid="live-chat-remove"]').click();
    await section.locator('[data-field="liveChat.connections.0.enabled"] input').click();
    await page.locator('[data-testid="settings-save"]').click();
    await until(async () => (file().connections.length === 1 ? true : undefined), 10_000, 'the connection removed');
    expect(file().connections).toEqual([{ id: 'tw', platform: 'twitch', channel: 'mio', token: TWITCH_TOKEN, username: 'miobot', enabled: false, postReplies: false }]);
    expect(await page.content()).not.toContain(TWITCH_TOKEN);
  }, 90_000);

  it('shows the feed in Chinese from the gateway snapshot after a reload', async () => {
    await page.goto(`${gateway.url}/?token=${token}&lang=zh-CN&view=chat`);
    await page.locator('[data-testid="chat-page"][data-feed="live"]').waitFor({ timeout: 20_000 });
    await page.locator('[data-testid="chat-entry"]').first().waitFor({ timeout: 10_000 });
    // Back to the few first messages only, for the screenshot: a fresh burst would push them out, so
    // the older ones are checked through the gateway's own buffer instead.
    const res = await fetch(`${gateway.url}/api/chat`, { headers: { authorization: `Bearer ${token}` } });
    const snap = (await res.json()) as { feed: Array<{ message: { id: string }; fate: string }> };
    expect(snap.feed.find((e) => e.message.id === 'youtube:sc1')?.fate).toBe('picked');
    await expect(page.locator('[data-testid="chat-connections"] [data-connection="tw"]').innerText()).resolves.toContain('直播中');
    await expect(page.locator('[data-testid="chat-connections"] [data-connection="tw"]').innerText()).resolves.toContain('42 条消息，跳过 1 条');
    await expect(entry('twitch:flood229').locator('[data-testid="chat-fate"]').innerText()).resolves.toBe('等待中');
    await expect(entry('twitch:flood229').locator('[data-testid="chat-answer"]').innerText()).resolves.toBe('回复这条');
    await publish({ type: 'message', message: msg('bilibili:sc2', { platform: 'bilibili', connection: 'bili', channel: '21452505', author: { id: '888', name: '小红', roles: ['member'] }, text: '主播唱首歌吧', kind: 'paid', paid: { amount: 30, currency: 'CNY' } }) });
    await publish({ type: 'picked', ids: ['bilibili:sc2'], reason: 'llm', turn_id: 'turn-3' });
    await until(async () => (await entry('bilibili:sc2').getAttribute('data-fate')) === 'picked', 10_000, 'the Chinese super chat picked');
    await expect(entry('bilibili:sc2').locator('[data-testid="chat-fate"]').innerText()).resolves.toBe('已选中：由 LLM 选择');
    await expect(entry('bilibili:sc2').locator('[data-testid="chat-paid"]').innerText()).resolves.toMatch(/30/);
    await expect(entry('bilibili:sc2').locator('[data-role]').innerText()).resolves.toBe('会员');
    // The Chinese is drawn with the Noto Sans SC the app ships (this machine has no CJK font of its own).
    await until(
      async () => (await page.evaluate(`document.fonts.ready.then(() => [...document.fonts].some((f) => f.family.replace(/"/g, '') === 'Noto Sans SC' && f.status === 'loaded'))`)) === true,
      10_000,
      'Noto Sans SC loaded',
    );
    await expect(page.evaluate(`document.fonts.check('16px "Noto Sans SC"', '主播唱首歌吧直播中')`)).resolves.toBe(true);
    await page.screenshot({ path: `${SHOTS}/chat-zh-CN.png` });

    expect(problems.pageErrors).toEqual([]);
    // The settings page asks for the speech routes, which this gateway (no speech workers) does not
    // serve; the refused word list was a 400 on purpose.
    expect(failed.filter((f) => !/^404 \/api\/speech\//.test(f))).toEqual(['400 /api/chat/banned-words']);
    expect(problems.consoleErrors.filter((m) => !/^Failed to load resource: the server responded with a status of 40[04]/.test(m))).toHaveLength(0);
    expect(problems.consoleErrors).toHaveLength(failed.length);
    expect(await readCspViolations(page)).toEqual([]);
  }, 60_000);

  it('says when the feed socket is lost, and comes back live with the new core', async () => {
    await page.goto(`${gateway.url}/?token=${token}&lang=en&view=chat`);
    await page.locator('[data-testid="chat-page"][data-feed="live"]').waitFor({ timeout: 20_000 });
    const port = new URL(gateway.url).port;
    await gateway.close();
    await page.locator('[data-testid="chat-feed-lost"]').waitFor({ timeout: 10_000 });
    gateway = await startGateway(testGatewayDeps({ token, rendererDir, settings: { service: new SettingsService({ dataDir: dir }) }, chat: { busUrl: bus.url } }), { host: '127.0.0.1', port: Number(port) });
    await page.locator('[data-testid="chat-page"][data-feed="live"]').waitFor({ timeout: 20_000 });
    // The new core's feed: what it hears from now on.
    await publish({ type: 'message', message: msg('twitch:after', { text: 'still here?' }) });
    await entry('twitch:after').waitFor({ timeout: 10_000 });
  }, 60_000);
});
