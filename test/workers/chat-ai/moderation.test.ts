/**
 * chat-ai's output filter, as a real worker process on the embedded bus with the OpenAI stand-in:
 * a reply with a banned word (split over stream chunks, so no single token holds it) never puts
 * the word into a TtsRequest nor into any ai_responses message, with the `replace` action (the
 * word becomes the replacement) and the `skip` action (the sentence goes, the tts indexes stay
 * contiguous); a viewer banned live from the studio (fav:chat:command) is never named aloud after.
 * Settings come from CONFIG_KEY, read by chat-ai at start: each action gets its own worker.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_KEY, Channels, Queues, newEventId } from '../../../src/shared/bus.js';
import { ConfigSchema } from '../../../src/shared/config.js';
import { ChatChannels, type ChatCommand } from '../../../src/shared/live-chat.js';
import { nowMs, type AiResponse, type MemoryContext, type ReplyFinal, type TtsRequest } from '../../../src/shared/voice.js';
import { startOpenAiServer, type OpenAiServer } from '../../helpers/openai-server.js';
import { startWorker, type Worker } from '../../helpers/worker.js';
import { Recorder, client, startBackend, tempDataDir, waitFor, type Backend } from '../../main/supervisor/helpers.js';

let bus: Backend;
let ai: OpenAiServer;
let cmd: Redis;
let rec: Recorder;
let worker: Worker | undefined;

beforeAll(async () => {
  bus = await startBackend('embedded');
  ai = await startOpenAiServer({ reply: 'Hello.' });
  cmd = await client(bus.url);
  rec = await Recorder.open(bus.url, [Channels.aiResponses]);
});

afterAll(async () => {
  await worker?.stop();
  await rec?.close();
  cmd?.disconnect();
  await ai?.close();
  await bus?.stop();
});

beforeEach(async () => {
  await cmd.del(Queues.ttsRequests, Queues.replies);
});

/** (Re)starts chat-ai with these moderation settings. */
async function startWith(moderation: Record<string, unknown>): Promise<void> {
  await worker?.stop();
  const settings = ConfigSchema.parse({
    dataDir: tempDataDir(),
    llm: { preset: 'custom', baseUrl: ai.url, model: 'test-model' },
    persona: { name: 'Mika', systemPrompt: 'You are {name}.' },
    liveChat: { moderation },
  });
  await cmd.set(CONFIG_KEY, JSON.stringify(settings));
  worker = await startWorker('chat-ai', bus.url, { readyTimeoutMs: 20_000 });
}

function context(text: string): MemoryContext {
  const turn = `turn-${randomUUID()}`;
  const t = nowMs();
  return { session_id: 'sess-mod', turn_id: turn, task_id: turn, event_id: newEventId(), ts: Date.now(), marks: { turn_start: t, context: t }, source: 'chat', text, messages: [{ role: 'user', content: text }], memories: [] };
}

/** Runs one turn whose LLM reply streams as `pieces`; resolves with what chat-ai published for it. */
async function turn(pieces: string[]): Promise<{ tts: TtsRequest[]; responses: AiResponse[]; final: ReplyFinal }> {
  ai.setOptions({ reply: pieces });
  const c = context('hi');
  await cmd.lpush(Queues.chatContexts, JSON.stringify(c));
  const final = await waitFor(async () => {
    const raw = await cmd.lrange(Queues.replies, 0, -1);
    return raw.map((r) => JSON.parse(r) as ReplyFinal).find((m) => m.turn_id === c.turn_id);
  }, `end of ${c.turn_id}`, 10_000, 10);
  // The done response is published before the ReplyFinal is pushed, but on a channel: wait for it.
  const mine = () => (rec.msgs(Channels.aiResponses) as AiResponse[]).filter((m) => m.turn_id === c.turn_id);
  await waitFor(() => mine().some((r) => r.kind === 'done') || undefined, 'the done response', 5000, 10);
  const raw = await cmd.lrange(Queues.ttsRequests, 0, -1);
  const tts = raw.map((r) => JSON.parse(r) as TtsRequest).filter((m) => m.turn_id === c.turn_id).reverse();
  return { tts, responses: mine(), final };
}

/** Every text chat-ai published for the turn, anywhere. */
const allTexts = (r: Awaited<ReturnType<typeof turn>>) => [...r.tts.map((t) => t.text), ...r.responses.map((x) => ('text' in x ? x.text : '')), r.final.text];
const deltas = (r: Awaited<ReturnType<typeof turn>>) => r.responses.filter((x) => x.kind === 'delta').map((x) => x.text);

// The banned word arrives split over chunks: no single chunk (token) contains it.
const REPLY = ['Hello ', 'friend. ', 'That is ', 'fri', 'gging ', 'good! ', 'Bye ', 'now.'];

describe('chat-ai: output filter, replace', () => {
  beforeAll(() => startWith({ bannedWords: ['frigging'], outputAction: 'replace', replacement: '[beep]' }), 30_000);

  it('replaces the banned word in the TtsRequest, the sentence, the deltas, done and the ReplyFinal', async () => {
    const r = await turn(REPLY);
    expect(r.tts.map((t) => [t.index, t.text, t.last])).toEqual([
      [0, 'Hello friend.', false],
      [1, 'That is [beep] good!', false],
      [2, 'Bye now.', true],
    ]);
    for (const t of allTexts(r)) expect(t).not.toMatch(/fri\s*gging|gging/);
    // Deltas come per filtered sentence, spaced like the reply.
    expect(deltas(r)).toEqual(['Hello friend.', ' That is [beep] good!', ' Bye now.']);
    expect(r.responses.filter((x) => x.kind === 'sentence').map((x) => x.text)).toEqual(['Hello friend.', 'That is [beep] good!', 'Bye now.']);
    expect(r.final).toMatchObject({ status: 'done', text: 'Hello friend. That is [beep] good! Bye now.', sentences: 3 });
  });

  it('catches the word spaced out or full-width', async () => {
    const r = await turn(['It is f r i g g i n g ', 'cold. ', 'So ', 'ＦＲＩＧＧＩＮＧ cold.']);
    expect(r.tts.map((t) => t.text)).toEqual(['It is [beep] cold.', 'So [beep] cold.']);
  });

  it('a viewer banned live from the studio is never named aloud from then on', async () => {
    const thanks = ['Thank you, ', 'Evil ', 'Eve! ', 'Welcome ', 'to the stream.'];
    const before = await turn(thanks);
    expect(before.tts[0]!.text).toBe('Thank you, Evil Eve!');

    const ban: ChatCommand = { action: 'ban', platform: 'twitch', user_id: '1234', name: 'Evil Eve' };
    expect(await cmd.publish(ChatChannels.command, JSON.stringify(ban))).toBe(1);
    // chat-ai says when it has taken the command; the next context comes after it.
    await waitFor(() => worker!.log.includes('chat moderation command') || undefined, 'the ban taken', 5000, 10);

    const after = await turn(thanks);
    expect(after.tts.map((t) => t.text)).toEqual(['Thank you, [beep]!', 'Welcome to the stream.']);
    for (const t of allTexts(after)) expect(t).not.toMatch(/evil|eve\b/i);
  });
});

describe('chat-ai: output filter, skip', () => {
  beforeAll(() => startWith({ bannedWords: ['frigging'], outputAction: 'skip' }), 30_000);

  it('drops the sentence with the banned word; the tts indexes stay contiguous', async () => {
    const r = await turn(REPLY);
    expect(r.tts.map((t) => [t.index, t.text, t.last])).toEqual([
      [0, 'Hello friend.', false],
      [1, 'Bye now.', true],
    ]);
    for (const t of allTexts(r)) expect(t).not.toMatch(/gging|That is/);
    expect(deltas(r).join('')).toBe('Hello friend. Bye now.');
    expect(r.final).toMatchObject({ status: 'done', text: 'Hello friend. Bye now.', sentences: 2 });
  });

  it('a skipped last sentence still closes the turn for tts with an end marker', async () => {
    const r = await turn(['Hello ', 'friend. ', 'So ', 'frigging ', 'cold.']);
    expect(r.tts.map((t) => [t.index, t.text, t.last])).toEqual([
      [0, 'Hello friend.', false],
      [1, '', true],
    ]);
    expect(r.final).toMatchObject({ status: 'done', text: 'Hello friend.', sentences: 1 });
  });

  it('a reply skipped whole ends done, with nothing spoken and the end marker', async () => {
    const r = await turn(['Frigging ', 'cold.']);
    expect(r.tts.map((t) => [t.index, t.text, t.last])).toEqual([[0, '', true]]);
    expect(r.final).toMatchObject({ status: 'done', text: '', sentences: 0 });
    expect(deltas(r)).toEqual([]);
  });
});
