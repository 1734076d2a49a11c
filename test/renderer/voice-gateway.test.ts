/**
 * The conversation panel against the REAL gateway (src/main/gateway with its voice endpoints) on
 * the embedded bus, in real Chromium with a flite fake mic. A small fake pipeline (the gateway
 * tests' FakePipeline) stands in for the services: it takes InputTasks from fav:input, records
 * fav:mic / fav:control / fav:events and publishes ClientEvents on fav:deliver. This checks that
 * the page and the gateway agree on the wire, end to end through the bus:
 *   typed text -> InputTask; fav:deliver events -> rendered; audio -> played -> playback_done TurnEvent;
 *   mic -> MicFrames start/audio/end carrying the speech; stop button -> ControlEvent stop;
 *   an overlay (view socket, no token) beside the page: the page plays each reply, the overlay gets
 *   its timing; when the overlay takes the audio the page says so, moves the mouth from the timing
 *   and reports no playback_done, and its "play here" button takes the audio back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels } from '../../src/shared/bus.js';
import type { ClientEvent, MicFrame, TurnEvent } from '../../src/shared/voice.js';
import { startGateway, type Gateway } from '../../src/main/gateway/server.js';
import { ensureBuilt, rendererDir } from '../electron/built-app.js';
import { FakePipeline, WsClient, type Received, testGatewayDeps } from '../main/gateway/helpers.js';
import { startBackend, waitFor, type Backend } from '../main/supervisor/helpers.js';
import { chromiumMissing, launchChromium, readCspViolations, readWire, recordWire, watchPage, type PageProblems } from '../helpers/chromium.js';
import { bestAlignment, envelopeOf, fliteMissing, makeFakeMic, syllableTone, toS16, type FakeMic } from './voice-audio.js';

const skipReason = chromiumMissing() ?? fliteMissing();
const TOKEN = 'gateway-voice-test-token-0123456789';
const S = 'e2e';

let dir: string;
let mic: FakeMic;
let backend: Backend;
let gateway: Gateway;
let pipe: FakePipeline;
let browser: Browser | undefined;
let page: Page;
let problems: PageProblems;


describe.skipIf(skipReason !== undefined)(`conversation panel with the real gateway${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fav-voice-gw-'));
    mic = makeFakeMic('Testing the studio microphone.', path.join(dir, 'mic.wav'), 0.8);
    await ensureBuilt();
    backend = await startBackend('embedded');
    gateway = await startGateway(
      testGatewayDeps({
        token: TOKEN,
        bus: { kind: 'embedded', url: backend.url, ping: async () => true },
        rendererDir,
        voice: { busUrl: backend.url, input: { maxBytes: 1 << 20, maxTextChars: 4000 } },
      }),
      { host: '127.0.0.1', port: 0 },
    );
    pipe = await FakePipeline.start(backend.url);
    browser = await launchChromium({ fakeMic: mic.file });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    problems = await watchPage(page);
    await recordWire(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await pipe?.close();
    await gateway?.close();
    await backend?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('typed text becomes an InputTask; delivered events render; played audio yields a playback_done TurnEvent', async () => {
    await page.goto(`${gateway.url}/?token=${TOKEN}&session=${S}`);
    await page.locator('[data-testid="session-connection"][data-state="open"]').waitFor({ timeout: 10_000 });
    // Loading the avatar (moc, textures, software GL) holds the page's main thread; the mouth is
    // sampled on it, so the reply comes once the avatar draws.
    await waitFor(() => page.evaluate('window.__favAvatar?.debug.frames > 0 || undefined'), 'the avatar drawing', 30_000);

    const input = page.locator('[data-testid="text-input"] input');
    await input.fill('hello gateway');
    await input.press('Enter');
    const task = await pipe.nextInput();
    expect(task).toMatchObject({ session_id: S, type: 'text', source: 'typed', text: 'hello gateway' });
    const turn = task.turn_id;

    const rate = 24000;
    // 2.5 s: a loaded machine's audio thread can stall and then render a short buffer in one burst,
    // between two samples of the mouth; the mouth must be seen moving during a longer one.
    const tone = syllableTone(2.5, rate, 12);
    const events: ClientEvent[] = [
      { type: 'turn_state', session_id: S, turn_id: turn, state: 'thinking' },
      { type: 'transcript', session_id: S, turn_id: turn, task_id: turn, text: 'hello gateway', final: true },
      { type: 'reply_delta', session_id: S, turn_id: turn, task_id: turn, text: 'Hello from ' },
      { type: 'reply_delta', session_id: S, turn_id: turn, task_id: turn, text: 'the pipeline.' },
      { type: 'emotion', session_id: S, turn_id: turn, emotion: 'surprised' },
      { type: 'turn_state', session_id: S, turn_id: turn, state: 'speaking' },
      {
        type: 'audio',
        session_id: S,
        turn_id: turn,
        task_id: turn,
        seq: 0,
        index: 0,
        chunk: 0,
        format: 'pcm_s16le',
        sample_rate: rate,
        envelope: envelopeOf(tone, rate),
        envelope_frame_ms: 20,
        visemes: [],
        pcm_b64: toS16(tone).toString('base64'),
      },
      { type: 'reply_done', session_id: S, turn_id: turn, task_id: turn, text: 'Hello from the pipeline.' },
      { type: 'audio_end', session_id: S, turn_id: turn, task_id: turn, chunks: 1 },
    ];
    await pipe.deliver(...events);

    await page.locator(`[data-testid="entry"][data-role="assistant"][data-turn="${turn}"][data-final="true"]`, { hasText: 'Hello from the pipeline.' }).waitFor({ timeout: 5000 });
    await expect(page.locator('[data-testid="emotion"]').getAttribute('data-emotion')).resolves.toBe('surprised');
    await expect(page.locator('[data-testid="turn-state"]').getAttribute('data-state')).resolves.toBe('speaking');
    await expect(page.locator('[data-testid="entry"][data-role="user"]').count()).resolves.toBe(1);

    const [done] = await pipe.waitOn<TurnEvent>(Channels.events, 1, (m) => m.kind === 'playback_done' && m.turn_id === turn, 15_000);
    // Not before the 2.5 s of audio had played, by the page's audio clock.
    const end = Math.max(...((await page.evaluate('window.__favVoice.stats()')) as { log: { turnId: string; end: number }[] }).log.filter((e) => e.turnId === turn).map((e) => e.end));
    const sent = (await readWire(page)).find((w) => w.dir === 'out' && w.type === 'playback_done' && w.turn === turn)!;
    expect(sent.audioTime).toBeGreaterThanOrEqual(end);
    expect(done).toMatchObject({ kind: 'playback_done', session_id: S, turn_id: turn, task_id: turn });
    const s = (await page.evaluate('window.__favVoice.stats()')) as { chunks: number; mouthMax: number; session: { protocolErrors: number }; mouthTrace: unknown[]; log: unknown[] };
    expect(s.chunks).toBe(1);
    expect(s.mouthMax, `mouth trace ${JSON.stringify(s.mouthTrace.slice(-8))}, schedule ${JSON.stringify(s.log.slice(-2))}`).toBeGreaterThan(0.5);
    expect(s.session.protocolErrors).toBe(0);
  });

  it('the mic reaches fav:mic as start, 20 ms audio frames carrying the speech, and end', async () => {
    await page.locator('[data-testid="mic-button"]').click();
    await page.locator('[data-testid="mic-button"][data-mic="on"]').waitFor({ timeout: 5000 });
    // Until the frames on the bus cover the lead-in, the speech and 0.3 s after it (a loaded machine
    // may capture slower than real time, so count the audio, not the clock).
    const wanted = Math.ceil(((mic.leadSeconds + mic.speech16k.length / 16000 + 0.3) * 1000) / 20);
    await waitFor(() => ((pipe.rec.msgs(Channels.mic) as MicFrame[]).filter((f) => f.kind === 'audio').length >= wanted ? true : undefined), 'the mic frames covering the speech', 30_000);
    await page.locator('[data-testid="mic-button"]').click();
    const frames = await pipe.waitOn<MicFrame>(Channels.mic, 1, (m) => m.kind === 'end', 5000).then(() => pipe.rec.msgs(Channels.mic) as MicFrame[]);
    expect(frames[0]).toMatchObject({ session_id: S, kind: 'start', seq: 0 });
    expect(frames.at(-1)!.kind).toBe('end');
    const audio = frames.slice(1, -1);
    expect(audio.every((f) => f.kind === 'audio' && f.sample_rate === 16000)).toBe(true);
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
    const bytes = audio.map((f) => Buffer.from(f.pcm_b64!, 'base64'));
    expect(bytes.slice(0, -1).every((b) => b.length === 640)).toBe(true);

    const samples = new Float32Array(Buffer.concat(bytes).length / 2);
    const all = Buffer.concat(bytes);
    for (let i = 0; i < samples.length; i++) samples[i] = all.readInt16LE(i * 2) / 32768;
    const match = bestAlignment(envelopeOf(samples, 16000), envelopeOf(mic.speech16k, 16000));
    expect(match.r).toBeGreaterThan(0.8);
  });

  it('the stop button publishes a ControlEvent stop for the session', async () => {
    await page.locator('[data-testid="stop-button"]').click();
    const [stop] = await pipe.waitOn(Channels.control, 1, (m) => m.action === 'stop', 5000);
    expect(stop).toMatchObject({ action: 'stop', session_id: S });
  });

  it('beside an overlay: the page plays the audio; the overlay can take it (the page says so) and "play here" takes it back', async () => {
    type Stats = { chunks: number; audio: boolean; playbackDone: string[]; timingFrames: number };
    const stats = () => page.evaluate('window.__favVoice.stats()') as Promise<Stats>;
    // Polled from here: page.waitForFunction compiles its predicate in the page, which the studio's CSP
    // (no 'unsafe-eval') refuses, while page.evaluate goes through the devtools protocol.
    const until = async (cond: () => Promise<boolean>, what: string) => {
      for (let i = 0; i < 500; i++) {
        if (await cond()) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`timed out waiting until ${what}`);
    };
    const rate = 24000;
    const chunk = (turn: string) => {
      const tone = syllableTone(0.2, rate, 1);
      const audio: ClientEvent = { type: 'audio', session_id: S, turn_id: turn, task_id: turn, seq: 0, index: 0, chunk: 0, format: 'pcm_s16le', sample_rate: rate, envelope: envelopeOf(tone, rate), envelope_frame_ms: 20, visemes: [], pcm_b64: toS16(tone).toString('base64') };
      const end: ClientEvent = { type: 'audio_end', session_id: S, turn_id: turn, task_id: turn, chunks: 1 };
      return [audio, end];
    };
    const untilType = async (c: WsClient, type: string) => {
      const got: Received[] = [];
      for (let m = await c.next(); ; m = await c.next()) {
        got.push(m);
        if (m.json?.type === type) return got;
      }
    };
    const overlay = await WsClient.open(`${gateway.url.replace(/^http/, 'ws')}/api/session?session=${S}&role=view`);
    await pipe.deliver({ type: 'turn_state', session_id: S, turn_id: '-', state: 'idle' });
    expect((await overlay.json()).type).toBe('turn_state');

    // The page has the audio: it plays the chunk and reports playback_done; the overlay gets the timing only.
    const before = await stats();
    await pipe.deliver(...chunk('ov1'));
    await pipe.waitOn<TurnEvent>(Channels.events, 1, (m) => m.kind === 'playback_done' && m.turn_id === 'ov1', 5000);
    expect((await stats()).chunks).toBe(before.chunks + 1);
    const atOverlay = await untilType(overlay, 'audio_end');
    expect(atOverlay.map((m) => m.json?.type ?? 'binary')).toEqual(['audio_timing', 'audio_end']);

    // The overlay takes the audio: the page says so, plays nothing and reports nothing.
    overlay.send({ type: 'claim_audio' });
    expect(await overlay.json()).toMatchObject({ type: 'session_role', role: 'view', audio: true });
    await page.locator('[data-testid="audio-elsewhere"]').waitFor({ timeout: 5000 });
    expect((await stats()).audio).toBe(false);
    await pipe.deliver(...chunk('ov2'));
    expect((await untilType(overlay, 'audio_end')).map((m) => m.json?.type ?? 'binary')).toEqual(['audio', 'binary', 'audio_end']);
    // The page's mouth follows the overlay's voice from the chunk's timing.
    await until(async () => (await stats()).timingFrames > 2, 'the page took the overlay audio timing');
    // The page's player saw the turn end (it had nothing to play), yet no playback_done left the page:
    // text typed after it arrives, and nothing of ov2 came before it on the same socket.
    await until(async () => (await stats()).playbackDone.includes('ov2'), "the page's player saw ov2 end");
    const input = page.locator('[data-testid="text-input"] input');
    await input.fill('after ov2');
    await input.press('Enter');
    expect((await pipe.nextInput()).text).toBe('after ov2');
    expect(pipe.rec.msgs(Channels.events).filter((m) => (m as TurnEvent).kind === 'playback_done' && (m as TurnEvent).turn_id === 'ov2')).toEqual([]);
    expect((await stats()).chunks).toBe(before.chunks + 1);

    // "Play here": the audio is back in the page (the overlay is told), and so is its playback_done.
    await page.locator('[data-testid="play-here"]').click();
    expect(await overlay.json()).toMatchObject({ type: 'session_role', role: 'view', audio: false });
    await page.locator('[data-testid="audio-elsewhere"]').waitFor({ state: 'detached', timeout: 5000 });
    await pipe.deliver(...chunk('ov3'));
    await pipe.waitOn<TurnEvent>(Channels.events, 1, (m) => m.kind === 'playback_done' && m.turn_id === 'ov3', 5000);
    expect((await stats()).chunks).toBe(before.chunks + 2);
    // Had the page sent playback_done without the audio, the gateway's refusal (an error event,
    // shown as an alert) would have come on this socket before ov3's audio.
    await expect(page.locator('[data-testid="voice-alert"]').count()).resolves.toBe(0);
    overlay.close();
  });

  it('no CSP violations, console errors, page errors or gateway error events', async () => {
    expect(await readCspViolations(page)).toEqual([]);
    expect(problems.pageErrors).toEqual([]);
    expect(problems.consoleErrors).toEqual([]);
    await expect(page.locator('[data-testid="voice-alert"]').count()).resolves.toBe(0);
  });
});
