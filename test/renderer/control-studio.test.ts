/**
 * The studio page under the control API, in real Chromium against the REAL gateway on the embedded
 * bus, with a flite fake mic and the gateway tests' FakePipeline standing in for the services:
 *   - mute: the page stops its mic (the gateway publishes the mic stream's `end`), shows "muted" and
 *     sends no mic frame until unmuted; unmute turns the mic that was on back on (a new `start`)
 *   - expression: the avatar shows the mapped expression
 *   - say: the command's input reaches the dialog engine's queue; its audio (as the services would
 *     deliver it) plays and moves the avatar's mouth; stop publishes the stop, and the page's `stop`
 *     silences it
 * test/pipeline/control-say.test.ts runs `say` and `stop` through the real services.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels, Queues } from '../../src/shared/bus.js';
import type { MicFrame, UserInput } from '../../src/shared/voice.js';
import { startGateway, type Gateway } from '../../src/main/gateway/server.js';
import { ensureBuilt, rendererDir } from '../electron/built-app.js';
import { FakePipeline, testGatewayDeps } from '../main/gateway/helpers.js';
import { client, startBackend, waitFor, type Backend } from '../main/supervisor/helpers.js';
import { chromiumMissing, launchChromium, watchPage, type PageProblems } from '../helpers/chromium.js';
import { audioChunkEvent, fliteMissing, makeFakeMic, syllableTone, type FakeMic } from './voice-audio.js';

const skipReason = chromiumMissing() ?? fliteMissing();
const TOKEN = 'control-studio-test-token-0123456789';
const S = 'ctl';
const SPARKLE = 'PARAM_EYE_BALL_KIRAKIRA';
const SHOTS = '/tmp/fav-shots';

let dir: string;
let mic: FakeMic;
let backend: Backend;
let gateway: Gateway;
let pipe: FakePipeline;
let redis: Redis;
let browser: Browser | undefined;
let page: Page;
let problems: PageProblems;

async function control(command: string, body: object = {}) {
  const res = await fetch(`${gateway.url}/api/control/${command}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ session: S, ...body }),
  });
  return (await res.json()) as Record<string, unknown>;
}
const micFrames = () => pipe.rec.msgs(Channels.mic) as MicFrame[];
/** What the page's sockets sent, in order: 'bin' for a binary (mic) frame, else the command's type (an init script). */
const sends = () => page.evaluate('window.__sends.slice()') as Promise<string[]>;
const param = (id: string) => page.evaluate(`window.__favAvatar?.debug.params[${JSON.stringify(id)}]`) as Promise<number | undefined>;

describe.skipIf(skipReason !== undefined)(`the studio page under the control API${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fav-control-studio-'));
    mic = makeFakeMic('Testing the muted microphone.', path.join(dir, 'mic.wav'), 0.5);
    await ensureBuilt();
    backend = await startBackend('embedded');
    gateway = await startGateway(
      testGatewayDeps({ token: TOKEN, bus: { kind: 'embedded', url: backend.url, ping: async () => true }, rendererDir, voice: { busUrl: backend.url, input: { maxBytes: 1 << 20, maxTextChars: 4000 } } }),
      { host: '127.0.0.1', port: 0 },
    );
    pipe = await FakePipeline.start(backend.url);
    redis = await client(backend.url);
    browser = await launchChromium({ fakeMic: mic.file });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    problems = await watchPage(page);
    await page.addInitScript({
      content: `window.__sends = [];
        (() => {
          const send = WebSocket.prototype.send;
          WebSocket.prototype.send = function (d) {
            let type = 'bin';
            if (typeof d === 'string') { try { type = JSON.parse(d).type; } catch { type = '?'; } }
            window.__sends.push(type);
            return send.call(this, d);
          };
        })();`,
    });
    await page.goto(`${gateway.url}/?token=${TOKEN}&session=${S}`);
    await page.locator('[data-testid="session-connection"][data-state="open"]').waitFor({ timeout: 20_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    redis?.disconnect();
    await pipe?.close();
    await gateway?.close();
    await backend?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('mute stops the page\'s mic (the gateway sees the stream end, then no frame); unmute turns it back on', { timeout: 90_000 }, async () => {
    await page.locator('[data-testid="hotkey-hint"]').waitFor({ timeout: 10_000 }); // the page read the settings
    await page.locator('[data-testid="mic-button"]').click();
    await page.locator('[data-testid="mic-button"][data-mic="on"]').waitFor({ timeout: 10_000 });
    await waitFor(() => (micFrames().filter((f) => f.kind === 'audio').length >= 10 ? true : undefined), 'mic frames on fav:mic', 30_000);

    expect(await control('mute')).toMatchObject({ ok: true, muted: true, studios: 1 });
    // Positive signal: the page sent mic_stop, so the gateway closed the stream.
    await pipe.waitOn(Channels.mic, 1, (m) => m.kind === 'end', 10_000);
    await page.locator('[data-testid="muted"]').waitFor({ timeout: 5000 });
    await page.locator('[data-testid="mic-button"][data-mic="off"]').waitFor({ timeout: 5000 });
    expect(await page.locator('[data-testid="mic-button"]').isDisabled()).toBe(true);
    const endIdx = micFrames().findIndex((f) => f.kind === 'end');
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'stage-control-en.png') });
    // A page that opens while the session is muted is muted too (here in Chinese, for its screenshot).
    const zh = await browser!.newPage({ viewport: { width: 1100, height: 900 } });
    await zh.goto(`${gateway.url}/?token=${TOKEN}&session=${S}&lang=zh-CN`);
    await zh.locator('[data-testid="muted"]', { hasText: '麦克风已静音' }).waitFor({ timeout: 20_000 });
    await zh.locator('[data-testid="hotkey-hint"]', { hasText: '按 F8 开关麦克风' }).waitFor({ timeout: 20_000 });
    expect(await zh.locator('[data-testid="mic-button"]').isDisabled()).toBe(true);
    await zh.screenshot({ path: path.join(SHOTS, 'stage-control-zh-CN.png') });
    await zh.close();

    expect(await control('unmute')).toMatchObject({ ok: true, muted: false });
    // The next thing on the mic stream is the new start: nothing was sent in between.
    await pipe.waitOn(Channels.mic, 2, (m) => m.kind === 'start', 10_000);
    const between = micFrames().slice(endIdx + 1);
    expect(between[0]!.kind).toBe('start');
    await page.locator('[data-testid="mic-button"][data-mic="on"]').waitFor({ timeout: 5000 });
    expect(await page.locator('[data-testid="muted"]').count()).toBe(0);
    // And the page itself sent no mic frame between its mic_stop and its next mic_start.
    const sent = await sends();
    const stopAt = sent.indexOf('mic_stop');
    const restartAt = sent.indexOf('mic_start', stopAt);
    expect(stopAt).toBeGreaterThan(sent.indexOf('mic_start'));
    expect(restartAt).toBeGreaterThan(stopAt);
    expect(sent.slice(stopAt + 1, restartAt).filter((t) => t === 'bin')).toEqual([]);
    expect(sent.slice(0, stopAt).filter((t) => t === 'bin').length).toBeGreaterThanOrEqual(10);
    const stats = (await page.evaluate('window.__favVoice.stats()')) as { session: { protocolErrors: number } };
    expect(stats.session.protocolErrors).toBe(0);
    await page.locator('[data-testid="mic-button"]').click();
    await pipe.waitOn(Channels.mic, 2, (m) => m.kind === 'end', 10_000);
  });

  it('expression shows the mapped expression on the avatar', { timeout: 60_000 }, async () => {
    await waitFor(() => page.evaluate('window.__favAvatar?.debug.frames > 0 || undefined'), 'the avatar drawing', 30_000);
    await page.evaluate(`window.__favAvatar.debug.watch.add(${JSON.stringify(SPARKLE)})`);
    expect(await control('expression', { name: 'joy' })).toMatchObject({ ok: true, expression: 'joy' });
    await waitFor(async () => (((await param(SPARKLE)) ?? 0) > 0.9 ? true : undefined), 'the joy expression (eyes sparkle)', 20_000);
  });

  it('say: its input reaches the dialog engine, its audio plays and moves the mouth; stop stops it', { timeout: 60_000 }, async () => {
    const r = await control('say', { text: '[joy] Hello chat!' });
    const raw = await redis.brpop(Queues.dialogInputs, 5);
    const input = JSON.parse(raw![1]) as UserInput;
    expect(input).toMatchObject({ source: 'say', text: '[joy] Hello chat!', turn_id: r.turn_id, session_id: S });
    const turn = input.turn_id;
    const rate = 24000;
    // The Chinese page took the audio while it was open; it comes back here when that page closed.
    await waitFor(() => page.evaluate('window.__favVoice.stats().audio || undefined'), 'this page to have the audio again', 10_000);
    await pipe.deliver(
      { type: 'turn_state', session_id: S, turn_id: turn, state: 'speaking' },
      { type: 'reply_delta', session_id: S, turn_id: turn, task_id: turn, text: 'Hello chat!' },
      audioChunkEvent(S, turn, 0, syllableTone(1.5, rate, 6), rate),
      audioChunkEvent(S, turn, 1, syllableTone(1.5, rate, 6), rate),
    );
    await waitFor(async () => ((await page.evaluate('window.__favVoice.stats().mouthMax')) as number) > 0.3 || undefined, 'the mouth to open', 20_000).catch(async (e: Error) => {
      const st = (await page.evaluate('window.__favVoice.stats()')) as Record<string, unknown>;
      const { log, mouthTrace, contextState, playingTime, audio, chunks } = st as { log: unknown[]; mouthTrace: unknown[] } & Record<string, unknown>;
      throw new Error(`${e.message}; player: ${JSON.stringify({ audio, chunks, contextState, playingTime, log: log.slice(-4), mouthTrace: mouthTrace.slice(-8) })}`);
    });
    expect(await control('stop')).toMatchObject({ ok: true, command: 'stop' });
    await pipe.waitOn(Channels.control, 1, (m) => m.action === 'stop' && m.session_id === S, 5000);
    await pipe.deliver({ type: 'stop', session_id: S, turn_id: turn, task_id: turn, reason: 'stop' });
    await waitFor(async () => ((await page.evaluate('window.__favVoice.stats().activeSources')) === 0 ? true : undefined), 'the audio to stop', 10_000);
    expect(problems.pageErrors).toEqual([]);
  });
});
