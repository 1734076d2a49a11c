/**
 * The original front end's protocol, as its `useApi.js` drives it, against `fav serve` (the
 * embedded bus, the 8 services, pocketsphinx, flite, the stand-in LLM): a page in real Chromium
 * (seed-client-page.ts) runs two typed turns and a spoken one (a WebM/Opus recording) in a row.
 * After each reply the page must be ready for the next message, show the reply text, and decode
 * the reply audio with `decodeAudioData`. A stop by task id (`POST /control/stop`) leaves the
 * page ready too.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFav, type LongRunning } from '../helpers/fav-cli.js';
import { startOpenAiServer, type ChatMessageIn, type OpenAiServer } from '../helpers/openai-server.js';
import { WsClient } from '../main/gateway/helpers.js';
import { freePort } from '../helpers/redis-server.js';
import { waitFor } from '../main/supervisor/helpers.js';
import { chromiumMissing, launchChromium } from '../helpers/chromium.js';
import { HAVE_FLITE, HAVE_POCKETSPHINX, replyRequests } from './helpers.js';
import { serveSeedClient, type SeedTurnResult } from './seed-client-page.js';

const REPLY = 'Nice to hear from you. I am listening!';
/** About six seconds of tokens at 25 a second: still streaming long after a short turn is done. */
const LONG = Array.from({ length: 15 }, (_, i) => `Part ${i + 1} of the story goes on and on for a while.`).join(' ');
const lastUser = (messages: ChatMessageIn[]) => String(messages.filter((m) => m.role === 'user').at(-1)?.content ?? '');
const RECORDING = path.resolve(__dirname, '../fixtures/audio/speech-48k.webm'); // "hello, this is a test"
const skipReason =
  chromiumMissing() ?? (!HAVE_FLITE ? 'flite is not installed (apt install flite)' : !HAVE_POCKETSPHINX ? 'pocketsphinx is not installed (apt install pocketsphinx pocketsphinx-en-us)' : undefined);

describe.runIf(skipReason !== undefined && process.env.CI === 'true')('seed front end (CI)', () => {
  it('has its system packages', () => {
    throw new Error(`the seed front-end test cannot run in CI: ${skipReason}`);
  });
});

describe.skipIf(skipReason !== undefined)(`the seed's front end against fav serve${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let ai: OpenAiServer;
  let fav: LongRunning;
  let ws: string;
  let http: string;
  let site: Awaited<ReturnType<typeof serveSeedClient>>;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    ai = await startOpenAiServer({ reply: REPLY, firstTokenDelayMs: 20, tokensPerSecond: 200 });
    const port = await freePort();
    fav = startFav(['serve', '--port', String(port), '--data', mkdtempSync(path.join(os.tmpdir(), 'fav-seed-fe-'))], {
      FAV_LLM_BASE_URL: ai.url,
      FAV_LLM_MODEL: 'test-model',
      FAV_ASR_ENGINE: 'pocketsphinx',
      FAV_TTS_ENGINE: 'flite',
    });
    await fav.waitFor(/gateway: http:\/\/127\.0\.0\.1:\d+/, 90_000);
    http = `http://127.0.0.1:${port}`;
    ws = `ws://127.0.0.1:${port}`;
    site = await serveSeedClient(readFileSync(RECORDING));
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`${site.url}/?gw=${encodeURIComponent(ws)}`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    if (fav) expect(await fav.stop('SIGINT', 30_000)).toBe(0);
    await ai?.close();
  }, 60_000);

  const turn = (kind: 'text' | 'audio', payload: string) => page.evaluate(`window.seedTurn(${JSON.stringify(kind)}, ${JSON.stringify(payload)})`) as Promise<SeedTurnResult>;

  it('completes two typed turns and a spoken one in a row, each ready for the next with its audio decoded', async () => {
    const turns = [await turn('text', 'Hi there, how are you?'), await turn('text', 'Tell me something nice.'), await turn('audio', '/recording.webm')];
    const ids = new Set<string>();
    for (const [i, r] of turns.entries()) {
      expect(r, `turn ${i + 1}: ${JSON.stringify(r)}`).toMatchObject({ stuck: false, error: null, text: REPLY, log: [] });
      expect(r.acks).toBe(i < 2 ? 1 : 3);
      // Two flite sentences decoded from the assembled file, with sound in them.
      expect(r.audio!.duration).toBeGreaterThan(1.5);
      expect(r.audio!.peak).toBeGreaterThan(0.05);
      ids.add(r.taskId!);
    }
    expect(ids.size).toBe(3);
    expect(turns.slice(0, 2).map((r) => r.transcript)).toEqual(['Hi there, how are you?', 'Tell me something nice.']);
    // The recording was heard (pocketsphinx on this short Opus clip gets its first word right) and
    // its transcript reached the LLM as the user's message.
    expect(turns[2]!.transcript).toMatch(/^hello\b/);
    const chats = replyRequests(ai);
    const last = (chats.at(-1)!.body as { messages: Array<{ role: string; content: string }> }).messages.at(-1)!;
    expect(last).toEqual({ role: 'user', content: turns[2]!.transcript });
  }, 120_000);

  it('is ready again after a reply stopped by its task id, and the next turn works', async () => {
    ai.setOptions({ tokensPerSecond: 2 }); // the reply is still streaming when the stop comes
    const running = turn('text', 'Talk slowly please.');
    const taskId = await waitForTask(page);
    const res = await fetch(`${http}/control/stop`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sessionId: taskId }) });
    expect(res.status).toBe(200);
    const stopped = await running;
    expect(stopped).toMatchObject({ taskId, stuck: false, error: expect.stringMatching(/stopped|cancelled/), audio: null });
    ai.setOptions({ tokensPerSecond: 200 });
    expect(await turn('text', 'And now?')).toMatchObject({ stuck: false, error: null, text: REPLY });
  }, 90_000);

  it("answers one client's upload while another client's long reply is still running", async () => {
    ai.setOptions({ reply: (messages) => (lastUser(messages).includes('story') ? LONG : REPLY), tokensPerSecond: 25 });
    try {
      const long = await seedText(ws, 'Please tell me a long story.');
      await waitFor(() => ai.requests.some((r) => (JSON.stringify(r.body) ?? '').includes('a long story')), 'the long turn reached the LLM', 20_000);
      const short = await seedText(ws, 'A quick question.');
      // Each upload is its own session: the short turn does not queue behind the long one.
      expect(await short.out.json(30_000)).toMatchObject({ status: 'success', task_id: short.taskId, content: REPLY });
      const res = await fetch(`${http}/control/stop`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sessionId: long.taskId }) });
      expect(res.status).toBe(200);
      expect(await long.out.json(30_000)).toEqual({ status: 'error', task_id: long.taskId, error: expect.stringMatching(/stopped|cancelled/) });
    } finally {
      ai.setOptions({ reply: REPLY, tokensPerSecond: 200 });
    }
  }, 90_000);
});

/** A typed turn over the seed sockets from Node: the output socket, opened as the client does. */
async function seedText(ws: string, text: string): Promise<{ taskId: string; out: WsClient }> {
  const input = await WsClient.open(`${ws}/ws/input`);
  const taskId = (await input.json()).task_id as string;
  const out = await WsClient.open(`${ws}/ws/output/${taskId}`);
  input.send({ type: 'text', chunk_id: 0, action: 'data_chunk' });
  input.send(Buffer.from(text));
  input.send({ action: 'upload_complete' });
  await input.text();
  expect((await input.json()).action).toBe('upload_processed');
  input.close();
  return { taskId, out };
}

/** The task id of the turn in flight, once the page has it and the upload is queued. */
async function waitForTask(page: Page): Promise<string> {
  await page.waitForFunction('typeof s === "object" && s && s.taskId && s.processing', undefined, { timeout: 20_000, polling: 20 });
  return (await page.evaluate('s.taskId')) as string;
}
