/**
 * The studio page's conversation panel, BUILT (out/renderer) and run in real Chromium against a
 * stand-in for the gateway's session socket (voice-stand-in.ts). The microphone is Chromium's fake
 * capture device playing a flite-spoken WAV. Checks, each against what really crossed the socket
 * or what the page's Web Audio graph really did (through the read-only `window.__favVoice` view):
 *   - the token is read from ?token= and removed from the address bar; the socket opens with it
 *   - typed text reaches the core as a `text` command; scripted replies, state and emotion render
 *   - mic frames arrive as 20 ms of 16 kHz s16le between mic_start and mic_stop, and their loudness
 *     envelope matches the fake mic's speech (and not the same speech reversed)
 *   - audio chunks are scheduled back to back, the context plays them (output level, time), the
 *     mouth value follows their envelope; playback_done comes after audio_end and after the audio
 *   - `stop` silences at once, and no playback_done is sent for that turn; the stop button too
 *   - errors and protocol errors show as readable alerts; a denied mic is said plainly
 *   - the page reconnects after the socket drops and delivers text typed while it was down
 *   - no CSP violations, console errors or page errors throughout
 * Leaves screenshots in /tmp/voice-panel*.png.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientEvent } from '../../src/shared/voice.js';
import { ensureBuilt, rendererDir } from '../electron/built-app.js';
import { chromiumMissing, launchChromium, readCspViolations, readWire, recordWire, watchPage, type PageProblems, type WireEntry } from '../helpers/chromium.js';
import { audioChunkEvent, bestAlignment, envelopeOf, fliteMissing, makeFakeMic, pcmBytesToFloat, syllableTone, type FakeMic } from './voice-audio.js';
import { startStandIn, type StandIn } from './voice-stand-in.js';
import { until as untilEvery } from '../helpers/until.js';

const skipReason = chromiumMissing() ?? fliteMissing();
const TOKEN = 'voice-test-token-0123456789abcdef';
const SESSION = 'panel-test';
const S = SESSION;

interface VoiceStats {
  chunks: number;
  scheduledSeconds: number;
  underruns: number;
  dropped: number;
  stops: number;
  log: { turnId: string; start: number; end: number }[];
  activeSources: number;
  mouth: number;
  contextTime: number;
  contextState: string;
  micFrames: number;
  mouthMax: number;
  mouthFrames: number;
  mouthTrace: [number, number][];
  playbackDone: string[];
  connection: string;
  micOn: boolean;
}

let dir: string;
let mic: FakeMic;
let stand: StandIn;
let browser: Browser | undefined;
let page: Page;
let problems: PageProblems;

const stats = () => page.evaluate('window.__favVoice.stats()') as Promise<VoiceStats>;
const outputLevel = () => page.evaluate('window.__favVoice.outputLevel()') as Promise<number>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = <T>(fn: () => Promise<T | undefined | false>, timeoutMs: number, what: string) => untilEvery(fn, timeoutMs, what, 25);

/** Sends one audio chunk (metadata + PCM) of a tone with its envelope, like output-handler does. */
function sendChunk(turn: string, seq: number, samples: Float32Array, rate: number): void {
  const { pcm_b64, ...meta } = audioChunkEvent(S, turn, seq, samples, rate);
  stand.sendAudio(meta, Buffer.from(pcm_b64!, 'base64'));
}

const ev = (e: ClientEvent) => stand.send(e);
/** The page's own record of one turn's audio_end and playback_done frames, in order. */
const order = (wire: WireEntry[], turn: string) => wire.filter((w) => w.turn === turn && (w.type === 'audio_end' || w.type === 'playback_done')).map((w) => `${w.dir} ${w.type}`);
const playbackDones = (turn: string) => stand.commands().filter((c) => c.type === 'playback_done' && c.turn_id === turn);

describe.skipIf(skipReason !== undefined)(`conversation panel in Chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fav-voice-panel-'));
    mic = makeFakeMic('Hello, this is a test of the microphone.', path.join(dir, 'mic.wav'), 1.0);
    await ensureBuilt();
    stand = await startStandIn({ rendererDir, token: TOKEN });
    browser = await launchChromium({ fakeMic: mic.file });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    problems = await watchPage(page);
    await recordWire(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stand?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('opens the session socket with the token from the URL, then drops the token from the address bar', async () => {
    await page.goto(`${stand.url}/?token=${TOKEN}&session=${SESSION}`);
    await page.locator('[data-testid="session-connection"][data-state="open"]').waitFor({ timeout: 10_000 });
    expect(stand.connections).toEqual([SESSION]);
    expect(page.url()).not.toContain(TOKEN);
    expect(page.url()).toContain(`session=${SESSION}`);
    await expect(page.locator('[data-testid="turn-state"]').getAttribute('data-state')).resolves.toBe('idle');
  });

  it('sends typed text as a `text` command and shows it once, then renders the streamed reply, state and emotion', async () => {
    const input = page.locator('[data-testid="text-input"] input');
    await input.fill('  hello there  ');
    await input.press('Enter');
    const cmd = await stand.waitFor(() => stand.commands().find((c) => c.type === 'text'), 3000, 'a text command');
    expect(cmd).toEqual({ type: 'text', text: 'hello there', source: 'typed' });
    await expect(input.inputValue()).resolves.toBe('');

    ev({ type: 'turn_state', session_id: S, turn_id: 't1', state: 'thinking' });
    ev({ type: 'transcript', session_id: S, turn_id: 't1', task_id: 't1', text: 'hello there', final: true });
    for (const part of ['Hi! ', 'Nice to ', 'see you.']) ev({ type: 'reply_delta', session_id: S, turn_id: 't1', task_id: 't1', text: part });
    ev({ type: 'emotion', session_id: S, turn_id: 't1', emotion: 'joy' });

    const reply = page.locator('[data-testid="entry"][data-role="assistant"][data-turn="t1"]');
    await reply.locator('[data-testid="entry-text"]', { hasText: 'Hi! Nice to see you.' }).waitFor({ timeout: 3000 });
    await expect(reply.getAttribute('data-final')).resolves.toBe('false');
    await expect(page.locator('[data-testid="turn-state"]').getAttribute('data-state')).resolves.toBe('thinking');
    await expect(page.locator('[data-testid="emotion"]').getAttribute('data-emotion')).resolves.toBe('joy');
    // The typed message was shown at once and the turn's transcript did not repeat it.
    const users = page.locator('[data-testid="entry"][data-role="user"]');
    await expect(users.count()).resolves.toBe(1);
    await expect(users.first().getAttribute('data-turn')).resolves.toBe('t1');

    ev({ type: 'reply_done', session_id: S, turn_id: 't1', task_id: 't1', text: 'Hi! Nice to see you.' });
    ev({ type: 'turn_state', session_id: S, turn_id: 't1', state: 'speaking' });
    await page.locator('[data-testid="entry"][data-role="assistant"][data-turn="t1"][data-final="true"]').waitFor({ timeout: 3000 });
    await page.locator('[data-testid="turn-state"][data-state="speaking"]').waitFor({ timeout: 3000 });
  });

  it('plays audio chunks back to back, moves the mouth, and sends playback_done only after audio_end and the audio', async () => {
    const rate = 24000;
    const parts = [syllableTone(0.4, rate, 2), syllableTone(0.4, rate, 3), syllableTone(0.4, rate, 2)];
    const before = await stats();
    parts.forEach((p, i) => sendChunk('t1', i, p, rate));

    const s1 = await until(async () => {
      const s = await stats();
      return s.chunks === before.chunks + 3 ? s : undefined;
    }, 3000, 'three scheduled chunks');
    expect(s1.scheduledSeconds - before.scheduledSeconds).toBeCloseTo(1.2, 3);
    const log = s1.log.slice(-3);
    expect(log.every((e) => e.turnId === 't1')).toBe(true);
    // Gap-free: each chunk starts exactly where the previous one ends.
    for (let i = 1; i < log.length; i++) expect(log[i]!.start).toBeCloseTo(log[i - 1]!.end, 6);
    expect(s1.underruns).toBe(before.underruns);

    // While it plays: sound comes out, and the context clock runs through the whole schedule.
    await until(async () => ((await outputLevel()) > 0.02 ? true : undefined), 3000, 'the chunks to be heard');
    const s2 = await until(async () => {
      const s = await stats();
      return s.contextTime >= log.at(-1)!.end ? s : undefined;
    }, 10_000, 'the audio clock to pass the end of the schedule');
    expect(s2.contextState).toBe('running');

    // The mouth follows each chunk's envelope at the position being played: every value the page
    // reported while the chunks played matches the envelope we sent, read at that audio time.
    await until(async () => ((await stats()).activeSources === 0 ? true : undefined), 3000, 'the sources to end');
    const envs = parts.map((p) => envelopeOf(p, rate));
    const expectedAt = (t: number): number | undefined => {
      const i = log.findIndex((e) => t >= e.start && t < e.end);
      if (i < 0) return undefined;
      const pos = ((t - log[i]!.start) * 1000) / 20;
      const k = Math.floor(pos);
      const a = envs[i]![k] ?? 0;
      return a + ((envs[i]![k + 1] ?? a) - a) * (pos - k);
    };
    const trace = (await stats()).mouthTrace.filter(([t]) => expectedAt(t) !== undefined);
    // ~16 ms updates over 1.2 s; a busy machine paints far fewer frames (8 seen under a full CI run),
    // and every one of them must still match the envelope.
    expect(trace.length).toBeGreaterThanOrEqual(5);
    const errors = trace.map(([t, v]) => Math.abs(v - expectedAt(t)!));
    expect(Math.max(...errors)).toBeLessThan(0.02);
    expect(Math.max(...trace.map(([, v]) => v))).toBeGreaterThan(0.8); // it opens...
    expect(Math.min(...trace.map(([, v]) => v))).toBeLessThan(0.2); // ...and closes between syllables
    expect((await stats()).mouthMax).toBeGreaterThan(0.8);

    // All the audio has played, but no audio_end yet: playback_done only follows the audio_end.
    await until(async () => ((await stats()).mouth === 0 ? true : undefined), 3000, 'the mouth to close');
    ev({ type: 'audio_end', session_id: S, turn_id: 't1', task_id: 't1', chunks: 3 });
    await stand.waitFor(() => playbackDones('t1').length === 1, 2000, 'playback_done t1');
    expect(order(await readWire(page), 't1')).toEqual(['in audio_end', 'out playback_done']);
    ev({ type: 'turn_end', session_id: S, turn_id: 't1', task_id: 't1', reason: 'done' });
    ev({ type: 'turn_state', session_id: S, turn_id: 't1', state: 'idle' });

    // audio_end right behind the chunks: playback_done waits for the audio to finish playing.
    sendChunk('t2', 0, syllableTone(0.5, rate, 2), rate);
    sendChunk('t2', 1, syllableTone(0.5, 16000, 2), 16000);
    ev({ type: 'audio_end', session_id: S, turn_id: 't2', task_id: 't2', chunks: 2 });
    await stand.waitFor(() => playbackDones('t2').length === 1, 4000, 'playback_done t2');
    // By the page's audio clock: sent once the last t2 chunk's scheduled end had passed.
    const t2End = Math.max(...(await stats()).log.filter((e) => e.turnId === 't2').map((e) => e.end));
    const t2Done = (await readWire(page)).find((w) => w.dir === 'out' && w.type === 'playback_done' && w.turn === 't2')!;
    expect(t2Done.audioTime).toBeGreaterThanOrEqual(t2End);

    // A turn that ends (a stage failed) without audio_end: what did play still reports done;
    // a turn that had no audio at all reports nothing.
    sendChunk('t2b', 0, syllableTone(0.2, rate, 1), rate);
    ev({ type: 'turn_end', session_id: S, turn_id: 't2b', task_id: 't2b', reason: 'error' });
    ev({ type: 'turn_end', session_id: S, turn_id: 't2c', task_id: 't2c', reason: 'done' });
    await stand.waitFor(() => playbackDones('t2b').length === 1, 3000, 'playback_done t2b');
    expect(playbackDones('t2c')).toEqual([]);
    await page.screenshot({ path: '/tmp/voice-panel.png' });
  });

  it('stops within a frame on `stop`, clears the schedule and never sends playback_done for that turn', async () => {
    const rate = 24000;
    for (let i = 0; i < 6; i++) sendChunk('t3', i, syllableTone(0.5, rate, 2), rate);
    await until(async () => ((await outputLevel()) > 0.02 ? true : undefined), 3000, 't3 audio to be heard');
    expect((await stats()).activeSources).toBeGreaterThan(1);

    ev({ type: 'stop', session_id: S, turn_id: 't3', task_id: 't3', reason: 'barge-in' });
    const stopped = await until(async () => {
      const s = await stats();
      return s.activeSources === 0 ? s : undefined;
    }, 3000, 'the schedule to clear');
    // Cleared while handling the stop frame itself: the sources were stopped before the next frame.
    const stopIn = (await readWire(page)).find((w) => w.dir === 'in' && w.type === 'stop' && w.turn === 't3')!;
    expect(stopIn.activeAfter).toBe(0);
    expect(stopped.mouth).toBe(0);
    await until(async () => ((await outputLevel()) < 0.001 ? true : undefined), 3000, 'silence once the analyser window is past the last sound');

    // Late chunks and the audio_end of the stopped turn are dropped: no playback_done for it.
    const dropped = stopped.dropped;
    sendChunk('t3', 6, syllableTone(0.3, rate, 1), rate);
    ev({ type: 'audio_end', session_id: S, turn_id: 't3', task_id: 't3', chunks: 7 });
    await until(async () => ((await stats()).dropped === dropped + 1 ? true : undefined), 2000, 'the late chunk to be dropped');
    expect((await stats()).activeSources).toBe(0);

    // The stop button: the core is asked to stop, and what plays stops here at once.
    sendChunk('t4', 0, syllableTone(1.5, rate, 3), rate);
    await until(async () => ((await stats()).activeSources === 1 ? true : undefined), 2000, 't4 scheduled');
    await page.locator('[data-testid="stop-button"]').click();
    await stand.waitFor(() => stand.commands().some((c) => c.type === 'stop'), 2000, 'a stop command');
    expect((await stats()).activeSources).toBe(0);
    ev({ type: 'audio_end', session_id: S, turn_id: 't4', task_id: 't4', chunks: 1 });

    // A new turn plays normally afterwards; its playback_done comes after any the stopped turns
    // could have caused, so by then none came for them.
    sendChunk('t5', 0, syllableTone(0.3, rate, 1), rate);
    ev({ type: 'audio_end', session_id: S, turn_id: 't5', task_id: 't5', chunks: 1 });
    await stand.waitFor(() => playbackDones('t5').length === 1, 3000, 'playback_done t5');
    expect(playbackDones('t3')).toEqual([]);
    expect(playbackDones('t4')).toEqual([]);
  });

  it('streams the fake mic as 20 ms frames of 16 kHz s16le between mic_start and mic_stop, matching the speech', async () => {
    const from = stand.log.length;
    await page.locator('[data-testid="mic-button"]').click();
    await page.locator('[data-testid="mic-button"][data-mic="on"]').waitFor({ timeout: 5000 });
    // The file: 1 s of silence, the sentence (~2.8 s), then silence. Capture past its end, counted in
    // frames received rather than wall time (a loaded machine may capture slower than real time).
    const wanted = Math.ceil(((mic.leadSeconds + mic.speech16k.length / 16000 + 0.4) * 1000) / 20);
    await stand.waitFor(() => stand.log.slice(from).filter((r) => r.kind === 'binary').length >= wanted, 30_000, 'the frames covering the speech');
    const level = Number(await page.locator('[data-testid="mic-level"]').getAttribute('data-level'));
    expect(level).toBeGreaterThanOrEqual(0);
    await page.locator('[data-testid="mic-button"]').click();
    await page.locator('[data-testid="mic-button"][data-mic="off"]').waitFor({ timeout: 5000 });
    const got = await stand.waitFor(() => {
      const slice = stand.log.slice(from);
      return slice.some((r) => r.kind === 'json' && r.cmd?.type === 'mic_stop') ? slice : undefined;
    }, 3000, 'mic_stop');

    const startIdx = got.findIndex((r) => r.kind === 'json' && r.cmd?.type === 'mic_start');
    const stopIdx = got.findIndex((r) => r.kind === 'json' && r.cmd?.type === 'mic_stop');
    expect(startIdx).toBeGreaterThanOrEqual(0);
    expect((got[startIdx] as { cmd: unknown }).cmd).toEqual({ type: 'mic_start', sample_rate: 16000 });
    const frames = got.flatMap((r, i) => (r.kind === 'binary' ? [{ i, bytes: r.bytes }] : []));
    // Every binary frame lies between mic_start and mic_stop, and all but the flushed tail are 20 ms.
    expect(frames.every((f) => f.i > startIdx && f.i < stopIdx)).toBe(true);
    expect(frames.slice(0, -1).every((f) => f.bytes.length === 640)).toBe(true);
    expect(frames.at(-1)!.bytes.length % 2).toBe(0);
    expect(frames.at(-1)!.bytes.length).toBeLessThanOrEqual(640);
    const seconds = frames.reduce((n, f) => n + f.bytes.length, 0) / 32000;
    const heldFor = (got[stopIdx]!.at - got[startIdx]!.at) / 1000;
    expect(seconds).toBeGreaterThan(heldFor - 0.3);
    expect(seconds).toBeLessThan(heldFor + 0.3);

    // The content: loud where the speech is, and its loudness envelope lines up with the sentence.
    const pcm = pcmBytesToFloat(frames.map((f) => f.bytes));
    const received = envelopeOf(pcm, 16000);
    const reference = envelopeOf(mic.speech16k, 16000);
    expect(Math.max(...received)).toBeGreaterThan(0.2);
    const match = bestAlignment(received, reference);
    const reversed = bestAlignment(received, reference.slice().reverse());
    console.log(`mic: ${frames.length} frames, ${seconds.toFixed(2)} s; envelope r=${match.r.toFixed(3)} at ${match.offset * 20} ms (reversed speech r=${reversed.r.toFixed(3)})`);
    expect(match.r).toBeGreaterThan(0.8);
    expect(match.r - reversed.r).toBeGreaterThan(0.2);
    // Before the speech starts, the captured audio is quiet.
    expect(Math.max(...received.slice(0, Math.max(1, match.offset - 10)))).toBeLessThan(0.1);
  });

  it('push-to-talk sends mic_start on press and mic_stop on release', async () => {
    await page.locator('[data-testid="mic-mode"] button', { hasText: 'Push to talk' }).click();
    const from = stand.log.length;
    const button = page.locator('[data-testid="mic-button"]');
    const box = (await button.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.locator('[data-testid="mic-button"][data-mic="on"]').waitFor({ timeout: 5000 });
    await stand.waitFor(() => stand.log.slice(from).filter((r) => r.kind === 'binary').length >= 30, 10_000, '30 frames while the button is held');
    await page.mouse.up();
    await page.locator('[data-testid="mic-button"][data-mic="off"]').waitFor({ timeout: 5000 });
    const got = await stand.waitFor(() => {
      const slice = stand.log.slice(from);
      return slice.some((r) => r.kind === 'json' && r.cmd?.type === 'mic_stop') ? slice : undefined;
    }, 3000, 'mic_stop');
    const types = got.map((r) => (r.kind === 'json' ? r.cmd?.type : 'pcm'));
    expect(types[0]).toBe('mic_start');
    expect(types.at(-1)).toBe('mic_stop');
    expect(types.filter((t) => t === 'pcm').length).toBeGreaterThanOrEqual(30);
    await page.locator('[data-testid="mic-mode"] button', { hasText: 'Click to talk' }).click();
  });

  it('shows error events and protocol errors as readable alerts', async () => {
    ev({ type: 'error', session_id: S, turn_id: 't6', task_id: 't6', stage: 'llm', code: 'llm_unreachable', message: 'The LLM server at http://127.0.0.1:11434 is not reachable: start Ollama or change the LLM preset.' });
    const alert = page.locator('[data-testid="voice-alert"][data-code="llm_unreachable"]');
    await alert.waitFor({ timeout: 3000 });
    await expect(alert.innerText()).resolves.toMatch(/Error in llm[\s\S]*start Ollama or change the LLM preset/);

    stand.sendRaw(JSON.stringify({ type: 'reply_delta', session_id: S })); // no turn_id, no text
    stand.sendRaw(Buffer.from([1, 2, 3, 4])); // binary without audio metadata
    await page.locator('[data-testid="voice-alert"]', { hasText: 'does not understand' }).waitFor({ timeout: 3000 });
    const s = (await stats()) as VoiceStats & { session: { protocolErrors: number } };
    expect(s.session.protocolErrors).toBe(2);
    // The socket survived and still works.
    ev({ type: 'turn_state', session_id: S, turn_id: 't6', state: 'listening' });
    await page.locator('[data-testid="turn-state"][data-state="listening"]').waitFor({ timeout: 3000 });
  });

  it('reconnects after the socket drops, and delivers text typed while it was down', async () => {
    stand.refuseUpgrades = true;
    stand.dropClients();
    await page.locator('[data-testid="session-connection"][data-state="closed"]').waitFor({ timeout: 3000 });
    const input = page.locator('[data-testid="text-input"] input');
    await input.fill('typed while offline');
    await input.press('Enter');
    await page.locator('[data-testid="voice-alert"][data-code="offline"]', { hasText: 'Not connected' }).waitFor({ timeout: 3000 });
    await sleep(400);
    stand.refuseUpgrades = false;
    await page.locator('[data-testid="session-connection"][data-state="open"]').waitFor({ timeout: 8000 });
    expect(stand.connections.length).toBeGreaterThanOrEqual(2);
    expect(stand.connections.every((c) => c === SESSION)).toBe(true);
    const late = await stand.waitFor(() => stand.log.find((r) => r.kind === 'json' && r.cmd?.type === 'text' && r.cmd.text === 'typed while offline'), 3000, 'the queued text');
    expect(late.conn).toBeGreaterThan(0);
    // Once it went out, the offline notice goes away by itself.
    await page.locator('[data-testid="voice-alert"][data-code="offline"]').waitFor({ state: 'detached', timeout: 3000 });
    await page.screenshot({ path: '/tmp/voice-panel-2.png' });
  });

  it('says plainly when the microphone is denied', async () => {
    const denied = await browser!.newPage();
    const deniedProblems = await watchPage(denied);
    await denied.addInitScript({
      content: `navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));`,
    });
    const from = stand.log.length;
    await denied.goto(`${stand.url}/?token=${TOKEN}&session=${SESSION}`);
    await denied.locator('[data-testid="session-connection"][data-state="open"]').waitFor({ timeout: 10_000 });
    await denied.locator('[data-testid="mic-button"]').click();
    const alert = denied.locator('[data-testid="voice-alert"][data-code="denied"]');
    await alert.waitFor({ timeout: 3000 });
    await expect(alert.innerText()).resolves.toMatch(/Microphone access was denied/);
    await expect(denied.locator('[data-testid="mic-button"]').getAttribute('data-mic')).resolves.toBe('off');
    expect(stand.log.slice(from).some((r) => r.kind === 'json' && r.cmd?.type === 'mic_start')).toBe(false);
    expect(deniedProblems.consoleErrors).toEqual([]);
    expect(await readCspViolations(denied)).toEqual([]);
    await denied.close();
  });

  it('a refused token is said plainly and not retried', async () => {
    const p = await browser!.newPage();
    await p.goto(`${stand.url}/?token=wrong-token&session=${SESSION}`);
    await p.locator('[data-testid="session-connection"][data-state="refused"]').waitFor({ timeout: 5000 });
    await expect(p.locator('[data-testid="voice-alert"]', { hasText: 'refused the studio token' }).count()).resolves.toBe(1);
    await expect(p.locator('[data-testid="mic-button"]').isDisabled()).resolves.toBe(true);
    await p.close();
  });

  it("takes the token from the Electron preload (window.fav), joins the default 'studio' session, and says when there is no token", async () => {
    const app = await browser!.newPage();
    await app.addInitScript({
      content: `window.fav = { version: '0.0.0', platform: 'linux', getToken: () => Promise.resolve(${JSON.stringify(TOKEN)}) };`,
    });
    const before = stand.connections.length;
    await app.goto(`${stand.url}/`);
    await app.locator('[data-testid="session-connection"][data-state="open"]').waitFor({ timeout: 10_000 });
    expect(stand.connections.slice(before)).toEqual(['studio']);
    await app.close();

    const bare = await browser!.newPage();
    await bare.goto(`${stand.url}/`);
    await bare.locator('[data-testid="session-connection"][data-state="notoken"]').waitFor({ timeout: 10_000 });
    await expect(bare.locator('[data-testid="voice-alert"]').innerText()).resolves.toMatch(/no studio token[\s\S]*fav serve/);
    expect(stand.connections.length).toBe(before + 1);
    await bare.close();
  });

  it('has no CSP violations, console errors or page errors, and every command it sent was valid', async () => {
    expect(await readCspViolations(page)).toEqual([]);
    expect(problems.pageErrors).toEqual([]);
    // Chromium itself logs the upgrades the stand-in refused with 503 while it was "down".
    const unexpected = problems.consoleErrors.filter((m) => !/^WebSocket connection to '.*' failed: .*Unexpected response code: 503$/.test(m));
    expect(unexpected).toEqual([]);
    const invalid = stand.log.filter((r) => r.kind === 'json' && r.invalid);
    expect(invalid).toEqual([]);
  });
});
