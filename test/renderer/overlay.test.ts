/**
 * The OBS pages, BUILT (out/renderer), in real Chromium against the REAL gateway on the embedded bus,
 * with the gateway tests' FakePipeline standing in for the services (it takes the InputTasks and
 * publishes ClientEvents on fav:deliver). What OBS would see, checked on headless screenshots with
 * alpha (omitBackground, decoded with the pngjs that playwright-core bundles):
 *   - /overlay: alpha 0 on the border (everywhere, while no model is drawn), no UI, no scrollbars,
 *     a view socket with no token; emotion events reach the avatar
 *   - /overlay?bg=green: the key colour, exactly #00FF00, outside the model
 *   - /overlay/subtitles: a reply's sentence appears with its audio and clears `fade` ms after the
 *     turn ended, by the page's clock; the viewer's question above it with question=1
 *   - the studio and an overlay open on one session play each reply once: the audio socket gets the
 *     PCM, the other the timing; with audio=1 the overlay plays it and the studio does not
 *   - no CSP violations, console errors or page errors
 * Screenshots: test-results/overlay-*.png.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels } from '../../src/shared/bus.js';
import type { ClientEvent, TurnEvent } from '../../src/shared/voice.js';
import { startGateway, type Gateway } from '../../src/main/gateway/server.js';
import { ensureBuilt, rendererDir, repoRoot } from '../electron/built-app.js';
import { FakePipeline, testGatewayDeps } from '../main/gateway/helpers.js';
import { startBackend, type Backend } from '../main/supervisor/helpers.js';
import { chromiumMissing, launchChromium, readCspViolations, readWire, recordWire, watchPage, type PageProblems } from '../helpers/chromium.js';
import { envelopeOf, syllableTone, toS16 } from './voice-audio.js';

interface Png {
  width: number;
  height: number;
  /** RGBA, row-major. */
  data: Buffer;
}
const { PNG } = createRequire(import.meta.url)('playwright-core/lib/utilsBundle') as { PNG: { sync: { read(buf: Buffer): Png } } };

const skipReason = chromiumMissing();
const TOKEN = 'overlay-test-token-0123456789abcdef';
const S = 'obs';
const SHOTS = path.join(repoRoot, 'test-results');
const SIZE = { width: 600, height: 800 };

interface OverlayStats {
  connection: string;
  role: string;
  audio: boolean;
  chunks: number;
  timingFrames: number;
  mouthMax: number;
  avatarModule: boolean;
  avatar: boolean;
  model?: string;
  failed?: string;
  emotions: { tag: string; applied: boolean }[];
}
interface SubtitleStats {
  connection: string;
  view: { turnId?: string; question?: string; sentence?: string };
  history: { view: { turnId?: string; question?: string; sentence?: string }; at: number }[];
  events: { type: string; turn?: string; at: number }[];
}

let backend: Backend;
let gateway: Gateway;
let pipe: FakePipeline;
let browser: Browser | undefined;
const watched: { page: Page; problems: PageProblems; name: string; csp?: string[] }[] = [];
/** A page with a model renders at up to 60 fps in software GL: each is closed once checked, and its test has time to load one. */
const MODEL_TEST_MS = 120_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function open(url: string, name: string, viewport = SIZE): Promise<Page> {
  const page = await browser!.newPage({ viewport });
  const problems = await watchPage(page);
  await recordWire(page);
  watched.push({ page, problems, name });
  await page.goto(`${gateway.url}${url}`);
  return page;
}

const overlayStats = (page: Page) => page.evaluate('window.__favOverlay.stats()') as Promise<OverlayStats>;
const subtitleStats = (page: Page) => page.evaluate('window.__favSubtitles.stats()') as Promise<SubtitleStats>;
const openOverlay = async (query: string, name: string): Promise<Page> => {
  const page = await open(`/overlay${query}`, name);
  await until(async () => (await overlayStats(page)).connection === 'open', `${name}: its session socket open`);
  return page;
};

/** Keeps what the page's CSP listener saw, then closes it. */
async function done(page: Page): Promise<void> {
  const w = watched.find((x) => x.page === page)!;
  w.csp = await readCspViolations(page);
  await page.close();
}

async function shot(page: Page, name: string): Promise<Png> {
  const buf = await page.screenshot({ omitBackground: true, path: path.join(SHOTS, `${name}.png`) });
  return PNG.sync.read(buf);
}

/** RGBA of every pixel on the image's outer ring `inset` pixels deep. */
function border(png: Png, inset = 4): number[][] {
  const out: number[][] = [];
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      if (x >= inset && x < png.width - inset && y >= inset && y < png.height - inset) continue;
      const i = (y * png.width + x) * 4;
      out.push([png.data[i]!, png.data[i + 1]!, png.data[i + 2]!, png.data[i + 3]!]);
    }
  }
  return out;
}
function allPixels(png: Png): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < png.data.length; i += 4) out.push([png.data[i]!, png.data[i + 1]!, png.data[i + 2]!, png.data[i + 3]!]);
  return out;
}
/** How many pixels are not `rgba` (the first few shown), for readable failures. */
const offPixels = (pixels: number[][], rgba: number[]) => {
  const off = pixels.filter((p) => p.some((v, k) => v !== rgba[k]));
  return { count: off.length, first: off.slice(0, 3) };
};

function audioChunk(turn: string, seq: number, text: string | undefined, seconds: number): ClientEvent {
  const rate = 24000;
  const tone = syllableTone(seconds, rate, 2);
  return {
    type: 'audio',
    session_id: S,
    turn_id: turn,
    task_id: turn,
    seq,
    index: seq,
    chunk: 0,
    format: 'pcm_s16le',
    sample_rate: rate,
    envelope: envelopeOf(tone, rate),
    envelope_frame_ms: 20,
    visemes: [],
    ...(text !== undefined ? { text } : {}),
    pcm_b64: toS16(tone).toString('base64'),
  };
}

describe.skipIf(skipReason !== undefined)(`OBS overlay pages with the real gateway${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
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
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await pipe?.close();
    await gateway?.close();
    await backend?.stop();
  });

  it('/overlay: a view socket with no token, nothing but the stage, no scrollbars, alpha 0 on the border', async () => {
    const page = await openOverlay(`?session=${S}`, 'overlay-transparent');
    const s = await overlayStats(page);
    expect(s).toMatchObject({ connection: 'open', role: 'view', audio: false });
    // No UI: the body holds the stage (and what the avatar draws into it), nothing else.
    const elements = (await page.evaluate(
      `[...document.body.querySelectorAll('*')].filter((e) => !e.closest('#stage') && e.tagName !== 'SCRIPT').map((e) => e.tagName + '#' + e.id)`,
    )) as string[];
    expect(elements).toEqual([]);
    const layout = (await page.evaluate(
      `({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth, sh: document.documentElement.scrollHeight,
          ch: document.documentElement.clientHeight, overflow: getComputedStyle(document.body).overflow,
          bg: [getComputedStyle(document.documentElement).backgroundColor, getComputedStyle(document.body).backgroundColor] })`,
    )) as { sw: number; cw: number; sh: number; ch: number; overflow: string; bg: string[] };
    expect(layout).toEqual({ sw: SIZE.width, cw: SIZE.width, sh: SIZE.height, ch: SIZE.height, overflow: 'hidden', bg: ['rgba(0, 0, 0, 0)', 'rgba(0, 0, 0, 0)'] });
    if (s.avatarModule) await until(async () => (await overlayStats(page)).model !== undefined, 'the model loaded');
    const png = await shot(page, 'overlay-transparent');
    expect([png.width, png.height]).toEqual([SIZE.width, SIZE.height]);
    expect(offPixels(border(png), [0, 0, 0, 0])).toEqual({ count: 0, first: [] });
    if (s.avatarModule) {
      // The model is drawn inside: some pixels are opaque.
      expect(allPixels(png).filter((p) => p[3]! > 0).length).toBeGreaterThan(1000);
    } else {
      expect(offPixels(allPixels(png), [0, 0, 0, 0]).count).toBe(0);
    }
    await done(page);
  }, MODEL_TEST_MS);

  it('/overlay?bg=green: exactly #00FF00 outside the model; bg=magenta likewise', async () => {
    for (const [bg, rgba] of [
      ['green', [0, 255, 0, 255]],
      ['magenta', [255, 0, 255, 255]],
    ] as const) {
      const page = await openOverlay(`?session=${S}&bg=${bg}`, `overlay-${bg}`);
      const s = await overlayStats(page);
      if (s.avatarModule) await until(async () => (await overlayStats(page)).model !== undefined, 'the model loaded');
      const png = await shot(page, `overlay-${bg}`);
      expect(offPixels(border(png), [...rgba]), bg).toEqual({ count: 0, first: [] });
      const keyed = allPixels(png).filter((p) => p.every((v, k) => v === rgba[k])).length;
      if (s.avatarModule) expect(keyed).toBeLessThan(png.width * png.height);
      else expect(keyed).toBe(png.width * png.height);
      await done(page);
    }
  }, MODEL_TEST_MS);

  it('emotion events of the session reach the avatar', async () => {
    const page = await openOverlay(`?session=${S}`, 'overlay-emotion');
    await pipe.deliver({ type: 'emotion', session_id: S, turn_id: 'e1', emotion: 'joy' });
    const s = await until(async () => {
      const st = await overlayStats(page);
      return st.emotions.length > 0 && st;
    }, 'the emotion at the overlay');
    expect(s.emotions.map((e) => e.tag)).toEqual(['joy']);
    // Without a model drawn nothing can apply it; with one, shizuku's map decides (avatar tests).
    if (!s.avatar) expect(s.emotions[0]!.applied).toBe(false);
    await done(page);
  }, MODEL_TEST_MS);

  it('/overlay/subtitles: the sentence shows with its audio and clears `fade` ms after the turn ended; the question above it', async () => {
    const FADE = 700;
    const page = await open(`/overlay/subtitles?session=${S}&fade=${FADE}&question=1&size=40&color=FFEE00&outline=102030&align=left&max_lines=2`, 'overlay-subtitles', { width: 1000, height: 300 });
    await until(async () => (await subtitleStats(page)).connection === 'open', 'the subtitles socket open');
    const turn = 'sub1';
    await pipe.deliver(
      { type: 'transcript', session_id: S, turn_id: turn, task_id: turn, text: 'What is your name?', final: true },
      { type: 'reply_delta', session_id: S, turn_id: turn, task_id: turn, text: 'I am Shizuku. Nice to meet you.' },
      audioChunk(turn, 0, 'I am Shizuku.', 1.2),
      audioChunk(turn, 1, 'Nice to meet you.', 0.3),
      { type: 'reply_done', session_id: S, turn_id: turn, task_id: turn, text: 'I am Shizuku. Nice to meet you.' },
      { type: 'audio_end', session_id: S, turn_id: turn, task_id: turn, chunks: 2 },
    );
    const sentence = page.locator('[data-testid="sentence"]');
    await sentence.filter({ hasText: 'I am Shizuku.' }).waitFor({ timeout: 5000 });
    await expect(page.locator('[data-testid="question"]').textContent()).resolves.toBe('What is your name?');
    const style = (await page.evaluate(
      `(() => { const s = getComputedStyle(document.querySelector('[data-testid="sentence"]'));
        const box = document.getElementById('subtitles').getBoundingClientRect();
        return [s.color, s.fontSize, s.textShadow.includes('rgb(16, 32, 48)'), s.textAlign, s.webkitLineClamp, box.bottom === innerHeight]; })()`,
    )) as unknown[];
    expect(style).toEqual(['rgb(255, 238, 0)', '40px', true, 'left', '2', true]);
    await shot(page, 'overlay-subtitles');
    await sentence.filter({ hasText: 'Nice to meet you.' }).waitFor({ timeout: 5000 });
    await pipe.deliver({ type: 'turn_end', session_id: S, turn_id: turn, task_id: turn, reason: 'done' });
    await until(async () => (await page.locator('#subtitles').getAttribute('data-turn')) === '', 'the subtitles cleared', 10_000);
    await expect(sentence.textContent()).resolves.toBe('');
    await expect(page.locator('[data-testid="question"]').textContent()).resolves.toBe('');

    // By the page's clock: the sentences in order, then cleared no sooner than `fade` ms after the
    // turn_end arrived (a timer never fires early: this fails only if the page cleared too soon).
    const st = await subtitleStats(page);
    expect(st.history.map((h) => h.view.sentence ?? null)).toEqual([null, 'I am Shizuku.', 'Nice to meet you.', null]);
    const cleared = st.history.at(-1)!;
    const ended = st.events.find((e) => e.type === 'turn_end' && e.turn === turn)!;
    expect(cleared.view).toEqual({});
    expect(cleared.at - ended.at).toBeGreaterThanOrEqual(FADE - 1);

    // A stop: the sentence still to come never shows, and the text clears `fade` ms after the stop.
    const cut = 'sub2';
    await pipe.deliver(audioChunk(cut, 0, 'This one is cut short.', 1.0), audioChunk(cut, 1, 'Never heard.', 0.5));
    await sentence.filter({ hasText: 'This one is cut short.' }).waitFor({ timeout: 5000 });
    await pipe.deliver({ type: 'stop', session_id: S, turn_id: cut, task_id: cut, reason: 'user' });
    await until(async () => (await page.locator('#subtitles').getAttribute('data-turn')) === '', 'the subtitles cleared after the stop', 10_000);
    // The next reply shows (the positive signal that anything of the stopped turn would have come before it).
    const next = 'sub3';
    await pipe.deliver(audioChunk(next, 0, 'Next reply.', 0.2));
    await sentence.filter({ hasText: 'Next reply.' }).waitFor({ timeout: 5000 });
    const after = await subtitleStats(page);
    expect(after.history.map((h) => h.view.sentence ?? null).slice(4)).toEqual(['This one is cut short.', null, 'Next reply.']);
    const stopped = after.events.find((e) => e.type === 'stop' && e.turn === cut)!;
    expect(after.history[5]!.at - stopped.at).toBeGreaterThanOrEqual(FADE - 1);
    await done(page);
  });

  it('studio and overlay open together play a typed reply once; with audio=1 the overlay plays it instead', async () => {
    const studio = await open(`/?token=${TOKEN}&session=${S}`, 'overlay-studio', { width: 1100, height: 800 });
    await studio.locator('[data-testid="session-connection"][data-state="open"]').waitFor({ timeout: 10_000 });
    const quiet = await openOverlay(`?session=${S}`, 'overlay-quiet');
    const studioChunks = async () => ((await studio.evaluate('window.__favVoice.stats()')) as { chunks: number }).chunks;
    const inTurn = async (page: Page, turn: string) => (await readWire(page)).filter((w) => w.dir === 'in' && w.turn === turn).map((w) => w.type);

    const turn1 = await typeTurn(studio, 'play this once');
    const before = await studioChunks();
    await pipe.deliver(audioChunk(turn1, 0, 'Once.', 0.4), { type: 'audio_end', session_id: S, turn_id: turn1, task_id: turn1, chunks: 1 });
    await pipe.waitOn<TurnEvent>(Channels.events, 1, (m) => m.kind === 'playback_done' && m.turn_id === turn1, 10_000);
    expect(await studioChunks()).toBe(before + 1);
    // The overlay got the chunk's timing, not its audio, and its mouth moved with it.
    await until(async () => (await inTurn(quiet, turn1)).includes('audio_end'), 'audio_end at the overlay');
    expect(await inTurn(quiet, turn1)).toEqual(['audio_timing', 'audio_end']);
    const q = await overlayStats(quiet);
    expect(q.chunks).toBe(0);
    expect(q.timingFrames).toBeGreaterThan(0);
    await done(quiet);

    // An overlay with audio=1 takes the audio: it plays the next reply, the studio gets the timing.
    const loud = await openOverlay(`?session=${S}&audio=1`, 'overlay-loud');
    expect((await overlayStats(loud)).audio).toBe(true);
    await studio.locator('[data-testid="audio-elsewhere"]').waitFor({ timeout: 5000 });
    const turn2 = await typeTurn(studio, 'play this in the overlay');
    const studioBefore = await studioChunks();
    await pipe.deliver(audioChunk(turn2, 0, 'Over there.', 0.4), { type: 'audio_end', session_id: S, turn_id: turn2, task_id: turn2, chunks: 1 });
    await pipe.waitOn<TurnEvent>(Channels.events, 1, (m) => m.kind === 'playback_done' && m.turn_id === turn2, 10_000);
    expect((await overlayStats(loud)).chunks).toBe(1);
    await until(async () => (await inTurn(studio, turn2)).includes('audio_end'), 'audio_end at the studio');
    expect(await inTurn(studio, turn2)).toEqual(['audio_timing', 'audio_end']);
    expect(await studioChunks()).toBe(studioBefore);
    expect(pipe.rec.msgs(Channels.events).filter((m) => (m as TurnEvent).kind === 'playback_done' && (m as TurnEvent).turn_id === turn2)).toHaveLength(1);
    await done(loud);
    await done(studio);
  }, MODEL_TEST_MS);

  it('no CSP violations, console errors or page errors on any page', async () => {
    expect(watched.map((w) => w.name)).toHaveLength(8);
    for (const w of watched) {
      expect(w.csp ?? (await readCspViolations(w.page)), w.name).toEqual([]);
      expect(w.problems, w.name).toEqual({ consoleErrors: [], pageErrors: [] });
    }
  });
});

/** Types `text` in the studio; returns the turn id of the InputTask the gateway queued. */
async function typeTurn(studio: Page, text: string): Promise<string> {
  const input = studio.locator('[data-testid="text-input"] input');
  await input.fill(text);
  await input.press('Enter');
  const task = await pipe.nextInput();
  expect(task).toMatchObject({ session_id: S, type: 'text', text });
  return task.turn_id;
}
