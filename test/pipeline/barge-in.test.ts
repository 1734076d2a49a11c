/**
 * Barge-in through the whole studio (the issue: "user speech during playback cancels the turn: the
 * LLM stream is aborted, queued TTS for the turn is dropped, clients are told to stop"), and the two
 * other ways a user stops the avatar: the stop button on the session socket and the seed's
 * POST /control/stop.
 *
 * Real parts throughout: startStudio() in this process (the embedded bus, the 8 services as worker
 * processes, the gateway), the real openai SDK in chat-ai against the local stand-in (streaming
 * slowly so the avatar speaks while the LLM still streams), Debian flite for TTS and for the user's
 * voice, pocketsphinx and the Silero VAD on the live mic stream. The test acts as the studio page
 * (StudioClient) and also listens on the bus to see what each stage really did.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels, Queues, SERVICE_NAMES } from '../../src/shared/bus.js';
import { startStudio, type Studio } from '../../src/main/app.js';
import { loadConfig } from '../../src/main/config/load-config.js';
import { BusRecorder } from '../helpers/bus-recorder.js';
import { startOpenAiServer, tokenize, type OpenAiServer, type RecordedRequest } from '../helpers/openai-server.js';
import { HAVE_FLITE, HAVE_POCKETSPHINX, StudioClient, speech16k, wordErrors, type Ev } from './helpers.js';

/**
 * Eight sentences. The stand-in streams the first five as one chunk and the rest word by word at 8
 * chunks/s: five sentences reach tts at once (four wait in its queue while it speaks the first), and
 * the LLM is still streaming ~4 s later.
 */
const STORY =
  'Once upon a time, a small robot lived in a quiet town by the sea. ' +
  'Every morning it walked to the harbour to watch the fishing boats. ' +
  'The fishermen waved at it and sometimes gave it shiny shells. ' +
  'One day a storm came and the boats could not find their way home. ' +
  'The robot climbed the old lighthouse and turned on its bright lamp. ' +
  'All the boats followed the light and came back safely. ' +
  'The whole town cheered for the little robot that night. ' +
  'And from then on it kept the lamp burning every evening.';
const STORY_SENTENCES = STORY.split(/(?<=\.) /).length;
const STORY_PIECES = ((s: string[]) => [s.slice(0, 5).join(''), ...s.slice(5).flatMap((x) => tokenize(x))])(STORY.split(/(?<=\. )/));
const SHORT = 'Pizza is my favorite food. What about you?';
const UTTERANCE = 'what is your favorite food';

const skipReason = !HAVE_FLITE ? 'flite is not installed (apt install flite)' : !HAVE_POCKETSPHINX ? 'pocketsphinx is not installed (apt install pocketsphinx pocketsphinx-en-us)' : '';

type Chat = { messages: Array<{ role: string; content: string }>; stream?: boolean };
const lastUser = (r: RecordedRequest) => (r.body as Chat | undefined)?.messages?.filter((m) => m.role === 'user').at(-1)?.content ?? '';
const isChatStream = (r: RecordedRequest) => r.path.endsWith('/chat/completions') && (r.body as Chat | undefined)?.stream === true;

const after = (c: StudioClient, e: Ev) => c.events.slice(c.events.indexOf(e) + 1);

describe.skipIf(skipReason !== '')(`barge-in and stop through the studio${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let ai: OpenAiServer;
  let studio: Studio;
  let tap: BusRecorder;
  let redis: Redis;
  let dataDir: string;
  const clients: StudioClient[] = [];

  const open = async (session: string) => {
    const c = await StudioClient.open(studio.gatewayUrl, studio.token, session);
    clients.push(c);
    return c;
  };

  /** Starts the long story on a fresh session and waits until the avatar speaks while the LLM still streams. */
  const startStory = async (session: string) => {
    const c = await open(session);
    const prompt = `Tell me a long story, please (${session})`;
    c.send({ type: 'text', text: prompt });
    const firstAudio = await c.waitFor('audio', () => true, 30_000);
    const req = ai.requests.find((r) => isChatStream(r) && lastUser(r) === prompt);
    expect(req, 'the LLM request of the story turn').toBeDefined();
    expect(req!.completed).toBe(false); // the avatar speaks while the reply is still streaming
    return { c, turn: firstAudio.turn_id, req: req!, prompt };
  };

  /** What every stop must leave behind: stop, nothing more of the turn but its turn_end (cancelled), the LLM request aborted early. */
  const expectStopped = async (c: StudioClient, turn: string, req: RecordedRequest) => {
    const stop = await c.waitFor('stop', (e) => e.turn_id === turn, 10_000);
    const end = await c.waitFor('turn_end', (e) => e.turn_id === turn, 10_000);
    expect(end.reason).toBe('cancelled');
    await ai.waitFor((r) => r === req && r.endedAt !== undefined, 10_000);
    expect(req.aborted).toBe(true);
    expect(req.completed).toBe(false);
    expect(req.chunksSent).toBeLessThan(STORY_PIECES.length);
    // chat-ai said it was cancelled (memory keeps the partial reply as such); its sentences come before that.
    await tap.waitFor(() => tap.on(Channels.aiResponses, (m) => m.turn_id === turn && m.kind === 'cancelled')[0], 'chat-ai cancelled', 10_000);
    expect(tap.on(Channels.aiResponses, (m) => m.turn_id === turn && m.kind === 'cancelled')).toHaveLength(1);
    const sentencesToTts = tap.on(Channels.aiResponses, (m) => m.turn_id === turn && m.kind === 'sentence').length;
    return { stop, end, sentencesToTts };
  };

  /**
   * Once the session's next turn has ended (its messages come through the same services after any
   * late one of the stopped turn): nothing of the stopped turn after its stop but its turn_end.
   */
  const expectNothingLate = async (c: StudioClient, turn: string, stop: Ev, nextTurn: string) => {
    const late = after(c, stop).filter((e) => 'turn_id' in e && e.turn_id === turn && e.type !== 'turn_end');
    // turn_state included: a 'speaking' dialog-engine published on audio_start before it saw the stop
    // used to reach clients after the gateway's stop (two publishers, no order between them).
    expect(late.map((e) => (e.type === 'turn_state' ? `turn_state ${e.state}` : e.type))).toEqual([]);
    expect(c.of('audio_end', (e) => e.turn_id === turn)).toEqual([]);
    expect(c.of('reply_done', (e) => e.turn_id === turn)).toEqual([]);
    // tts spoke fewer sentences than the story has, published no end, and stopped publishing at the
    // cancel: no chunk of the turn once tts had moved on to the next turn.
    const chunks = tap.on(Channels.taskResponse(turn));
    const spoken = new Set(chunks.filter((m) => m.msg.kind === 'audio').map((m) => m.msg.index as number));
    expect(spoken.size).toBeGreaterThan(0);
    expect(spoken.size).toBeLessThan(STORY_SENTENCES);
    expect(chunks.filter((m) => m.msg.kind === 'end')).toEqual([]);
    expect(tap.on(Channels.events, (m) => m.turn_id === turn && m.kind === 'tts_done')).toEqual([]);
    const nextFirst = tap.all.findIndex((r) => r.channel === Channels.taskResponse(nextTurn));
    expect(nextFirst).toBeGreaterThanOrEqual(0);
    const lateChunks = tap.all.slice(nextFirst).filter((r) => r.channel === Channels.taskResponse(turn));
    expect(lateChunks.map((m) => `${String(m.msg.kind)} ${String(m.msg.index)}`)).toEqual([]);
    // Sentences of the turn that waited in tts's queue were taken off it (acked and skipped), not left there.
    const queued = (await redis.lrange(Queues.ttsRequests, 0, -1)).filter((raw) => (JSON.parse(raw) as { turn_id: string }).turn_id === turn);
    expect(queued).toEqual([]);
    return { spoken: spoken.size };
  };

  const expectNextTurnWorks = async (c: StudioClient, text: string) => {
    const since = c.events.length;
    c.send({ type: 'text', text });
    const done = await c.waitFor('reply_done', (e) => c.events.indexOf(e) >= since, 30_000);
    expect(done.text).toBe(SHORT);
    const end = await c.waitFor('turn_end', (e) => e.turn_id === done.turn_id, 30_000);
    expect(end.reason).toBe('done');
    expect(c.of('audio', (a) => a.turn_id === done.turn_id).length).toBeGreaterThan(0);
    expect(c.protocolErrors).toEqual([]);
    return done.turn_id;
  };

  beforeAll(async () => {
    ai = await startOpenAiServer({
      reply: (messages) => (String(messages.filter((m) => m.role === 'user').at(-1)?.content ?? '').includes('story') ? STORY_PIECES : SHORT),
      firstTokenDelayMs: 50,
      tokensPerSecond: 8,
    });
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fav-barge-in-'));
    const { config } = loadConfig(
      {
        port: 0,
        dataDir,
        llm: { preset: 'custom', baseUrl: ai.url, model: 'test-model' },
        asr: { engine: 'pocketsphinx' },
        tts: { engine: 'flite' },
        memory: { summarise: false },
      },
      {},
    );
    studio = await startStudio({ config });
    redis = new Redis(studio.busUrl);
    tap = await BusRecorder.open(studio.busUrl, ['task_response:*', Channels.aiResponses, Channels.events, Channels.control]);
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await tap?.close();
    redis?.disconnect();
    await studio?.stop();
    await ai?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('user speech during playback cancels the turn, then the utterance becomes the next turn', async () => {
    const { c, turn, req } = await startStory('barge-1');
    // The user starts talking: flite's voice streamed in real time as a microphone would, then 1 s of silence.
    const voice = speech16k(UTTERANCE);
    const onsetSample = voice.findIndex((v) => Math.abs(v) > 0.02);
    const mic = new Float32Array(voice.length + 16000);
    mic.set(voice);
    c.send({ type: 'mic_start' });
    const micStart = Date.now();
    const streaming = c.streamMic(mic);
    const stop = await c.waitFor('stop', (e) => e.turn_id === turn, 15_000);
    await streaming;
    c.send({ type: 'mic_stop' });

    const r = await expectStopped(c, turn, req);
    expect(stop.reason).toMatch(/barge-in/);

    // Latency: from the first voiced sample's send time, and from the VAD's speech_start on the bus, to the client's stop.
    const onsetAt = micStart + (onsetSample / 16000) * 1000;
    const speechStart = tap.on(Channels.events, (m) => m.session_id === 'barge-1' && m.kind === 'speech_start')[0];
    expect(speechStart, 'speech_start on fav:events').toBeDefined();
    const cancel = tap.on(Channels.control, (m) => m.turn_id === turn && m.action === 'cancel')[0];
    expect(cancel?.msg.reason).toBe('barge-in');
    // The latency figures are printed; their targets are checked by npm run bench:pipeline.
    console.log(
      `barge-in: voice onset -> speech_start ${speechStart!.at - onsetAt} ms, speech_start (bus) -> stop (client) ${stop.at - speechStart!.at} ms, ` +
        `onset -> stop ${stop.at - onsetAt} ms; LLM request aborted after ${req.chunksSent} of ${STORY_PIECES.length} chunks; chat-ai sent ${r.sentencesToTts} sentences to tts`,
    );

    // The utterance is the next turn: its transcript, a reply, audio, done.
    const transcript = await c.waitFor('transcript', (e) => e.final && e.turn_id !== turn, 30_000);
    expect(wordErrors(UTTERANCE, transcript.text).errors).toBeLessThanOrEqual(2);
    const done = await c.waitFor('reply_done', (e) => e.turn_id === transcript.turn_id, 30_000);
    expect(done.text).toBe(SHORT);
    const end = await c.waitFor('turn_end', (e) => e.turn_id === transcript.turn_id, 30_000);
    expect(end.reason).toBe('done');
    expect(c.of('audio', (a) => a.turn_id === transcript.turn_id).length).toBeGreaterThan(0);
    await expectNothingLate(c, turn, stop, transcript.turn_id);
    // The LLM heard the words and the interrupted story stays in the conversation.
    const next = ai.requests.filter(isChatStream).at(-1)!;
    expect(wordErrors(UTTERANCE, lastUser(next)).errors).toBeLessThanOrEqual(2);
    expect((next.body as Chat).messages.some((m) => m.role === 'user' && m.content.includes('Tell me a long story'))).toBe(true);
    expect(c.protocolErrors).toEqual([]);
  }, 60_000);

  it('the stop button stops the turn at once, and the next typed turn works', async () => {
    const { c, turn, req } = await startStory('stop-button');
    const sentAt = Date.now();
    c.send({ type: 'stop' });
    const r = await expectStopped(c, turn, req);
    const next = await expectNextTurnWorks(c, 'thanks, that is enough');
    const { spoken } = await expectNothingLate(c, turn, r.stop, next);
    console.log(`stop button: command -> stop event ${r.stop.at - sentAt} ms; chat-ai sent ${r.sentencesToTts} sentences to tts, ${spoken} were spoken (of ${STORY_SENTENCES})`);
    // The stop came right after the first audio: sentences already handed to tts were dropped unspoken.
    expect(r.sentencesToTts).toBeGreaterThan(spoken);
  }, 60_000);

  it('POST /control/stop stops the session turn the same way', async () => {
    const { c, turn, req } = await startStory('control-stop');
    // Another session's turn is not touched by it.
    const other = await open('control-bystander');
    other.send({ type: 'text', text: 'a quick question' });
    await fetch(`${studio.gatewayUrl}/health`).then((r) => r.arrayBuffer()); // warm this process's HTTP client: time the gateway, not undici's start-up
    const sentAt = Date.now();
    const res = await fetch(`${studio.gatewayUrl}/control/stop`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${studio.token}` },
      body: JSON.stringify({ sessionId: 'control-stop' }),
    });
    const respondedAt = Date.now();
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    const r = await expectStopped(c, turn, req);
    const ctl = tap.on(Channels.control, (m) => m.session_id === 'control-stop')[0]!;
    const otherEnd = await other.waitFor('turn_end', () => true, 30_000);
    expect(otherEnd.reason).toBe('done');
    expect(other.of('stop')).toEqual([]);
    const next = await expectNextTurnWorks(c, 'ok, next please');
    const { spoken } = await expectNothingLate(c, turn, r.stop, next);
    console.log(
      `POST /control/stop: request -> ControlEvent on the bus ${ctl.at - sentAt} ms, -> HTTP answer ${respondedAt - sentAt} ms, -> stop event ${r.stop.at - sentAt} ms ` +
        `(the gateway shares this test's event loop); chat-ai sent ${r.sentencesToTts} sentences to tts, ${spoken} were spoken (of ${STORY_SENTENCES})`,
    );
    expect(r.sentencesToTts).toBeGreaterThan(spoken);
    // Everything is still up.
    expect(studio.supervisor.status().map((s) => [s.name, s.state])).toEqual(SERVICE_NAMES.map((n) => [n, 'ready']));
  }, 60_000);
});
