/**
 * chat-ai's two control-API paths, as a real worker process on the embedded bus with the OpenAI
 * stand-in: a `say` context is spoken verbatim through the reply path (emotion tags honoured,
 * sentences to tts, deltas, done, a ReplyFinal for memory) without asking the LLM; a persona notice
 * on fav:persona changes the system prompt of the next turn without a restart, and a restarted
 * chat-ai takes the persona left at ACTIVE_PERSONA_KEY.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIVE_PERSONA_KEY, CONFIG_KEY, Channels, Queues, newEventId, type PersonaNotice } from '../../../src/shared/bus.js';
import { ConfigSchema } from '../../../src/shared/config.js';
import { nowMs, type AiResponse, type MemoryContext, type ReplyFinal, type TtsRequest, type TurnEvent } from '../../../src/shared/voice.js';
import { startOpenAiServer, type OpenAiServer } from '../../helpers/openai-server.js';
import { startWorker, type Worker } from '../../helpers/worker.js';
import { Recorder, client, startBackend, tempDataDir, waitFor, type Backend } from '../../main/supervisor/helpers.js';

let bus: Backend;
let ai: OpenAiServer;
let worker: Worker;
let cmd: Redis;
let rec: Recorder;

beforeAll(async () => {
  bus = await startBackend('embedded');
  ai = await startOpenAiServer({ reply: 'An answer.' });
  cmd = await client(bus.url);
  const settings = ConfigSchema.parse({
    dataDir: tempDataDir(),
    llm: { preset: 'custom', baseUrl: ai.url, model: 'test-model' },
    persona: { name: 'Mika', systemPrompt: 'You are {name}. Be brief.' },
    personas: [{ name: 'Pirate', systemPrompt: 'You are {name}, a pirate. Arr.' }],
  });
  await cmd.set(CONFIG_KEY, JSON.stringify(settings));
  rec = await Recorder.open(bus.url, [Channels.aiResponses, Channels.events, Channels.status]);
  worker = await startWorker('chat-ai', bus.url, { readyTimeoutMs: 20_000 });
});

afterAll(async () => {
  await worker?.stop();
  await rec?.close();
  cmd?.disconnect();
  await ai?.close();
  await bus?.stop();
});

function context(text: string, source: MemoryContext['source']): MemoryContext {
  const turn = `turn-${randomUUID()}`;
  const t = nowMs();
  return { session_id: 'sess-1', turn_id: turn, task_id: turn, event_id: newEventId(), ts: Date.now(), marks: { turn_start: t, context: t }, source, text, messages: source === 'say' ? [] : [{ role: 'user', content: text }], memories: [] };
}
const send = (c: MemoryContext) => cmd.lpush(Queues.chatContexts, JSON.stringify(c));
const responses = (turn: string) => (rec.msgs(Channels.aiResponses) as AiResponse[]).filter((m) => m.turn_id === turn);
const events = (turn: string) => (rec.msgs(Channels.events) as TurnEvent[]).filter((m) => m.turn_id === turn);
async function tts(turn: string): Promise<TtsRequest[]> {
  const raw = await cmd.lrange(Queues.ttsRequests, 0, -1);
  return raw.map((r) => JSON.parse(r) as TtsRequest).filter((m) => m.turn_id === turn).reverse();
}
async function final(turn: string): Promise<ReplyFinal | undefined> {
  const raw = await cmd.lrange(Queues.replies, 0, -1);
  return raw.map((r) => JSON.parse(r) as ReplyFinal).find((m) => m.turn_id === turn);
}
const ended = (turn: string) => waitFor(() => final(turn), `end of ${turn}`, 10_000, 10);
const systemOf = (i: number) => (ai.requests[i]!.body as { messages: Array<{ role: string; content: string }> }).messages[0]!.content;

describe('chat-ai: say', () => {
  it('speaks the text verbatim as the reply, with its emotion tags, and never calls the LLM', async () => {
    const before = ai.requests.length;
    const c = context('[joy] Welcome to the stream! [shy] Thanks for the follow', 'say');
    await send(c);
    const end = await ended(c.turn_id);
    expect(end).toMatchObject({ status: 'done', text: 'Welcome to the stream! Thanks for the follow', sentences: 2 });
    expect((await tts(c.turn_id)).map((r) => [r.index, r.text, r.last, r.emotion])).toEqual([
      [0, 'Welcome to the stream!', false, 'joy'],
      [1, 'Thanks for the follow', true, 'shy'],
    ]);
    // Channels may reach the recorder a moment after the list: wait for the done response (the
    // emotion events were published before it, on the same connection).
    await waitFor(() => responses(c.turn_id).find((r) => r.kind === 'done'), `done response of ${c.turn_id}`, 5000, 5);
    const rs = responses(c.turn_id);
    expect(rs.filter((r) => r.kind === 'delta').map((r) => r.text).join('')).toBe('Welcome to the stream! Thanks for the follow');
    expect(rs.at(-1)).toMatchObject({ kind: 'done', sentences: 2 });
    expect(events(c.turn_id).filter((e) => e.kind === 'emotion').map((e) => e.emotion)).toEqual(['joy', 'shy']);
    // The stand-in answers every request: none came for this turn.
    expect(ai.requests.length).toBe(before);
    expect(end.marks.llm_request).toBeUndefined();
  });

  it('a say of emotion tags only fails with text_empty and closes the turn for tts', async () => {
    const c = context('[joy]', 'say');
    await send(c);
    expect(await ended(c.turn_id)).toMatchObject({ status: 'error', code: 'text_empty' });
    // The event comes on a channel, the ReplyFinal on a list: the recorder may hear it a little later.
    const error = await waitFor(() => events(c.turn_id).find((e) => e.kind === 'error'), `error event of ${c.turn_id}`, 5000, 5);
    expect(error).toMatchObject({ code: 'text_empty', stage: 'llm' });
    expect((await tts(c.turn_id)).map((r) => [r.text, r.last])).toEqual([['', true]]);
  });
});

describe('chat-ai: persona switch', () => {
  it('a notice on fav:persona changes the next turn\'s system prompt; a restarted chat-ai keeps it from the key', async () => {
    const a = context('hi', 'typed');
    await send(a);
    await ended(a.turn_id);
    expect(systemOf(ai.requests.length - 1)).toContain('You are Mika. Be brief.');

    const notice: PersonaNotice = { name: 'Pirate', systemPrompt: 'You are {name}, a pirate. Arr.', ts: Date.now() };
    await cmd.set(ACTIVE_PERSONA_KEY, JSON.stringify(notice));
    // One subscriber (chat-ai) got the notice; the channel and the queue are separate connections,
    // so a turn taken at the same moment may still be the old persona's: ask until one is the pirate's.
    expect(await cmd.publish(Channels.persona, JSON.stringify(notice))).toBe(1);
    await waitFor(async () => {
      const b = context('who are you', 'typed');
      await send(b);
      await ended(b.turn_id);
      return systemOf(ai.requests.length - 1).includes('You are Pirate, a pirate. Arr.') || undefined;
    }, 'the pirate prompt', 10_000, 50);

    await worker.stop();
    worker = await startWorker('chat-ai', bus.url, { readyTimeoutMs: 20_000 });
    const c = context('again', 'typed');
    await send(c);
    await ended(c.turn_id);
    expect(systemOf(ai.requests.length - 1)).toContain('You are Pirate, a pirate. Arr.');
  });
});
