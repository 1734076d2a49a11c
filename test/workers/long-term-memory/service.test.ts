/**
 * The long-term-memory service as a real process on a real bus (redis-server and the embedded one),
 * with the on-device embedder (USE-lite) and the local OpenAI-compatible stand-in as the LLM:
 *   - the write path survives a killed worker: a turn whose extraction was under way when the
 *     worker died (-9) is extracted by its next incarnation and stored exactly once;
 *   - recall over the bus: by meaning, in the speaker's scope (a viewer's memory never reaches
 *     another viewer), with the engine named and the mode 'vector';
 *   - an older version's raw lines (fav:ltm:writes) are kept, not lost.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIVE_PERSONA_KEY, Channels, Streams, streamGroup, type PersonaNotice } from '../../../src/shared/bus.js';
import { LtmAdminReply, LtmChannels, recallScope, viewerSubject, type LtmAdminRequest, type LtmTurnInput, type MemoryRecord } from '../../../src/shared/long-term.js';
import { RecallReply, type LtmWrite, type RecallRequest } from '../../../src/shared/voice.js';
import { startOpenAiServer, type ChatMessageIn, type OpenAiServer } from '../../helpers/openai-server.js';
import { BACKENDS, client, startBackend, tempDataDir, waitFor, type Backend } from '../../main/supervisor/helpers.js';
import { publishSettings, startWorker, type WorkerHandle } from '../memory/helpers.js';

const PERSONA = 'Aria';
const INSTANCE = 'long-term-memory@svc-test';
const GROUP = streamGroup('long-term-memory');

const text = (m: ChatMessageIn | undefined): string => (typeof m?.content === 'string' ? m.content : '');

/** The stand-in answers the extraction prompt with one memory per turn, taken from what was said. */
function llm(messages: ChatMessageIn[]): string {
  const system = text(messages[0]);
  const user = text(messages.at(-1));
  if (system.startsWith('You keep the long-term memory')) {
    if (user.includes('Rex')) return JSON.stringify({ memories: [{ text: 'Has a dog called Rex', subject: 'speaker', kind: 'fact', importance: 0.8 }] });
    if (user.includes('Lisbon')) return JSON.stringify({ memories: [{ text: 'Lives in Lisbon, Portugal', subject: 'speaker', kind: 'fact', importance: 0.8 }] });
    return JSON.stringify({ memories: [] });
  }
  return JSON.stringify({ actions: [{ op: 'ADD' }] });
}

describe.each(BACKENDS)('long-term-memory service (%s)', (kind) => {
  let bus: Backend;
  let ai: OpenAiServer;
  let redis: Redis;
  let sub: Redis;
  let worker: WorkerHandle | undefined;
  const replies = new Map<string, (raw: string) => void>();

  const ask = async (channel: string, body: Record<string, unknown>): Promise<string> => {
    const request_id = `t-${randomUUID()}`;
    const answered = new Promise<string>((resolve) => replies.set(`${channel}:${request_id}`, resolve));
    expect(await redis.publish(channel, JSON.stringify({ ...body, request_id, ts: Date.now() }))).toBe(1);
    return answered;
  };
  const admin = async (req: Omit<LtmAdminRequest, 'request_id' | 'ts'> & Record<string, unknown>) => LtmAdminReply.parse(JSON.parse(await ask(LtmChannels.admin, req)));
  const recall = async (req: Omit<RecallRequest, 'request_id' | 'ts'>) => RecallReply.parse(JSON.parse(await ask(Channels.ltmRecall, req)));
  const memories = async (): Promise<MemoryRecord[]> => (await admin({ op: 'list', persona: PERSONA, limit: 500 })).memories ?? [];
  const turn = (user: string, speaker = 'streamer'): LtmTurnInput => ({
    session_id: 's1',
    turn_id: `turn-${randomUUID()}`,
    persona: PERSONA,
    speaker,
    source: speaker === 'streamer' ? 'typed' : 'chat',
    user,
    assistant: 'How lovely!',
    status: 'done',
    ts: Date.now(),
  });
  const start = async () => {
    worker = await startWorker(bus.url, 'long-term-memory', INSTANCE);
    // Recall by meaning only once the embedder is loaded (and warmed up).
    await waitFor(async () => (await admin({ op: 'status' })).status?.engine_state === 'ready' || undefined, 'the embedder', 60_000, 100);
  };

  beforeAll(async () => {
    [bus, ai] = await Promise.all([startBackend(kind), startOpenAiServer({ reply: llm })]);
    redis = await client(bus.url);
    sub = await client(bus.url);
    sub.on('pmessage', (_p: string, channel: string, raw: string) => replies.get(channel)?.(raw));
    await sub.psubscribe(`${LtmChannels.admin}:t-*`, `${Channels.ltmRecall}:t-*`);
    await publishSettings(redis, {
      dataDir: tempDataDir(),
      persona: { name: PERSONA },
      llm: { preset: 'custom', baseUrl: ai.url, model: 'test-model' },
      // A generous recall deadline: these tests are about what is recalled. On a loaded 2-core CI
      // machine the query's on-device embedding can miss the default 120 ms, and the answer is then
      // keyword-only (memory's deadline has tests of its own: test/workers/memory).
      memory: { extraction: 'llm', embedder: { engine: 'use-lite' }, recallTimeoutMs: 3000 },
    });
    await start();
  }, 90_000);

  afterAll(async () => {
    await worker?.stop();
    sub?.disconnect();
    redis?.disconnect();
    await ai?.close();
    await bus?.stop();
  }, 30_000);

  it('a turn whose extraction was under way when the worker was killed is stored once by the next one', async () => {
    // The LLM takes the extraction request and never answers: the entry is delivered, not acked.
    ai.setOptions({ hangAfterHeaders: true });
    const asked = ai.requests.length;
    await redis.xadd(Streams.longTermTurns, '*', 'msg', JSON.stringify(turn('My dog is called Rex, he is a beagle.')));
    await waitFor(() => ai.requests.slice(asked).some((r) => text((r.body?.messages as ChatMessageIn[])?.[0]).startsWith('You keep the long-term memory')) || undefined, 'the extraction request', 30_000, 20);
    worker!.kill('SIGKILL');
    await worker!.exited;
    const [, , , pendingAtDeath] = (await redis.xpending(Streams.longTermTurns, GROUP)) as [number, string, string, Array<[string, string]>];
    expect(pendingAtDeath).toEqual([[INSTANCE, '1']]);

    ai.setOptions({ hangAfterHeaders: false });
    await start();
    const rex = await waitFor(async () => (await memories()).filter((m) => m.text === 'Has a dog called Rex'), 'the memory', 30_000, 100).then((l) => (l.length ? l : undefined));
    expect(rex).toHaveLength(1);
    expect(rex![0]).toMatchObject({ subject: 'streamer', kind: 'fact', persona: PERSONA });
    expect(((await redis.xpending(Streams.longTermTurns, GROUP)) as [number])[0]).toBe(0);
  }, 120_000);

  it('recalls by meaning over the bus, in the speaker scope only', async () => {
    const viewer = viewerSubject('twitch', '4242');
    await redis.xadd(Streams.longTermTurns, '*', 'msg', JSON.stringify(turn('I moved to Lisbon last year', viewer)));
    await waitFor(async () => (await memories()).some((m) => m.subject === viewer) || undefined, "the viewer's memory", 30_000, 100);

    // "puppy" / "pet" share no word with "Has a dog called Rex": only the vector finds it.
    const r = await recall({ session_id: 's2', query: "What's my puppy's name?", k: 3, persona: PERSONA, scope: recallScope('streamer') });
    expect(r.mode).toBe('vector');
    expect(r.engine).toMatch(/^use-lite:/);
    expect(r.items[0]?.text).toBe('Has a dog called Rex');

    // The viewer's own memory for that viewer; never for another viewer.
    const own = await recall({ session_id: 's3', query: 'Which city do I live in?', k: 3, persona: PERSONA, scope: recallScope(viewer) });
    expect(own.items.map((i) => i.text)).toContain('Lives in Lisbon, Portugal');
    const other = await recall({ session_id: 's4', query: 'Which city do I live in?', k: 3, persona: PERSONA, scope: recallScope(viewerSubject('twitch', '999')) });
    expect(other.items.map((i) => i.subject)).not.toContain(viewer);
    // Another persona has memories of its own: none of these.
    const elsewhere = await recall({ session_id: 's5', query: "What's my puppy's name?", k: 3, persona: 'Someone Else', scope: recallScope('streamer') });
    expect(elsewhere.items).toEqual([]);
  }, 60_000);

  it("keeps an older version's raw lines from fav:ltm:writes, for the persona in use", async () => {
    // The studio switched persona: the key holds the switch's notice (JSON), not a bare name.
    const notice: PersonaNotice = { name: 'Mika', systemPrompt: 'You are Mika.', ts: Date.now() };
    await redis.set(ACTIVE_PERSONA_KEY, JSON.stringify(notice));
    try {
      const line: LtmWrite = { session_id: 'old', turn_id: 'old-1', text: 'I collect vintage film cameras from the seventies', kind: 'user', ts: Date.now() };
      await redis.xadd(Streams.longTermWrites, '*', 'msg', JSON.stringify(line));
      const mika = async () => (await admin({ op: 'list', limit: 500 })).memories ?? [];
      const kept = await waitFor(async () => (await mika()).find((m) => m.text === line.text), 'the old line', 30_000, 100);
      expect(kept).toMatchObject({ subject: 'streamer', kind: 'utterance', persona: 'Mika' });
    } finally {
      await redis.del(ACTIVE_PERSONA_KEY);
    }
  }, 60_000);
});
