/**
 * chat-ai as a real worker process on the embedded bus, with the real `openai` SDK talking to the
 * local OpenAI stand-in: a streamed reply becomes deltas, emotion events, sentences and TtsRequests
 * in order; cancel aborts the HTTP request; every fault ends the turn with a clear error and the
 * service stays up. Also measures chat-ai's overhead up to the first TtsRequest.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_KEY, Channels, Queues, chatTurnKey, type ControlEvent, newEventId } from '../../../src/shared/bus.js';
import { ConfigSchema } from '../../../src/shared/config.js';
import { nowMs, type AiResponse, type MemoryContext, type ReplyFinal, type TtsRequest, type TurnEvent } from '../../../src/shared/voice.js';
import { startOpenAiServer, type OpenAiServer, type OpenAiServerOptions } from '../../helpers/openai-server.js';
import { startWorker, type Worker } from '../../helpers/worker.js';
import { Recorder, client, startBackend, tempDataDir, waitFor, type Backend } from '../../main/supervisor/helpers.js';

const FIRST_TOKEN_TIMEOUT_MS = 1500;
const IDLE_TIMEOUT_MS = 700;

let bus: Backend;
let ai: OpenAiServer;
let aiPort: number;
let worker: Worker;
let cmd: Redis;
let blocking: Redis;
let rec: Recorder;

const DEFAULTS: OpenAiServerOptions = { reply: 'Hello there.' };

beforeAll(async () => {
  bus = await startBackend('embedded');
  ai = await startOpenAiServer(DEFAULTS);
  aiPort = ai.port;
  cmd = await client(bus.url);
  blocking = await client(bus.url);
  const settings = ConfigSchema.parse({
    dataDir: tempDataDir(),
    llm: { preset: 'custom', baseUrl: ai.url, model: 'test-model', apiKey: 'sk-test-123', temperature: 0.3, maxTokens: 77, firstTokenTimeoutMs: FIRST_TOKEN_TIMEOUT_MS, idleTimeoutMs: IDLE_TIMEOUT_MS },
    persona: { name: 'Mika', systemPrompt: 'You are {name}. Be brief.' },
  });
  await cmd.set(CONFIG_KEY, JSON.stringify(settings));
  rec = await Recorder.open(bus.url, [Channels.aiResponses, Channels.events]);
  worker = await startWorker('chat-ai', bus.url, { readyTimeoutMs: 20_000 });
});

afterAll(async () => {
  await worker?.stop();
  await rec?.close();
  cmd?.disconnect();
  blocking?.disconnect();
  await ai?.close();
  await bus?.stop();
});

beforeEach(async () => {
  ai.setOptions({ ...RESET, ...DEFAULTS });
  await cmd.del(Queues.ttsRequests, Queues.replies);
});
const RESET: OpenAiServerOptions = {
  reply: undefined,
  firstTokenDelayMs: undefined,
  tokenIntervalMs: undefined,
  status: undefined,
  errorMessage: undefined,
  brokenStreamAfter: undefined,
  brokenStreamMode: undefined,
  garbage: undefined,
  hangAfterHeaders: undefined,
  requireApiKey: undefined,
  models: undefined,
};

function context(text: string, extra: Partial<MemoryContext> = {}): MemoryContext {
  const turn = `turn-${randomUUID()}`;
  const t = nowMs();
  return {
    session_id: 'sess-1',
    turn_id: turn,
    task_id: turn,
    event_id: newEventId(),
    ts: Date.now(),
    marks: { turn_start: t, context: t },
    source: 'typed',
    text,
    messages: [{ role: 'user', content: text }],
    memories: [],
    ...extra,
  };
}
const say = (c: MemoryContext) => cmd.lpush(Queues.chatContexts, JSON.stringify(c));
const control = (ev: Partial<ControlEvent> & { session_id: string }) => cmd.publish(Channels.control, JSON.stringify({ action: 'cancel', ts: Date.now(), ...ev }));
const responses = (turn: string) => (rec.msgs(Channels.aiResponses) as AiResponse[]).filter((m) => m.turn_id === turn);
const events = (turn: string) => (rec.msgs(Channels.events) as TurnEvent[]).filter((m) => m.turn_id === turn);
async function tts(turn: string): Promise<TtsRequest[]> {
  const raw = await cmd.lrange(Queues.ttsRequests, 0, -1);
  return raw
    .map((r) => JSON.parse(r) as TtsRequest)
    .filter((m) => m.turn_id === turn)
    .reverse(); // LPUSHed: the oldest is at the right
}
/** The turn's one ReplyFinal for memory (done, cancelled or error). */
async function final(turn: string): Promise<ReplyFinal | undefined> {
  const raw = await cmd.lrange(Queues.replies, 0, -1);
  const mine = raw.map((r) => JSON.parse(r) as ReplyFinal).filter((m) => m.turn_id === turn);
  expect(mine.length).toBeLessThanOrEqual(1);
  return mine[0];
}
const ended = (turn: string) => waitFor(() => final(turn), `end of ${turn}`, 10_000, 10);

describe('chat-ai: a streamed reply', () => {
  it('publishes deltas, emotion events, sentences and TtsRequests in order, then done', async () => {
    ai.setOptions({ reply: '[joy] Hello there! I am Mika, nice to meet you. [thinking] What shall we talk about today', tokenIntervalMs: 5 });
    const c = context('hi', { summary: 'They talked about cats.', memories: [{ id: 7, text: 'The viewer likes jazz.', subject: 'streamer', kind: 'preference', score: 0.8, updated_at: Date.now() }], messages: [{ role: 'user', content: 'earlier' }, { role: 'assistant', content: 'reply' }, { role: 'user', content: 'hi' }] });
    await say(c);
    const end = await ended(c.turn_id);
    expect(end.status).toBe('done');
    expect(end.parent_id).toBe(c.event_id);

    // The queue's final can be read before the last published responses reach this subscriber.
    await waitFor(() => responses(c.turn_id).some((r) => r.kind === 'done') || undefined, 'the done response', 5000, 10);
    const rs = responses(c.turn_id);
    const deltas = rs.filter((r) => r.kind === 'delta').map((r) => r.text).join('');
    expect(deltas).toBe('Hello there! I am Mika, nice to meet you. What shall we talk about today');
    expect(end.text).toBe(deltas);
    const sentences = rs.filter((r) => r.kind === 'sentence');
    expect(sentences.map((s) => [s.index, s.text, s.emotion])).toEqual([
      [0, 'Hello there!', 'joy'],
      [1, 'I am Mika, nice to meet you.', 'joy'],
      [2, 'What shall we talk about today', 'thinking'],
    ]);
    expect(end.sentences).toBe(3);
    // Deltas precede the sentence they complete; done comes last.
    expect(rs.findIndex((r) => r.kind === 'sentence')).toBeGreaterThan(rs.findIndex((r) => r.kind === 'delta'));
    expect(rs.at(-1)).toMatchObject({ kind: 'done', text: deltas, sentences: 3 });
    expect(events(c.turn_id).filter((e) => e.kind === 'emotion').map((e) => e.emotion)).toEqual(['joy', 'thinking']);

    const reqs = await tts(c.turn_id);
    expect(reqs.map((r) => [r.index, r.text, r.last, r.emotion])).toEqual([
      [0, 'Hello there!', false, 'joy'],
      [1, 'I am Mika, nice to meet you.', false, 'joy'],
      [2, 'What shall we talk about today', true, 'thinking'],
    ]);
    for (const r of reqs) {
      expect(r).toMatchObject({ session_id: 'sess-1', task_id: c.task_id });
      expect(r.marks.turn_start).toBe(c.marks.turn_start);
      // `context` was stamped by this process, `llm_request` by chat-ai's: clocks of two processes
      // differ by a few ms, so only marks of one process are ordered against each other.
      expect(r.marks.llm_request).toEqual(expect.any(Number));
      expect(r.marks.llm_first_token).toBeGreaterThanOrEqual(r.marks.llm_request!);
      expect(r.marks.sentence_0).toBeGreaterThanOrEqual(r.marks.llm_first_token!);
    }
    // Every message has its own id and names the context it came of.
    const ids = [...rs, ...reqs, end].map((m) => m.event_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...rs, ...reqs].every((m) => m.parent_id === c.event_id)).toBe(true);

    // What the LLM was asked.
    const body = ai.requests.at(-1)!.body as { model: string; stream: boolean; temperature: number; max_tokens: number; messages: Array<{ role: string; content: string }> };
    expect(body).toMatchObject({ model: 'test-model', stream: true, temperature: 0.3, max_tokens: 77 });
    expect(body.messages[0]!.role).toBe('system');
    expect(body.messages[0]!.content).toContain('You are Mika. Be brief.');
    expect(body.messages[0]!.content).toContain('They talked about cats.');
    expect(body.messages[0]!.content).toContain('The viewer likes jazz.');
    expect(body.messages.slice(1)).toEqual(c.messages);
    expect(ai.requests.at(-1)!.headers.authorization).toBe('Bearer sk-test-123');
  });

  it('ends a reply that stops on a sentence boundary with an empty end marker', async () => {
    ai.setOptions({ reply: '你好！今天过得怎么样？' });
    const c = context('你好');
    await say(c);
    expect((await ended(c.turn_id)).status).toBe('done');
    const reqs = await tts(c.turn_id);
    expect(reqs.map((r) => [r.index, r.text, r.last])).toEqual([
      [0, '你好！', false],
      [1, '今天过得怎么样？', false],
      [2, '', true],
    ]);
    expect(responses(c.turn_id).find((r) => r.kind === 'done')!.sentences).toBe(2);
  });

  it('pushes the first sentence before the rest of the reply has arrived', async () => {
    ai.setOptions({ reply: ['Right away!', ' And', ' then', ' more', ' words', ' later.'], tokenIntervalMs: 150 });
    const c = context('go');
    await say(c);
    const first = await waitFor(async () => (await tts(c.turn_id))[0], 'first sentence', 5000, 10);
    expect(first.text).toBe('Right away!');
    expect(responses(c.turn_id).some((r) => r.kind === 'done')).toBe(false);
    expect((await ended(c.turn_id)).status).toBe('done');
  });

  it('does not speak a leading <think> block of a reasoning model', async () => {
    ai.setOptions({ reply: '<think>\nThe viewer says hi. Greet back.\n</think>\n\n[joy] Hello there. Bye now.', tokenIntervalMs: 2 });
    const c = context('hi');
    await say(c);
    const end = await ended(c.turn_id);
    expect(end.text).toBe('Hello there. Bye now.');
    expect((await tts(c.turn_id)).map((r) => [r.text, r.last])).toEqual([['Hello there.', false], ['Bye now.', true]]);
    expect(responses(c.turn_id).filter((r) => r.kind === 'delta').map((r) => r.text).join('')).toBe('Hello there. Bye now.');
  });

  it('runs turns of two sessions side by side', async () => {
    ai.setOptions({ reply: (msgs) => `Answer to ${String(msgs.at(-1)!.content)}. Done now.`, firstTokenDelayMs: 300 });
    const a = context('alpha', { session_id: 'sess-a' });
    const b = context('beta', { session_id: 'sess-b' });
    const before = ai.requests.length;
    await Promise.all([say(a), say(b)]);
    const [ea, eb] = await Promise.all([ended(a.turn_id), ended(b.turn_id)]);
    // Side by side: each LLM request arrived before the other one ended (one after the other would not).
    const [ra, rb] = ai.requests.slice(before);
    expect(ra!.receivedAt).toBeLessThan(rb!.endedAt!);
    expect(rb!.receivedAt).toBeLessThan(ra!.endedAt!);
    expect(ea.text).toBe('Answer to alpha. Done now.');
    expect(eb.text).toBe('Answer to beta. Done now.');
  });
});

describe('chat-ai: a context taken again from the queue (its instance died)', () => {
  it('a turn that was cut mid-reply ends with worker_lost, without asking the LLM or speaking again', async () => {
    const c = context('cut off');
    await cmd.set(chatTurnKey(c.turn_id), 'running');
    const before = ai.requests.length;
    await say(c);
    const end = await ended(c.turn_id);
    expect(end).toMatchObject({ status: 'error', code: 'worker_lost' });
    expect(events(c.turn_id).filter((e) => e.kind === 'error')).toEqual([
      expect.objectContaining({ stage: 'llm', code: 'worker_lost', message: expect.stringMatching(/chat-ai restarted in the middle of this reply/) }),
    ]);
    // Marked ended right after the ReplyFinal, on the same connection.
    await waitFor(async () => (await cmd.get(chatTurnKey(c.turn_id))) === 'ended', `${c.turn_id} marked ended`, 5000, 5);
    // A later turn proves the queue moved on: by then the cut one had no LLM request, no speech.
    const next = context('next one');
    await say(next);
    expect((await ended(next.turn_id)).status).toBe('done');
    expect(ai.requests.slice(before)).toHaveLength(1);
    expect(await tts(c.turn_id)).toEqual([]);
    expect(responses(c.turn_id)).toEqual([]);
  });

  it('a finished turn is dropped', async () => {
    const c = context('already answered');
    await cmd.set(chatTurnKey(c.turn_id), 'ended');
    await say(c);
    const next = context('and now?');
    await say(next);
    expect((await ended(next.turn_id)).status).toBe('done');
    expect(await final(c.turn_id)).toBeUndefined();
    expect(events(c.turn_id)).toEqual([]);
  });

  it('a finished turn leaves its mark, so the same context again is not answered twice', async () => {
    const c = context('once only');
    await say(c);
    expect((await ended(c.turn_id)).status).toBe('done');
    // The mark is set after the ReplyFinal is pushed (on the same connection, a moment later).
    await waitFor(async () => (await cmd.get(chatTurnKey(c.turn_id))) === 'ended', `${c.turn_id} marked ended`, 5000, 5);
    const before = ai.requests.length;
    await say(c);
    const next = context('after the repeat');
    await say(next);
    expect((await ended(next.turn_id)).status).toBe('done');
    expect(ai.requests.length - before).toBe(1);
    expect(responses(c.turn_id).filter((r) => r.kind === 'done')).toHaveLength(1);
  });
});

describe('chat-ai: cancellation', () => {
  const LONG = 'First sentence here. ' + Array.from({ length: 40 }, (_, i) => `Word${i}`).join(' ') + '. The end.';

  it('cancel with turn_id aborts the HTTP request at once; no TtsRequest follows', async () => {
    const abortMs: number[] = [];
    const replyMs: number[] = [];
    // Round 0 warms the cancel path up (the first one pays for lazy compilation); rounds 1-5 are measured.
    for (let round = 0; round < 6; round++) {
      ai.setOptions({ reply: LONG, tokenIntervalMs: 40 });
      const c = context('tell me a story');
      const before = ai.requests.length;
      await say(c);
      await waitFor(async () => (await tts(c.turn_id)).length > 0, 'first sentence', 5000, 5);
      const req = ai.requests[before]!;
      const t0 = performance.now();
      const w0 = Date.now();
      await control({ session_id: c.session_id, turn_id: c.turn_id });
      const aborted = await ai.waitFor((r) => r === req && r.aborted, 2000);
      const end = await ended(c.turn_id);
      expect(end.status).toBe('cancelled');
      expect(end.text.startsWith('First sentence here.')).toBe(true);
      if (round > 0) {
        abortMs.push(aborted.endedAt! - t0);
        replyMs.push(end.ts - w0);
      }
      const n = (await tts(c.turn_id)).length;
      // The turn's mark turns 'ended' once its stream loop has returned, on the connection that
      // pushes its TtsRequests: whatever the turn pushed is on the queue by then.
      await waitFor(async () => (await cmd.get(chatTurnKey(c.turn_id))) === 'ended', `the end of ${c.turn_id}'s stream loop`, 5000, 5);
      const reqs = await tts(c.turn_id);
      expect(reqs.length).toBe(n);
      expect(reqs.some((r) => r.last)).toBe(false);
      expect(aborted.chunksSent).toBeLessThan(40);
      expect(responses(c.turn_id).filter((r) => r.kind === 'done')).toEqual([]);
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    console.log(
      `cancel published -> chat-ai's 'cancelled' written: ${replyMs.join(', ')} ms; -> LLM request closed at the server: ${abortMs.map((x) => x.toFixed(1)).join(', ')} ms (median ${med(abortMs).toFixed(1)})`,
    );
    // How fast is printed above; that the request was closed mid-stream is asserted per round (chunksSent).
  });

  it('a stop without turn_id cancels the session turn, and late contexts that started before it are dropped', async () => {
    ai.setOptions({ reply: LONG, tokenIntervalMs: 40 });
    const c = context('story');
    const before = ai.requests.length;
    await say(c);
    await ai.waitFor((r) => ai.requests.indexOf(r) >= before && r.chunksSent > 2, 3000);
    await control({ session_id: c.session_id, action: 'stop' });
    expect((await ended(c.turn_id)).status).toBe('cancelled');
    await ai.waitFor((r) => ai.requests.indexOf(r) >= before && r.aborted, 2000);
    // A context of that session whose turn started before the stop arrives late: dropped.
    const late = context('late', { marks: { turn_start: c.marks.turn_start! + 1 } });
    const count = ai.requests.length;
    await say(late);
    // A new turn after the stop runs; it was handed over after the late one, so by its end the late
    // one was handled: dropped, with no LLM request.
    ai.setOptions({ reply: 'Fresh start.', tokenIntervalMs: 0 });
    const fresh = context('again');
    await say(fresh);
    expect((await ended(fresh.turn_id)).status).toBe('done');
    expect(ai.requests.length).toBe(count + 1);
    expect(responses(late.turn_id)).toEqual([]);
  });

  it('a cancel that arrives before the context drops the turn', async () => {
    // A running turn of another session whose cancel follows c's on fav:control: once it is
    // cancelled, chat-ai has handled c's cancel (it handles control events in arrival order).
    ai.setOptions({ reply: LONG, tokenIntervalMs: 40 });
    const marker = context('marker', { session_id: 'sess-marker' });
    const before = ai.requests.length;
    await say(marker);
    await ai.waitFor((r) => ai.requests.indexOf(r) >= before && r.chunksSent > 1, 3000);
    const c = context('never');
    await control({ session_id: c.session_id, turn_id: c.turn_id });
    await control({ session_id: marker.session_id, turn_id: marker.turn_id });
    expect((await ended(marker.turn_id)).status).toBe('cancelled');
    const count = ai.requests.length;
    await say(c);
    // A turn handed over after it ends first: by then the cancelled one was handled, with no LLM request.
    ai.setOptions({ reply: 'After.', tokenIntervalMs: 0 });
    const after = context('after');
    await say(after);
    expect((await ended(after.turn_id)).status).toBe('done');
    expect(ai.requests.length).toBe(count + 1);
    expect(responses(c.turn_id)).toEqual([]);
  });

  it('a newer turn of the same session cancels the older one', async () => {
    ai.setOptions({ reply: LONG, tokenIntervalMs: 40 });
    const old = context('first', { session_id: 'sess-x' });
    const before = ai.requests.length;
    await say(old);
    await ai.waitFor((r) => ai.requests.indexOf(r) >= before && r.chunksSent > 1, 3000);
    ai.setOptions({ reply: 'Second answer.', tokenIntervalMs: 0 });
    const next = context('second', { session_id: 'sess-x' });
    await say(next);
    expect((await ended(old.turn_id)).status).toBe('cancelled');
    expect((await ended(next.turn_id)).text).toBe('Second answer.');
    expect(ai.requests[before]!.aborted).toBe(true);
  });
});

describe('chat-ai: faults end the turn with a clear error, and the service stays up', () => {
  async function expectFailure(opts: OpenAiServerOptions, code: string, message: RegExp): Promise<{ tookMs: number; error: TurnEvent }> {
    ai.setOptions(opts);
    const c = context('hello?');
    const t0 = performance.now();
    await say(c);
    const end = await ended(c.turn_id);
    const tookMs = performance.now() - t0;
    expect(end).toMatchObject({ status: 'error', code });
    // The failure's one report, for the dialog engine and the clients.
    const err = await waitFor(() => events(c.turn_id).find((e) => e.kind === 'error'), 'error event', 2000, 10);
    expect(err).toMatchObject({ stage: 'llm', code });
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('sk-test-123');
    const reqs = await waitFor(async () => ((await tts(c.turn_id)).some((r) => r.last) ? tts(c.turn_id) : undefined), 'end marker', 2000, 10);
    expect(reqs.at(-1)).toMatchObject({ text: '', last: true });
    // Still serving.
    ai.setOptions({ ...RESET, ...DEFAULTS });
    const ok = context('still there?');
    await say(ok);
    expect((await ended(ok.turn_id)).status).toBe('done');
    return { tookMs, error: err };
  }

  it('401: llm_auth, names FAV_LLM_API_KEY', async () => {
    await expectFailure({ requireApiKey: 'sk-other' }, 'llm_auth', /refused the API key \(HTTP 401.*FAV_LLM_API_KEY/);
  });

  it('403: llm_auth', async () => {
    await expectFailure({ status: 403 }, 'llm_auth', /HTTP 403/);
  });

  it('404 unknown model: names the model and FAV_LLM_MODEL', async () => {
    await expectFailure({ models: ['llama3.2'] }, 'llm_failed', /no model "test-model".*FAV_LLM_MODEL/);
  });

  it('500 and 503: llm_failed with the status and the server message', async () => {
    await expectFailure({ status: 500, errorMessage: 'CUDA out of memory' }, 'llm_failed', /HTTP 500: CUDA out of memory/);
    await expectFailure({ status: 503 }, 'llm_failed', /HTTP 503/);
  });

  it('no first token in time: llm_timeout after firstTokenTimeoutMs', async () => {
    const { tookMs } = await expectFailure({ firstTokenDelayMs: 5000 }, 'llm_timeout', /no reply from the LLM .* within 1\.5 s/);
    expect(tookMs).toBeGreaterThanOrEqual(FIRST_TOKEN_TIMEOUT_MS - 50);
    expect(tookMs).toBeLessThan(FIRST_TOKEN_TIMEOUT_MS + 500);
    expect(await ai.waitFor((r) => r.aborted && r.chunksSent === 0, 2000)).toBeTruthy();
  });

  it('headers then silence: llm_timeout (the SDK timeout does not cover the body)', async () => {
    await expectFailure({ hangAfterHeaders: true }, 'llm_timeout', /within 1\.5 s/);
  });

  it('a stream that stalls mid-reply: llm_timeout after idleTimeoutMs', async () => {
    const { tookMs } = await expectFailure({ reply: ['Hello', ' there.', ' And'], tokenIntervalMs: 5000, firstTokenDelayMs: 0 }, 'llm_timeout', /stopped sending for 0\.7 s/);
    expect(tookMs).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 50);
    expect(tookMs).toBeLessThan(FIRST_TOKEN_TIMEOUT_MS);
  });

  it('a stream with invalid JSON: llm_bad_stream', async () => {
    await expectFailure({ reply: 'One two three. Four five.', brokenStreamAfter: 4 }, 'llm_bad_stream', /not valid JSON/);
  });

  it('a connection dropped mid-reply: llm_bad_stream', async () => {
    await expectFailure({ reply: 'One two three. Four five.', brokenStreamAfter: 4, brokenStreamMode: 'destroy' }, 'llm_bad_stream', /broke off the reply/);
  });

  it('a 200 that is not an event stream (a web page): llm_bad_stream naming the base URL', async () => {
    await expectFailure({ garbage: true }, 'llm_bad_stream', /answered with text\/html, not an event stream: FAV_LLM_BASE_URL/);
  });

  it('an empty reply: llm_failed', async () => {
    await expectFailure({ reply: [] }, 'llm_failed', /empty reply/);
    await expectFailure({ reply: ['[joy]', ' '] }, 'llm_failed', /empty reply/);
  });

  it('an error object inside the stream: llm_failed with its message', async () => {
    await expectFailure({ garbage: 'data: {"error":{"message":"model crashed","type":"server_error"}}\n\n', garbageContentType: 'text/event-stream' }, 'llm_failed', /model crashed/);
  });

  it('the server is down (ECONNREFUSED): llm_unreachable, says to start it or set FAV_LLM_BASE_URL', async () => {
    await ai.close();
    try {
      const c = context('anyone?');
      await say(c);
      const end = await ended(c.turn_id);
      expect(end).toMatchObject({ status: 'error', code: 'llm_unreachable' });
      const err = await waitFor(() => events(c.turn_id).find((e) => e.kind === 'error'), 'error event', 2000, 10);
      expect(err).toMatchObject({ code: 'llm_unreachable', message: `cannot reach the LLM at http://127.0.0.1:${aiPort}/v1 (ECONNREFUSED): is the server running? Start it, or set FAV_LLM_BASE_URL` });
    } finally {
      ai = await startOpenAiServer({ ...DEFAULTS, port: aiPort });
    }
    const ok = context('back?');
    await say(ok);
    expect((await ended(ok.turn_id)).status).toBe('done');
  });
});

describe('chat-ai: overhead', () => {
  it('MemoryContext -> first TtsRequest with a 200 ms first-token server: the first sentence goes to tts while the reply still streams', async () => {
    const FIRST = 200;
    // 100 ms between the later tokens: the stream ends ~400 ms after the first sentence was complete.
    ai.setOptions({ reply: ['Sure thing!', ' Here', ' is', ' more', ' text.'], firstTokenDelayMs: FIRST, tokenIntervalMs: 100 });
    const epoch = (perfNow: number) => performance.timeOrigin + perfNow;
    const rows: Record<string, number>[] = [];
    for (let i = 0; i < 12; i++) {
      await cmd.del(Queues.ttsRequests);
      const c = context(`q${i}`, { session_id: `perf-${i}` });
      const before = ai.requests.length;
      const sent = nowMs();
      await say(c);
      const got = await blocking.brpop(Queues.ttsRequests, 5);
      const received = nowMs();
      const req = JSON.parse(got![1]) as TtsRequest;
      expect(req.text).toBe('Sure thing!');
      const http = ai.requests[before]!;
      // Streaming, not a reply read whole: the first sentence was popped before the server had sent the rest.
      expect(http.endedAt === undefined || epoch(http.endedAt) > received).toBe(true);
      const m = req.marks;
      rows.push({
        total: received - sent - FIRST,
        'bus+parse+prompt': m.llm_request! - sent,
        'sdk request': epoch(http.receivedAt) - m.llm_request!,
        'server timer slop': epoch(http.firstByteAt!) - epoch(http.receivedAt) - FIRST,
        'sse to first token': m.llm_first_token! - epoch(http.firstByteAt!),
        'split+push': m.sentence_0! - m.llm_first_token!,
        'lpush to brpop': received - m.sentence_0!,
      });
      await ended(c.turn_id);
    }
    rows.shift(); // the first turn pays for the HTTP connection set-up
    const med = (k: string) => rows.map((r) => r[k]!).sort((a, b) => a - b)[rows.length >> 1]!;
    const totals = rows.map((r) => r.total!).sort((a, b) => a - b);
    const p95 = totals[Math.min(totals.length - 1, Math.floor(0.95 * totals.length))]!;
    console.log(
      `chat-ai: context published -> first TtsRequest popped, minus the server's 200 ms: median ${med('total').toFixed(1)} ms, p95 ${p95.toFixed(1)} ms. Medians: ` +
        Object.keys(rows[0]!)
          .filter((k) => k !== 'total')
          .map((k) => `${k} ${med(k).toFixed(2)}`)
          .join(', '),
    );
    // The figures are printed (and bench:pipeline measures the whole path): a shared machine's
    // scheduling is no behaviour to assert.
  });
});
