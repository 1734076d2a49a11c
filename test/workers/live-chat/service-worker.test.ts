/**
 * live-chat as a real worker process on the embedded bus, reading a real Twitch IRC stand-in
 * (test/helpers/chat/twitch-server.ts) over WebSocket. The test plays the dialog engine: it takes the
 * chat inputs off fav:dialog:inputs and publishes each turn's state and end on fav:events, so the
 * pace is the service's own. The rules themselves are tested with fake timers in service.test.ts.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels, Queues, newEventId } from '../../../src/shared/bus.js';
import { CHAT_ANSWERED_KEY, CHAT_STATUS_KEY, ChatChannels, type ChatConnectionStatus, type ChatFeedEvent } from '../../../src/shared/live-chat.js';
import type { TurnEvent, TurnState, UserInput } from '../../../src/shared/voice.js';
import { startTwitchServer, type TwitchServer } from '../../helpers/chat/twitch-server.js';
import { startWorker, type Worker } from '../../helpers/worker.js';
import { client, startBackend, waitFor, type Backend } from '../../main/supervisor/helpers.js';
import { QueueDrain, Tap, publishSettings } from '../dialog-engine/harness.js';

const SESSION = 'live';
const CHANNEL = 'streamer';
const INSTANCE = 'live-chat@test#0';

describe('live-chat worker on the embedded bus with the Twitch stand-in', () => {
  let bus: Backend;
  let redis: Redis;
  let twitch: TwitchServer;
  let feed: Tap;
  let inputs: QueueDrain;
  let worker: Worker | undefined;
  /** Inputs this test has played a turn for (each taken once). */
  let taken = 0;

  const turnEvent = (turnId: string, body: Record<string, unknown>) => {
    const ev = { session_id: SESSION, turn_id: turnId, task_id: turnId, event_id: newEventId(), ts: Date.now(), marks: {}, ...body } as TurnEvent;
    return redis.publish(Channels.events, JSON.stringify(ev));
  };
  const state = (turnId: string, s: TurnState) => turnEvent(turnId, { kind: 'turn_state', state: s });
  const endTurn = async (turnId: string) => {
    await state(turnId, 'speaking');
    await turnEvent(turnId, { kind: 'turn_end', reason: 'done' });
    await state(turnId, 'idle');
  };
  /** The next chat input, played as the dialog engine would: thinking at once, ended by `endTurn`. */
  const nextInput = async (timeoutMs = 20_000): Promise<UserInput> => {
    const n = taken;
    const got = await inputs.next(() => inputs.items.length > n, timeoutMs).then(() => inputs.items[n]!);
    taken++;
    const input = got.msg as unknown as UserInput;
    await state(input.turn_id, 'thinking');
    return input;
  };
  const feedEvents = () => feed.msgs<ChatFeedEvent>(ChatChannels.feed);
  const accepted = () => feedEvents().flatMap((e) => (e.type === 'message' && !e.dropped ? [e.message] : []));
  const waitAccepted = (ids: string[]) => waitFor(() => ids.every((id) => accepted().some((m) => m.id === id)), `accepted ${ids.join(', ')}`);
  const startLiveChat = () => startWorker('live-chat', bus.url, { instanceId: INSTANCE, env: { FAV_LOG_LEVEL: 'info' }, graceMs: 5000 });

  beforeAll(async () => {
    bus = await startBackend('embedded');
    redis = await client(bus.url);
    twitch = await startTwitchServer();
    feed = await Tap.open(bus.url, [ChatChannels.feed]);
    inputs = await QueueDrain.open(bus.url, Queues.dialogInputs);
    await publishSettings(redis, {
      persona: { name: 'Aria' },
      liveChat: {
        session: SESSION,
        connections: [{ id: 'tw', platform: 'twitch', channel: CHANNEL, endpoint: twitch.url }],
        arbiter: { minGapMs: 0, perUserMax: 100 },
      },
    });
    // The avatar is busy with a turn of its own: chat waits until it ends.
    await state('typed-0', 'thinking');
    worker = await startLiveChat();
    await twitch.waitForJoins(CHANNEL);
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await inputs?.close();
    await feed?.close();
    await twitch?.close();
    redis?.disconnect();
    await bus?.stop();
  }, 30_000);

  it('messages arrive -> one UserInput each on fav:dialog:inputs, paid first, then questions, then the rest', async () => {
    // The worker may have come up after our "thinking": say it again, now that it listens.
    await state('typed-0', 'thinking');
    const ids = [
      twitch.chat(CHANNEL, 'alice', 'just hanging out'),
      twitch.chat(CHANNEL, 'bob', 'what game is this?'),
      twitch.cheer(CHANNEL, 'carol', 500, 'Cheer500 love the stream'),
      twitch.chat(CHANNEL, 'dave', 'hello Aria'),
    ].map((id) => `twitch:${id}`);
    await waitAccepted(ids);
    expect(inputs.items).toHaveLength(0);
    await endTurn('typed-0');
    const got: UserInput[] = [];
    for (let i = 0; i < 4; i++) {
      const input = await nextInput();
      got.push(input);
      await endTurn(input.turn_id);
    }
    expect(got.map((i) => [i.author, i.chat!.reason])).toEqual([
      ['carol', 'paid'],
      ['bob', 'question'],
      ['dave', 'addressed'],
      ['alice', 'rest'],
    ]);
    expect(got.map((i) => i.chat!.message_ids[0])).toEqual([ids[2], ids[1], ids[3], ids[0]]);
    expect(got.every((i) => i.session_id === SESSION && i.source === 'chat')).toBe(true);
    expect(got[0]!.chat!.paid).toEqual({ amount: 500, currency: 'bits' });
    const picked = feedEvents().filter((e) => e.type === 'picked');
    expect(picked.map((e) => e.turn_id)).toEqual(got.map((i) => i.turn_id));
    expect(Number(await redis.hget(CHAT_ANSWERED_KEY, ids[2]!))).toBeGreaterThan(0);
  }, 90_000);

  it('a malformed packet is logged and skipped; the connection and the service stay up', async () => {
    twitch.pushRaw('{"not":"irc"}');
    twitch.pushRaw(Buffer.from([0, 1, 2, 3]));
    const id = `twitch:${twitch.chat(CHANNEL, 'erin', 'still there?')}`;
    const input = await nextInput();
    expect(input.chat!.message_ids).toEqual([id]);
    await endTurn(input.turn_id);
    const status = await waitFor(async () => {
      const raw = await redis.get(CHAT_STATUS_KEY);
      const list = raw ? (JSON.parse(raw) as ChatConnectionStatus[]) : [];
      return list.find((s) => s.id === 'tw' && s.malformed >= 1 && s.state === 'live');
    }, 'the malformed count in the status');
    expect(status).toMatchObject({ platform: 'twitch', channel: CHANNEL });
    expect(worker!.log).toContain('malformed chat packet skipped');
    expect(worker!.alive).toBe(true);
  }, 60_000);

  it('a ban from the studio (fav:chat:command) drops the author\'s waiting message and the later ones', async () => {
    await state('typed-2', 'thinking');
    const troll = { login: 'troll', id: '666', displayName: 'Troll' };
    const waiting = `twitch:${twitch.chat(CHANNEL, troll, 'first troll line')}`;
    await waitAccepted([waiting]);
    await redis.publish(ChatChannels.command, JSON.stringify({ action: 'ban', platform: 'twitch', user_id: '666', name: 'Troll' }));
    await waitFor(() => feedEvents().some((e) => e.type === 'dropped' && e.id === waiting && e.reason === 'banned_user'), 'the waiting message dropped');
    const later = `twitch:${twitch.chat(CHANNEL, troll, 'second troll line')}`;
    const fine = `twitch:${twitch.chat(CHANNEL, 'frank', 'hi all')}`;
    await waitAccepted([fine]);
    expect(feedEvents().find((e) => e.type === 'message' && e.message.id === later)).toMatchObject({ dropped: 'banned_user' });
    await endTurn('typed-2');
    const input = await nextInput();
    expect(input.chat!.message_ids).toEqual([fine]);
    await endTurn(input.turn_id);
  }, 60_000);

  it('killed -9 mid-stream, restarted: every accepted message is answered exactly once, a replay is ignored', async () => {
    await state('typed-1', 'thinking');
    const burst = Array.from({ length: 8 }, (_, i) => `twitch:${twitch.chat(CHANNEL, `viewer${i}`, `message number ${i}`)}`);
    await waitAccepted(burst);
    await endTurn('typed-1');
    const first = await nextInput();
    // Mid-stream: more chat on its way while the process dies in the middle of a chat turn.
    const during = [twitch.chat(CHANNEL, 'late1', 'are you ok?'), twitch.chat(CHANNEL, 'late2', 'hello?')].map((id) => `twitch:${id}`);
    worker!.kill('SIGKILL');
    await worker!.exited;
    worker = await startLiveChat();
    // The 7 of the burst still waiting (and whichever of `during` were accepted) came back from the bus.
    const restored = /"waiting":(\d+)[^\n]*restored the chat messages that were waiting/.exec(worker.log);
    expect(Number(restored?.[1])).toBeGreaterThanOrEqual(7);
    await twitch.waitForJoins(CHANNEL, 2);
    await endTurn(first.turn_id);
    // The platform sends an answered message again (a replay), then one more new message.
    const replayed = first.chat!.message_ids[0]!;
    twitch.chat(CHANNEL, 'viewer0', 'message number 0', { id: replayed.slice('twitch:'.length) });
    const last = `twitch:${twitch.chat(CHANNEL, 'zed', 'last one')}`;
    await waitAccepted([last]);
    const expected = new Set([...accepted().map((m) => m.id)].filter((id) => burst.includes(id) || during.includes(id) || id === last));
    const answered: string[] = [...first.chat!.message_ids];
    while (!answered.includes(last)) {
      const input = await nextInput();
      answered.push(...input.chat!.message_ids);
      await endTurn(input.turn_id);
    }
    // Nothing twice, nothing accepted lost (the burst was all accepted before the kill).
    expect(new Set(answered).size).toBe(answered.length);
    for (const id of burst) expect(answered).toContain(id);
    for (const id of expected) expect(answered).toContain(id);
    expect(feedEvents().filter((e) => e.type === 'message' && e.message.id === replayed)).toHaveLength(1);
    expect(answered.filter((id) => id === replayed)).toHaveLength(1);
  }, 120_000);
});
