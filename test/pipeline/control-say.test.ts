/**
 * The control API through the whole studio: `say` makes the avatar speak the given words through
 * the real pipeline (dialog-engine, memory, chat-ai without the LLM, flite, output-handler), memory
 * keeps them as the avatar's line (the next LLM request carries them as the assistant's message,
 * not the user's), and `stop` stops a `say` mid-speech like the stop button: a `stop` event, the
 * turn ends cancelled, and no audio of it after the stop.
 *
 * Real parts: startStudio() in this process (embedded bus, the 8 services as worker processes, the
 * gateway), Debian flite, the OpenAI stand-in for the one typed turn. The test acts as the studio
 * page (StudioClient) and as a Stream Deck (HTTP POST /api/control/...).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStudio, type Studio } from '../../src/main/app.js';
import { loadConfig } from '../../src/main/config/load-config.js';
import { startOpenAiServer, type OpenAiServer } from '../helpers/openai-server.js';
import { HAVE_FLITE, StudioClient } from './helpers.js';

const LONG =
  '[joy] Welcome back to the stream, everyone! Today we are going to build a tiny robot out of cardboard. ' +
  'First we cut the body, then we fold the arms, and then we glue the little wheels on. ' +
  'After that we paint it blue and give it a name. Finally we let it race across the table.';
const SHORT = '[shy] Thanks for the follow!';

describe.skipIf(!HAVE_FLITE)(`control API say and stop through the studio${HAVE_FLITE ? '' : ' (skipped: flite is not installed: apt install flite)'}`, () => {
  let ai: OpenAiServer;
  let studio: Studio;
  let dataDir: string;
  const clients: StudioClient[] = [];

  const control = async (command: string, body: object) => {
    const res = await fetch(`${studio.gatewayUrl}/api/control/${command}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${studio.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const open = async (session: string) => {
    const c = await StudioClient.open(studio.gatewayUrl, studio.token, session);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    ai = await startOpenAiServer({ reply: 'Happy to be here.' });
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fav-control-say-'));
    const { config } = loadConfig({ port: 0, dataDir, llm: { preset: 'custom', baseUrl: ai.url, model: 'test-model' }, tts: { engine: 'flite' }, memory: { summarise: false } }, {});
    studio = await startStudio({ config });
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await studio?.stop();
    await ai?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('say speaks the words verbatim (emotion shown, audio delivered) without the LLM, and memory keeps them as the avatar\'s', async () => {
    const c = await open('say-1');
    const before = ai.requests.length;
    const r = await control('say', { session: 'say-1', text: SHORT });
    expect(r).toMatchObject({ status: 200, json: { ok: true, turn_id: expect.any(String) } });
    const turn = r.json.turn_id as string;
    const done = await c.waitFor('reply_done', (e) => e.turn_id === turn, 30_000);
    expect(done.text).toBe('Thanks for the follow!');
    expect(c.of('emotion', (e) => e.turn_id === turn).map((e) => e.emotion)).toEqual(['shy']);
    const end = await c.waitFor('turn_end', (e) => e.turn_id === turn, 30_000);
    expect(end.reason).toBe('done');
    const audio = c.of('audio', (a) => a.turn_id === turn);
    expect(audio.length).toBeGreaterThan(0);
    expect(audio.reduce((n, a) => n + (a.pcm?.length ?? 0), 0)).toBeGreaterThan(16000); // real speech, not an empty chunk
    expect(c.of('transcript', (e) => e.turn_id === turn)).toEqual([]); // nobody said it to the avatar
    expect(ai.requests.length).toBe(before);

    // The next real turn: the said line is in the history as the assistant's, never as the user's.
    c.send({ type: 'text', text: 'What did you just say?' });
    const next = await c.waitFor('reply_done', (e) => e.turn_id !== turn, 30_000);
    expect(next.text).toBe('Happy to be here.');
    const messages = (ai.requests.at(-1)!.body as { messages: Array<{ role: string; content: string }> }).messages;
    expect(messages.filter((m) => m.role !== 'system')).toEqual([
      { role: 'assistant', content: 'Thanks for the follow!' },
      { role: 'user', content: 'What did you just say?' },
    ]);
  });

  it('stop stops a say mid-speech: a stop event, turn_end cancelled, no audio of it after the stop', async () => {
    const c = await open('say-2');
    c.autoPlaybackDone = false; // a page still playing: the turn lasts as long as its audio
    const r = await control('say', { session: 'say-2', text: LONG });
    const turn = r.json.turn_id as string;
    await c.waitFor('audio', (a) => a.turn_id === turn, 30_000);
    expect((await control('stop', { session: 'say-2' })).json).toMatchObject({ ok: true, command: 'stop' });
    const stop = await c.waitFor('stop', (e) => e.turn_id === turn, 10_000);
    const end = await c.waitFor('turn_end', (e) => e.turn_id === turn, 10_000);
    expect(end.reason).toBe('cancelled');
    // The session's next say runs through the same services after anything late of the stopped one.
    c.autoPlaybackDone = true;
    const next = (await control('say', { session: 'say-2', text: SHORT })).json.turn_id as string;
    await c.waitFor('turn_end', (e) => e.turn_id === next, 30_000);
    const afterStop = c.events.slice(c.events.indexOf(stop) + 1).filter((e) => 'turn_id' in e && e.turn_id === turn && e.type !== 'turn_end');
    expect(afterStop.map((e) => e.type)).toEqual([]);
    expect(c.of('audio_end', (e) => e.turn_id === turn)).toEqual([]); // its audio never finished
    expect(c.protocolErrors).toEqual([]);
  });
});
