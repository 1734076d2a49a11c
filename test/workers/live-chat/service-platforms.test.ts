/**
 * One live-chat worker reading the three platform stand-ins at once (Twitch IRC over WebSocket with a
 * token, YouTube InnerTube polling, the Bilibili danmaku WebSocket), as a streamer would connect them
 * from the studio: the picks cross platforms in priority order (paid by value across currencies), and
 * the reply to a Twitch message is posted back into the Twitch chat. The test plays the dialog engine
 * and chat-ai (turn events, the reply's ai_responses 'done').
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels, Queues, newEventId } from '../../../src/shared/bus.js';
import { CHAT_STATUS_KEY, ChatChannels, type ChatConnectionStatus, type ChatFeedEvent } from '../../../src/shared/live-chat.js';
import type { AiResponse, TurnEvent, TurnState, UserInput } from '../../../src/shared/voice.js';
import { startBilibiliServer, type BilibiliServer } from '../../helpers/chat/bilibili-server.js';
import { startTwitchServer, type TwitchServer } from '../../helpers/chat/twitch-server.js';
import { startYouTubeServer, type YouTubeServer } from '../../helpers/chat/youtube-server.js';
import { startWorker, type Worker } from '../../helpers/worker.js';
import { client, startBackend, waitFor, type Backend } from '../../main/supervisor/helpers.js';
import { QueueDrain, Tap, publishSettings } from '../dialog-engine/harness.js';

const SESSION = 'live';
const CHANNEL = 'streamer';

describe('live-chat worker with Twitch, YouTube and Bilibili at once', () => {
  let bus: Backend;
  let redis: Redis;
  let twitch: TwitchServer;
  let youtube: YouTubeServer;
  let bili: BilibiliServer;
  let feed: Tap;
  let inputs: QueueDrain;
  let worker: Worker | undefined;

  const turnEvent = (turnId: string, body: Record<string, unknown>) => {
    const ev = { session_id: SESSION, turn_id: turnId, task_id: turnId, event_id: newEventId(), ts: Date.now(), marks: {}, ...body } as TurnEvent;
    return redis.publish(Channels.events, JSON.stringify(ev));
  };
  const state = (turnId: string, s: TurnState) => turnEvent(turnId, { kind: 'turn_state', state: s });
  const endTurn = async (turnId: string) => {
    await turnEvent(turnId, { kind: 'turn_end', reason: 'done' });
    await state(turnId, 'idle');
  };
  const accepted = () => feed.msgs<ChatFeedEvent>(ChatChannels.feed).flatMap((e) => (e.type === 'message' && !e.dropped ? [e.message] : []));
  const statuses = async () => JSON.parse((await redis.get(CHAT_STATUS_KEY)) ?? '[]') as ChatConnectionStatus[];

  beforeAll(async () => {
    bus = await startBackend('embedded');
    redis = await client(bus.url);
    [twitch, youtube, bili] = await Promise.all([startTwitchServer({ tokens: { 'bot-token': 'avatarbot' } }), startYouTubeServer({ timeoutMs: 200 }), startBilibiliServer()]);
    feed = await Tap.open(bus.url, [ChatChannels.feed]);
    inputs = await QueueDrain.open(bus.url, Queues.dialogInputs);
    await publishSettings(redis, {
      persona: { name: 'Aria' },
      liveChat: {
        session: SESSION,
        connections: [
          { id: 'tw', platform: 'twitch', channel: CHANNEL, endpoint: twitch.url, token: 'bot-token', username: 'avatarbot', postReplies: true },
          youtube.connection('yt'),
          bili.connection('bl'),
        ],
        arbiter: { minGapMs: 0, thanksBatchMs: 0 },
      },
    });
    worker = await startWorker('live-chat', bus.url, { env: { FAV_LOG_LEVEL: 'info' }, graceMs: 5000 });
    await waitFor(async () => (await statuses()).length === 3 && (await statuses()).every((s) => s.state === 'live'), 'all three connections live', 30_000);
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await inputs?.close();
    await feed?.close();
    await Promise.all([twitch?.close(), youtube?.close(), bili?.close()]);
    redis?.disconnect();
    await bus?.stop();
  }, 30_000);

  it('picks across platforms in priority order and posts the Twitch answer back into the Twitch chat', async () => {
    expect((await statuses()).map((s) => [s.id, s.platform, s.can_post])).toEqual([
      ['tw', 'twitch', true],
      ['yt', 'youtube', false],
      ['bl', 'bilibili', false],
    ]);
    await state('typed-0', 'thinking');
    twitch.chat(CHANNEL, 'tina', 'greetings from twitch');
    youtube.pushSuperChat({ name: '@yuki' }, '$20.00', 'love from youtube');
    bili.danmaku({ uid: 42, name: '小明', text: '主播你好吗' });
    bili.superChat({ id: 7, uid: 43, name: '小红', message: '加油', price: 30 });
    await waitFor(() => accepted().length >= 4, 'four messages accepted', 30_000);
    await endTurn('typed-0');
    const got: UserInput[] = [];
    for (let i = 0; i < 4; i++) {
      const item = await inputs.next(() => inputs.items.length > i, 20_000).then(() => inputs.items[i]!);
      const input = item.msg as unknown as UserInput;
      got.push(input);
      await state(input.turn_id, 'thinking');
      if (input.chat!.platform === 'twitch') {
        const reply: AiResponse = { ...input, event_id: newEventId(), kind: 'done', text: 'Hi Tina, welcome to the stream!', sentences: 1 };
        await redis.publish(Channels.aiResponses, JSON.stringify(reply));
        const line = await twitch.waitForLine(/^PRIVMSG #streamer :/);
        expect(line.line).toBe('PRIVMSG #streamer :Hi Tina, welcome to the stream!');
      }
      await endTurn(input.turn_id);
    }
    expect(got.map((i) => [i.chat!.platform, i.chat!.reason, i.chat!.kind])).toEqual([
      ['youtube', 'paid', 'paid'], // 20 USD
      ['bilibili', 'paid', 'paid'], // 30 CNY, about 4 USD
      ['bilibili', 'question', 'message'],
      ['twitch', 'rest', 'message'],
    ]);
    expect(got[0]!.chat!.paid).toEqual({ amount: 20, currency: 'USD' });
    expect(got[1]!.chat!.paid).toEqual({ amount: 30, currency: 'CNY' });
    expect(got.map((i) => i.text)).toEqual(['love from youtube (sent $20.00)', expect.stringContaining('加油'), '主播你好吗', 'greetings from twitch']);
    // Each connection counted what it received (the key is refreshed with every heartbeat).
    const counts = async () => JSON.stringify(Object.fromEntries((await statuses()).map((s) => [s.id, s.messages])));
    await waitFor(async () => (await counts()) === JSON.stringify({ tw: 1, yt: 1, bl: 2 }), 'the message counts in the status', 10_000);
  }, 90_000);
});
