/**
 * Faults through the whole studio (the issue: "Empty, corrupt, silent, oversized or unsupported
 * audio; an LLM endpoint that is down, slow, returns 401 or a broken stream; a TTS engine that fails
 * mid-turn; a worker killed mid-turn. Each gives the client a clear error event, the turn ends
 * cleanly, the services stay up, and the user's message stays in memory.").
 *
 * One studio for the file: startStudio() in this process (the embedded bus, the 8 services as
 * worker processes, the gateway), pocketsphinx for ASR, the real openai SDK in chat-ai against a
 * local OpenAI-compatible stand-in `ai` (the LLM, faults switched per test), and the openai TTS
 * engine against a second stand-in `ai2` (its speech breaks on demand; a tone as the voice). The
 * test is the studio page (StudioClient) and a seed HTTP client (POST /api/asr).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_NAMES, type ServiceName } from '../../src/shared/bus.js';
import { ErrorCodes, type ClientEvent } from '../../src/shared/voice.js';
import { startStudio, type Studio } from '../../src/main/app.js';
import { loadConfig } from '../../src/main/config/load-config.js';
import { encodeWav } from '../../src/workers/audio/pcm.js';
import { startOpenAiServer, type OpenAiServer, type OpenAiServerOptions, type RecordedRequest } from '../helpers/openai-server.js';
import { isAlive } from '../main/supervisor/helpers.js';
import { HAVE_FLITE, HAVE_POCKETSPHINX, StudioClient, speechWav, wordErrors } from './helpers.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'audio');
const MAX_BYTES = 200_000;
const FIRST_TOKEN_TIMEOUT_MS = 1500;
const REPLY = 'Sure, I can help with that. Here is my answer for you. That is all I have for now.';
const STORY =
  'Once upon a time, a small robot lived in a quiet town by the sea. Every morning it walked to the harbour to watch the boats. ' +
  'One day a storm came and the boats could not find their way home. The robot climbed the lighthouse and turned on its lamp. ' +
  'All the boats followed the light and came back safely.';

const skipReason = !HAVE_POCKETSPHINX ? 'pocketsphinx is not installed (apt install pocketsphinx pocketsphinx-en-us)' : !HAVE_FLITE ? 'flite is not installed (apt install flite)' : '';

type Chat = { messages: Array<{ role: string; content: string }>; stream?: boolean };
const isChatStream = (r: RecordedRequest) => r.path.endsWith('/chat/completions') && (r.body as Chat | undefined)?.stream === true;
const lastUser = (r: RecordedRequest) => (r.body as Chat | undefined)?.messages?.filter((m) => m.role === 'user').at(-1)?.content ?? '';

/** A message a streamer can act on: words, no stack trace, no "undefined"/"[object". */
function expectReadable(message: string): void {
  expect(message.length).toBeGreaterThan(15);
  expect(message).toMatch(/[a-z]{3,} [a-z]{2,}/i);
  expect(message).not.toMatch(/undefined|\[object|^\s+at |\n\s+at /);
}

describe.skipIf(skipReason !== '')(`faults through the studio${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let ai: OpenAiServer;
  let ai2: OpenAiServer;
  let studio: Studio;
  let dataDir: string;
  const clients: StudioClient[] = [];
  const llmDefaults: OpenAiServerOptions = {
    reply: (messages) => (String(messages.filter((m) => m.role === 'user').at(-1)?.content ?? '').includes('story') ? STORY : REPLY),
    firstTokenDelayMs: 20,
    tokensPerSecond: 200,
  };
  /** Every chat stream request any `ai` instance got (the server is restarted in one test). */
  const chats: RecordedRequest[] = [];
  let aiRequestsSeen = 0;
  const collectChats = () => {
    chats.push(...ai.requests.slice(aiRequestsSeen).filter(isChatStream));
    aiRequestsSeen = ai.requests.length;
  };

  const open = async (session: string) => {
    const c = await StudioClient.open(studio.gatewayUrl, studio.token, session);
    clients.push(c);
    return c;
  };

  const allReady = () => studio.supervisor.status().map((s) => [s.name, s.state]);
  const READY = SERVICE_NAMES.map((n) => [n, 'ready']);

  const postAsr = async (sessionId: string, audio: string, contentType?: string) => {
    const res = await fetch(`${studio.gatewayUrl}/api/asr`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${studio.token}` },
      body: JSON.stringify({ sessionId, audio, ...(contentType ? { contentType } : {}) }),
    });
    return { status: res.status, body: (await res.json()) as { error?: string; code?: string; stage?: string; transcript?: string; reply?: string } };
  };

  /** A typed turn on `c`: its turn id once the first event of it arrives. */
  const typed = async (c: StudioClient, text: string) => {
    const since = c.events.length;
    c.send({ type: 'text', text });
    const first = await c.waitFor('turn_state', (e) => c.events.indexOf(e) >= since && e.turn_id !== '-', 20_000);
    return first.turn_id;
  };

  /** The next typed turn of the session, with the LLM healthy, completes and the LLM sees `remembered` in its history. */
  let nextCount = 0;
  const expectRemembered = async (c: StudioClient, remembered: string) => {
    const next = `and one more question, number ${++nextCount}`;
    const turn = await typed(c, next);
    const end = await c.waitFor('turn_end', (e) => e.turn_id === turn, 30_000);
    expect(end.reason).toBe('done');
    expect(c.of('reply_done', (e) => e.turn_id === turn).map((e) => e.text)).toEqual([REPLY]);
    expect(c.of('audio', (e) => e.turn_id === turn).length).toBeGreaterThan(0);
    collectChats();
    const req = chats.filter((r) => lastUser(r) === next).at(-1);
    expect(req, 'the next turn reached the LLM').toBeDefined();
    const history = (req!.body as Chat).messages;
    expect(history.filter((m) => m.role === 'user').map((m) => m.content)).toContain(remembered);
    expect(history.at(-1)).toEqual({ role: 'user', content: next });
  };

  beforeAll(async () => {
    ai = await startOpenAiServer(llmDefaults);
    ai2 = await startOpenAiServer({ speechChunkBytes: 4800 });
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fav-faults-'));
    const { config } = loadConfig(
      {
        port: 0,
        dataDir,
        llm: { preset: 'custom', baseUrl: ai.url, model: 'test-model', firstTokenTimeoutMs: FIRST_TOKEN_TIMEOUT_MS },
        asr: { engine: 'pocketsphinx' },
        tts: { engine: 'openai', openai: { baseUrl: ai2.url, model: 'tts-test' } },
        memory: { summarise: false },
        input: { maxBytes: MAX_BYTES },
        // A turn that never progresses ends after 15 s instead of the default minute.
        dialog: { watchdogMs: 15_000 },
      },
      {},
    );
    studio = await startStudio({ config });
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await studio?.stop();
    await ai?.close();
    await ai2?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  describe('bad audio: POST /api/asr answers with the code, the session socket gets the error event', () => {
    const silentWav = readFileSync(path.join(FIXTURES, 'silent-16k.wav'));
    const headerOnlyWav = encodeWav({ samples: new Float32Array(0), sampleRate: 16000 });
    const cases: Array<{ name: string; audio: () => string; contentType?: string; status: number; code: string; stage?: string; message: RegExp }> = [
      { name: 'a WAV with no samples', audio: () => headerOnlyWav.toString('base64'), contentType: 'audio/wav', status: 422, code: ErrorCodes.audioEmpty, stage: 'input', message: /no samples/ },
      { name: 'random bytes labelled audio/wav', audio: () => randomBytes(4000).toString('base64'), contentType: 'audio/wav', status: 422, code: ErrorCodes.audioCorrupt, stage: 'input', message: /damaged|mislabelled/ },
      { name: 'random bytes without a type', audio: () => randomBytes(4000).toString('base64'), status: 422, code: ErrorCodes.audioUnsupported, stage: 'input', message: /unrecognised audio format/ },
      { name: 'a silent WAV', audio: () => silentWav.toString('base64'), contentType: 'audio/wav', status: 422, code: ErrorCodes.audioSilent, stage: 'input', message: /silent/ },
      { name: 'FLAC', audio: () => readFileSync(path.join(FIXTURES, 'speech.flac')).toString('base64'), contentType: 'audio/flac', status: 422, code: ErrorCodes.audioUnsupported, stage: 'input', message: /not supported/ },
      { name: 'M4A (AAC)', audio: () => readFileSync(path.join(FIXTURES, 'speech.m4a')).toString('base64'), contentType: 'audio/mp4', status: 422, code: ErrorCodes.audioUnsupported, stage: 'input', message: /not supported/ },
    ];
    for (const [i, k] of cases.entries()) {
      it(k.name, async () => {
        const session = `audio-${i}`;
        const c = await open(session);
        const r = await postAsr(session, k.audio(), k.contentType);
        expect(r.status, JSON.stringify(r.body)).toBe(k.status);
        expect(r.body).toMatchObject({ code: k.code, stage: k.stage, error: expect.stringMatching(k.message) });
        expectReadable(r.body.error!);
        const ev = await c.waitFor('error', (e) => e.code === k.code, 10_000);
        expect(ev).toMatchObject({ session_id: session, stage: k.stage, message: r.body.error });
        // No turn came of it: no turn_state other than idle, nothing spoken.
        expect(c.of('audio')).toEqual([]);
        expect(c.protocolErrors).toEqual([]);
      });
    }

    it('an empty upload and one over input.maxBytes are refused at the door', async () => {
      const c = await open('audio-door');
      const empty = await postAsr('audio-door', '', 'audio/wav');
      expect(empty.status).toBe(400);
      expect(empty.body).toMatchObject({ code: ErrorCodes.audioEmpty, error: expect.stringMatching(/audio.*empty/) });
      expectReadable(empty.body.error!);
      const big = Buffer.concat([speechWav('this is a long recording'), randomBytes(MAX_BYTES)]);
      const tooBig = await postAsr('audio-door', big.toString('base64'), 'audio/wav');
      expect(tooBig.status).toBe(413);
      expect(tooBig.body).toMatchObject({ code: ErrorCodes.audioTooLarge, error: expect.stringContaining(`${MAX_BYTES} bytes`) });
      expectReadable(tooBig.body.error!);
      // Nothing was queued for the session.
      await new Promise((r) => setTimeout(r, 300));
      expect(c.events).toEqual([]);
    });

    it('bad mic frames on the session socket get error events and the socket stays usable', async () => {
      const c = await open('audio-mic');
      c.ws.send(Buffer.alloc(640));
      const notStarted = await c.waitFor('error', (e) => e.code === ErrorCodes.micNotStarted, 5000);
      expect(notStarted.stage).toBe('gateway');
      c.send({ type: 'mic_start' });
      c.ws.send(Buffer.alloc(641));
      const odd = await c.waitFor('error', (e) => e.code === ErrorCodes.audioCorrupt, 5000);
      expect(odd.message).toMatch(/even number of bytes/);
      c.ws.send(Buffer.alloc(64_000));
      const big = await c.waitFor('error', (e) => e.code === ErrorCodes.audioTooLarge, 5000);
      expect(big.message).toMatch(/at most \d+/);
      for (const e of [notStarted, odd, big]) expectReadable(e.message);
      c.send({ type: 'mic_stop' });
      // Still the same socket, still working: typed text gets its reply.
      const turn = await typed(c, 'are you still there');
      expect((await c.waitFor('turn_end', (e) => e.turn_id === turn, 30_000)).reason).toBe('done');
    }, 40_000);

    it('after all that every service is up and a good recording is answered', async () => {
      expect(allReady()).toEqual(READY);
      const c = await open('audio-good');
      const r = await postAsr('audio-good', speechWav('what is your favorite food').toString('base64'), 'audio/wav');
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(wordErrors('what is your favorite food', r.body.transcript ?? '').errors).toBeLessThanOrEqual(2);
      expect(r.body.reply).toBe(REPLY);
      await c.waitFor('audio_end', () => true, 30_000);
    }, 40_000);
  });

  describe('LLM faults: an error event with the code, turn_end error, services up, the message kept', () => {
    const faults: Array<{ name: string; code: string; message: RegExp; inject: () => Promise<void> | void; heal: () => Promise<void> | void }> = [
      {
        name: 'the LLM server is down',
        code: ErrorCodes.llmUnreachable,
        message: /cannot reach the LLM/,
        inject: async () => {
          collectChats();
          await ai.close();
        },
        heal: async () => {
          ai = await startOpenAiServer({ ...llmDefaults, port: ai.port });
          aiRequestsSeen = 0;
        },
      },
      {
        name: 'the first token takes longer than llm.firstTokenTimeoutMs',
        code: ErrorCodes.llmTimeout,
        message: /within 1\.5 s/,
        inject: () => ai.setOptions({ firstTokenDelayMs: FIRST_TOKEN_TIMEOUT_MS + 2000 }),
        heal: () => ai.setOptions({ firstTokenDelayMs: llmDefaults.firstTokenDelayMs }),
      },
      {
        name: 'the LLM answers 401',
        code: ErrorCodes.llmAuth,
        message: /refused the API key \(HTTP 401/,
        inject: () => ai.setOptions({ status: 401 }),
        heal: () => ai.setOptions({ status: undefined }),
      },
      {
        name: 'the stream breaks after 3 chunks',
        code: ErrorCodes.llmBadStream,
        message: /not valid JSON|broke off/,
        inject: () => ai.setOptions({ brokenStreamAfter: 3 }),
        heal: () => ai.setOptions({ brokenStreamAfter: undefined }),
      },
    ];
    for (const [i, f] of faults.entries()) {
      it(f.name, async () => {
        const c = await open(`llm-${i}`);
        const text = `question ${i} while the LLM fails`;
        let turn: string;
        let started: number;
        await f.inject();
        try {
          started = Date.now();
          turn = await typed(c, text);
          await c.waitFor('turn_end', (e) => e.turn_id === turn, 20_000);
        } finally {
          await f.heal(); // whatever happened, the next tests get a healthy LLM
        }
        const err = await c.waitFor('error', (e) => e.turn_id === turn, 1000);
        const end = await c.waitFor('turn_end', (e) => e.turn_id === turn, 1000);
        console.log(`${f.name}: error ${err.code} after ${err.at - started} ms: "${err.message}"`);
        expect(err).toMatchObject({ stage: 'llm', code: f.code, message: expect.stringMatching(f.message) });
        expectReadable(err.message);
        expect(end.reason).toBe('error');
        expect(c.of('error', (e) => e.turn_id === turn)).toHaveLength(1); // reported once
        // Nothing was spoken: at most an audio_end that says so (chat-ai ends the turn's speech on failure).
        expect(c.of('audio', (e) => e.turn_id === turn)).toEqual([]);
        expect(c.of('audio_end', (e) => e.turn_id === turn).filter((e) => e.chunks !== 0)).toEqual([]);
        expect(c.events.indexOf(end)).toBeGreaterThan(c.events.indexOf(err));
        if (f.code === ErrorCodes.llmTimeout) {
          // The slow request was given up on, not left running.
          collectChats();
          const req = chats.find((r) => lastUser(r) === text)!;
          await ai.waitFor((r) => r === req && r.endedAt !== undefined, 5000);
          expect(req.aborted).toBe(true);
        }
        expect(allReady()).toEqual(READY);
        await expectRemembered(c, text);
        expect(c.protocolErrors).toEqual([]);
      }, 60_000);
    }
  });

  it('a TTS engine failing mid-sentence: a tts error event, the other sentences are spoken, the turn ends', async () => {
    const c = await open('tts-fail');
    const since = ai2.requests.length;
    ai2.setOptions({ brokenStreamAfter: 1 }); // the speech body breaks after its first 4800 bytes
    let turn: string;
    try {
      turn = await typed(c, 'say three things');
      // Only the first sentence's request breaks (a request keeps the options it arrived with).
      await ai2.waitFor((r) => ai2.requests.indexOf(r) >= since && r.path.endsWith('/audio/speech'), 20_000);
    } finally {
      ai2.setOptions({ brokenStreamAfter: undefined });
    }
    const end = await c.waitFor('turn_end', (e) => e.turn_id === turn, 30_000);
    expect(end.reason).toBe('done');
    const errors = c.of('error', (e) => e.turn_id === turn);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ stage: 'tts', code: ErrorCodes.ttsFailed, message: expect.stringMatching(/broke after \d+ bytes/) });
    expectReadable(errors[0]!.message);
    const audio = c.of('audio', (e) => e.turn_id === turn);
    expect(audio.map((a) => a.seq)).toEqual(audio.map((_, k) => k));
    const spoken = new Set(audio.map((a) => a.index));
    expect(spoken.has(1) && spoken.has(2)).toBe(true);
    expect((await c.waitFor('audio_end', (e) => e.turn_id === turn, 5000)).chunks).toBe(audio.length);
    expect(c.of('reply_done', (e) => e.turn_id === turn).map((e) => e.text)).toEqual([REPLY]);
    const speech = ai2.requests.slice(since).filter((r) => r.path.endsWith('/audio/speech'));
    expect(speech.map((r) => r.completed)).toEqual([false, true, true]);
    expect(allReady()).toEqual(READY);
  }, 60_000);

  it('the tts worker killed mid-turn: the turn still ends, tts is restarted, the next turn speaks, the message is kept', async () => {
    const c = await open('kill-tts');
    const since = ai2.requests.length;
    ai.setOptions({ tokensPerSecond: 10 }); // the LLM still streams the story when tts dies
    ai2.setOptions({ speechChunkIntervalMs: 100 }); // 4800 bytes = 100 ms of audio every 100 ms: speaking in real time
    const text = 'tell me a story about a robot';
    const before = studio.supervisor.status().find((s) => s.name === 'tts')!;
    const pid = before.instances[0]!.pid!;
    let turn: string;
    let killedAt: number;
    try {
      turn = await typed(c, text);
      await c.waitFor('audio', (e) => e.turn_id === turn, 30_000);
      killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
    } finally {
      // Requests keep the options they arrived with: the story goes on streaming slowly, the re-spoken sentence comes fast.
      ai.setOptions({ tokensPerSecond: llmDefaults.tokensPerSecond });
      ai2.setOptions({ speechChunkIntervalMs: undefined });
    }

    // The supervisor's view, polled from the kill on: tts ready again with a new process.
    const tts = () => studio.supervisor.status().find((s) => s.name === 'tts')!;
    const restarted = (async () => {
      const deadline = Date.now() + 30_000;
      while ((tts().state !== 'ready' || tts().instances[0]!.pid === pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return Date.now();
    })();
    const end = await c.waitFor('turn_end', (e) => e.turn_id === turn, 30_000);
    expect(['done', 'error']).toContain(end.reason);
    const readyAt = await restarted;
    const after = tts();
    expect(after.state).toBe('ready');
    expect(after.instances[0]!.pid).not.toBe(pid);
    expect(after.restarts).toBeGreaterThan(before.restarts);
    expect(isAlive(pid)).toBe(false);
    // The kill cut a sentence mid-speech (its HTTP request died with the worker); after the restart
    // the sentence was taken up again from the reliable queue and spoken whole.
    type Speech = { input?: string };
    const speech = ai2.requests.slice(since).filter((r) => r.path.endsWith('/audio/speech'));
    const cut = speech.find((r) => r.aborted);
    expect(cut, 'a speech request in flight at the kill').toBeDefined();
    expect(speech.some((r) => r.receivedAt > cut!.receivedAt && r.completed && (r.body as Speech).input === (cut!.body as Speech).input)).toBe(true);
    const audio = c.of('audio', (e) => e.turn_id === turn);
    expect(audio.map((a) => a.seq)).toEqual(audio.map((_, k) => k)); // no chunk twice, none out of order
    const errs = c.of('error', (e) => e.turn_id === turn);
    console.log(
      `tts SIGKILLed mid-turn: tts ready again ${readyAt - killedAt!} ms after the kill (new pid), turn_end ${end.reason} ${end.at - killedAt!} ms after it, ${audio.length} audio chunks over sentences ` +
        `${[...new Set(audio.map((a) => a.index))].join(',')}; errors: ${errs.map((e) => e.code).join(',') || 'none'}`,
    );
    if (end.reason === 'done') expect(c.of('audio_end', (e) => e.turn_id === turn)).toHaveLength(1);
    else for (const e of errs) expectReadable(e.message);
    expect(allReady()).toEqual(READY);
    await expectRemembered(c, text);
  }, 90_000);
  /**
   * Kills `name` while a typed turn is mid-reply; waits for that turn's end. Then checks what every
   * case shares: one turn_end, no audio chunk twice, the service back (new pid, all ready), and the
   * next turn answering with the message in its history. Returns the end and the turn's errors.
   */
  const killMidReply = async (name: ServiceName, text: string, check: (end: Extract<ClientEvent, { type: 'turn_end' }>, errs: Extract<ClientEvent, { type: 'error' }>[]) => void) => {
    const c = await open(`kill-${name}`);
    ai.setOptions({ tokensPerSecond: 10 }); // still streaming when the service dies
    const before = studio.supervisor.status().find((s) => s.name === name)!;
    const pid = before.instances[0]!.pid!;
    let turn: string;
    try {
      turn = await typed(c, text);
      await c.waitFor('reply_delta', (e) => e.turn_id === turn, 30_000);
      process.kill(pid, 'SIGKILL');
    } finally {
      ai.setOptions({ tokensPerSecond: llmDefaults.tokensPerSecond });
    }
    const end = await c.waitFor('turn_end', (e) => e.turn_id === turn, 30_000);
    const errs = c.of('error', (e) => e.turn_id === turn);
    check(end, errs);
    for (const e of errs) expectReadable(e.message);
    const audio = c.of('audio', (e) => e.turn_id === turn);
    expect(new Set(audio.map((a) => `${a.index}:${a.chunk}`)).size).toBe(audio.length); // no chunk twice
    expect(c.of('turn_end', (e) => e.turn_id === turn)).toHaveLength(1);
    // A restarted dialog-engine ends its lost turns while it starts, before it says it is ready.
    for (let i = 0; i < 600 && JSON.stringify(allReady()) !== JSON.stringify(READY); i++) await new Promise((r) => setTimeout(r, 50));
    expect(allReady()).toEqual(READY);
    expect(studio.supervisor.status().find((s) => s.name === name)!.restarts).toBeGreaterThan(before.restarts);
    expect(isAlive(pid)).toBe(false);
    await expectRemembered(c, text);
  };

  // chat-ai holds the LLM stream of a turn, output-handler its ordering and delivery, dialog-engine
  // its state: killed mid-reply, the turn is lost. It must end (error worker_lost) as soon as the
  // service is back, not at the watchdog; nothing is delivered twice; the next turn answers.
  it.each(['chat-ai', 'output-handler', 'dialog-engine'] as const)('%s killed mid-reply: the turn ends with worker_lost once it is back, nothing twice, the next turn answers', async (name) => {
    await killMidReply(name, `tell me a long story, ${name}`, (end, errs) => {
      expect(end.reason).toBe('error');
      // Ended by the service's return (its own message), not by the watchdog ("No progress on this turn ...").
      expect(errs.find((e) => e.code === ErrorCodes.workerLost)?.message).toContain(`${name} restarted in the middle of this reply`);
    });
  }, 90_000);

  // The services that keep a turn's work on reliable queues and streams: killed mid-reply, the turn
  // goes on (or ends with an error), nothing twice, the service comes back, the next turn answers
  // with the message in its history (memory stores the reply from its queue after the restart).
  it.each(['input-handler', 'asr', 'memory', 'long-term-memory'] as const)('%s killed mid-reply: the turn ends once, nothing twice, the service is back, the next turn answers', async (name) => {
    await killMidReply(name, `tell me another story, ${name}`, (end) => expect(['done', 'error']).toContain(end.reason));
  }, 90_000);
});
