/**
 * The live-chat core's rules end to end with fake timers: the real arbiter, inbound filter and pace,
 * test sources for the platforms, an in-memory bus (service-harness.ts). The worker process on the
 * embedded bus with a real platform stand-in is service-worker.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UserInput } from '../../../src/shared/voice.js';
import type { LiveChatService } from '../../../src/workers/live-chat/service.js';
import { MemoryBus, chat, liveChatSettings, makeService, runTurn, testRegistry, turnEvent, turnState, type TestSource } from './service-harness.js';

let bus: MemoryBus;
let svc: LiveChatService;
let src: TestSource;
let reg: ReturnType<typeof testRegistry>;

const settings = liveChatSettings({ arbiter: { minGapMs: 1000, thanksBatchMs: 500 }, moderation: { bannedWords: ['badword'] } });

async function start(s = settings, r = testRegistry()) {
  reg = r;
  const made = makeService(bus, s, reg.factory);
  svc = made.service;
  await svc.start();
  src = reg.sources.get('tw')!;
  return made;
}
const texts = () => bus.inputs.map((i) => i.text);
/** Lets every pending timer and promise run up to `ms` from now. */
const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  bus = new MemoryBus();
});
afterEach(async () => {
  await svc?.stop();
  vi.useRealTimers();
});

describe('LiveChatService', () => {
  it('answers in priority order, one UserInput per pick, at the pace of the session', async () => {
    await start();
    svc.onTurnEvent(turnState('thinking', 'typed-1')); // the avatar is busy: chat waits
    src.sink.message(chat('just chatting'));
    src.sink.message(chat('what game is this?'));
    src.sink.message(chat('hello aria'));
    src.sink.message(chat('', { kind: 'gift', gift: { name: 'Rocket', count: 2 }, author: { name: 'Gina' } }));
    src.sink.message(chat('take my money', { kind: 'paid', paid: { amount: 5, currency: 'USD', display: '$5.00' }, author: { name: 'Pat' } }));
    await advance(10_000);
    expect(bus.inputs).toEqual([]);
    svc.onTurnEvent(turnEvent('turn_end', { turn_id: 'typed-1', reason: 'done' }));
    svc.onTurnEvent(turnState('idle', 'typed-1'));
    await advance(999);
    expect(bus.inputs).toEqual([]); // the min gap after the typed turn
    await advance(1);
    expect(texts()).toEqual(['take my money (sent $5.00)']);
    for (let i = 0; i < 4; i++) {
      runTurn(svc, bus.inputs.at(-1)!);
      await advance(1000);
    }
    expect(texts()).toEqual(['take my money (sent $5.00)', 'Thank these viewers for their support: Gina sent 2 × Rocket.', 'what game is this?', 'hello aria', 'just chatting']);
    for (const i of bus.inputs) expect(UserInput.parse(i)).toEqual(i);
    expect(bus.inputs[0]).toMatchObject({ session_id: 'live', source: 'chat', author: 'Pat', chat: { reason: 'paid', kind: 'paid', paid: { amount: 5, currency: 'USD' } } });
    expect(bus.inputs.map((i) => i.chat!.reason)).toEqual(['paid', 'thanks', 'question', 'addressed', 'rest']);
    // The feed names each pick with the turn that answers it.
    const picked = bus.feed.filter((e) => e.type === 'picked');
    expect(picked.map((e) => e.turn_id)).toEqual(bus.inputs.map((i) => i.turn_id));
    // Never twice: each push went in the same commit as its answered ids.
    for (const c of bus.commits.filter((x) => x.push)) expect(c.answered!.ids).toEqual(c.push!.chat!.message_ids);
    // The waiting list is written as changes (never whole while all goes well), and ends empty.
    expect(bus.commits.some((c) => c.rewrite)).toBe(false);
    expect(bus.waiting).toEqual([]);
    // Nothing accepted is announced before it is saved: the commit saying "accepted" keeps it in the
    // waiting list, or answers it.
    for (const c of bus.commits) {
      for (const e of c.feed) {
        if (e.type !== 'message' || e.dropped) continue;
        const kept = [...(c.keep ?? []), ...(c.rewrite ?? [])].some((m) => m.id === e.message.id) || c.answered?.ids.includes(e.message.id);
        expect(kept, e.message.text).toBe(true);
      }
    }
  });

  it('never talks over the mic: speech holds chat back until the spoken turn is over and the gap has passed', async () => {
    await start();
    src.sink.message(chat('anyone there?'));
    svc.onTurnEvent(turnEvent('speech_start'));
    src.sink.message(chat('hello?'));
    await advance(30_000);
    expect(bus.inputs).toEqual([]);
    svc.onTurnEvent(turnState('listening'));
    svc.onTurnEvent(turnEvent('speech_end', { audio_ms: 900 }));
    svc.onTurnEvent(turnState('thinking', 'mic-1'));
    await advance(30_000);
    expect(bus.inputs).toEqual([]);
    svc.onTurnEvent(turnState('idle', 'mic-1'));
    await advance(999);
    expect(bus.inputs).toEqual([]);
    await advance(1);
    expect(texts()).toEqual(['anyone there?']);
    // The streamer talks over the chat answer (barge-in): the next chat waits for the mic's turn too.
    const chatTurn = bus.inputs[0]!.turn_id;
    svc.onTurnEvent(turnState('thinking', chatTurn));
    svc.onTurnEvent(turnEvent('speech_start'));
    svc.onTurnEvent(turnEvent('turn_end', { turn_id: chatTurn, reason: 'cancelled' }));
    svc.onTurnEvent(turnState('listening'));
    await advance(5000);
    svc.onTurnEvent(turnEvent('speech_end', { audio_ms: 700 }));
    svc.onTurnEvent(turnState('thinking', 'mic-2'));
    await advance(5000);
    expect(texts()).toEqual(['anyone there?']);
    svc.onTurnEvent(turnState('idle', 'mic-2'));
    await advance(999);
    expect(texts()).toEqual(['anyone there?']);
    await advance(1);
    expect(texts()).toEqual(['anyone there?', 'hello?']);
  });

  it('a filtered message never reaches the arbiter; a ban drops the author\'s waiting messages and their later ones', async () => {
    await start();
    svc.onTurnEvent(turnState('thinking', 'busy'));
    src.sink.message(chat('you badword'));
    const troll = { id: 'troll', name: 'Troll' };
    src.sink.message(chat('first troll line', { author: troll }));
    src.sink.message(chat('nice stream'));
    await svc.onCommand({ action: 'ban', platform: 'twitch', user_id: 'troll', name: 'Troll' });
    src.sink.message(chat('second troll line', { author: troll }));
    svc.onTurnEvent(turnEvent('turn_end', { turn_id: 'busy', reason: 'done' }));
    svc.onTurnEvent(turnState('idle', 'busy'));
    await advance(1000);
    runTurn(svc, bus.inputs[0]!);
    await advance(5000);
    expect(texts()).toEqual(['nice stream']);
    expect(bus.story()).toEqual([
      'message:you badword:banned_word',
      'message:first troll line:0',
      'message:nice stream:0',
      'dropped:first troll line:banned_user',
      'message:second troll line:banned_user',
      'picked:rest:nice stream',
    ]);
    await svc.onCommand({ action: 'unban', platform: 'twitch', user_id: 'troll' });
    src.sink.message(chat('I am sorry', { author: troll }));
    await advance(1000);
    expect(texts()).toEqual(['nice stream', 'I am sorry']);
  });

  it('"answer this" picks a waiting message before the others and before the gap', async () => {
    await start();
    svc.onTurnEvent(turnState('thinking', 'busy'));
    src.sink.message(chat('a paid one', { kind: 'paid', paid: { amount: 10, currency: 'USD' } }));
    const chosen = chat('the one the streamer likes');
    src.sink.message(chosen);
    svc.onTurnEvent(turnEvent('turn_end', { turn_id: 'busy', reason: 'done' }));
    svc.onTurnEvent(turnState('idle', 'busy'));
    await svc.onCommand({ action: 'answer', id: chosen.id });
    await advance(0);
    expect(bus.inputs.map((i) => [i.text, i.chat!.reason])).toEqual([['the one the streamer likes', 'manual']]);
  });

  it('never answers twice: a replay of an answered message is ignored, also by a restarted service', async () => {
    await start();
    const m = chat('first!');
    src.sink.message(m);
    await advance(0);
    expect(texts()).toEqual(['first!']);
    runTurn(svc, bus.inputs[0]!);
    src.sink.message(m); // the platform sends it again (a reconnect replay)
    src.sink.message(chat('second'));
    await advance(1000);
    expect(texts()).toEqual(['first!', 'second']);
    expect(bus.feed.filter((e) => e.type === 'message' && e.message.id === m.id)).toHaveLength(1);
    await svc.stop();
    // A new process on the same bus: the platform replays both.
    await start();
    src.sink.message(m);
    src.sink.message({ ...m, id: bus.inputs[1]!.chat!.message_ids[0]!, text: 'second' });
    src.sink.message(chat('third'));
    await advance(1000);
    expect(texts()).toEqual(['first!', 'second', 'third']);
    expect(svc.counters).toMatchObject({ messages: 3, replays: 2 });
  });

  it('answered ids are remembered for answeredKeepMs, then forgotten here and on the bus', async () => {
    reg = testRegistry();
    svc = makeService(bus, settings, reg.factory, { answeredKeepMs: 60_000 }).service;
    await svc.start();
    src = reg.sources.get('tw')!;
    const old = chat('old one');
    src.sink.message(old);
    await advance(0);
    runTurn(svc, bus.inputs[0]!);
    await advance(61_000);
    src.sink.message(chat('new one'));
    await advance(0);
    expect(texts()).toEqual(['old one', 'new one']);
    expect(bus.commits.at(-1)!.answered!.forget).toEqual([old.id]);
    expect([...bus.answered.keys()]).toEqual([bus.inputs[1]!.chat!.message_ids[0]]);
  });

  it('waiting messages survive a kill: the restarted service restores them and answers each once, in order', async () => {
    const first = await start();
    svc.onTurnEvent(turnState('thinking', 'busy'));
    src.sink.message(chat('rest message'));
    src.sink.message(chat('big', { kind: 'paid', paid: { amount: 50, currency: 'USD' } }));
    src.sink.message(chat('question?'));
    await advance(100); // one flush: accepted = saved
    expect(bus.waiting.map((m) => m.text)).toEqual(['rest message', 'big', 'question?']);
    svc.onTurnEvent(turnState('idle', 'busy'));
    await advance(1000);
    expect(texts()).toEqual(['big (sent 50 USD)']);
    // kill -9: nothing of the old process lands any more, it never stops cleanly.
    first.io.kill();
    svc = undefined as unknown as LiveChatService;
    await start();
    expect(bus.waiting.map((m) => m.text)).toEqual(['rest message', 'question?']);
    await advance(0);
    expect(texts()).toEqual(['big (sent 50 USD)', 'question?']);
    runTurn(svc, bus.inputs[1]!);
    await advance(1000);
    expect(texts()).toEqual(['big (sent 50 USD)', 'question?', 'rest message']);
    runTurn(svc, bus.inputs[2]!);
    await advance(60_000);
    expect(bus.inputs).toHaveLength(3);
    expect(bus.waiting).toEqual([]);
  });

  it('a restarted service waits for the turn the dialog engine runs (its previous chat answer) before the next pick', async () => {
    bus.activeTurns.set('live', 'chat-before-restart');
    await start();
    src.sink.message(chat('while the old answer plays'));
    await advance(30_000);
    expect(bus.inputs).toEqual([]);
    svc.onTurnEvent(turnEvent('turn_end', { turn_id: 'chat-before-restart', reason: 'done' }));
    await advance(1000);
    expect(texts()).toEqual(['while the old answer plays']);
  });

  it('a pick whose write fails is not lost: the messages wait again and are answered once the bus is back', async () => {
    const made = await start();
    const commit = made.io.commit;
    let failing = true;
    made.io.commit = async (c) => {
      if (failing && c.push) throw new Error('bus down');
      return commit(c);
    };
    src.sink.message(chat('hold on'));
    await advance(0);
    expect(bus.inputs).toEqual([]);
    failing = false;
    await advance(1000);
    expect(texts()).toEqual(['hold on']);
    // After a failed write the bus's list is unknown: the next write puts it whole.
    expect(bus.commits.at(-1)!.rewrite).toEqual([]);
  });

  it('statuses: every connection (disabled ones too) at the status key and in the feed on change; an error is notified', async () => {
    const s = liveChatSettings({
      connections: [
        { id: 'tw', platform: 'twitch', channel: 'chan' },
        { id: 'off', platform: 'youtube', channel: 'abc', enabled: false },
      ],
    });
    await start(s);
    expect(bus.status!.map((x) => [x.id, x.state, x.detail])).toEqual([
      ['tw', 'live', undefined],
      ['off', 'stopped', 'disabled in settings'],
    ]);
    src.sink.message(chat('hi'));
    src.sink.malformed('bad tag', '@@@');
    src.sink.status('error', 'the channel does not exist: check the channel name in settings');
    await advance(100);
    expect(bus.status![0]).toMatchObject({ state: 'error', messages: 1, malformed: 1 });
    expect(bus.notice).toBe('live chat: tw (twitch) the channel does not exist: check the channel name in settings');
    const statusEvents = bus.feed.filter((e) => e.type === 'status');
    expect(statusEvents.at(-1)).toMatchObject({ connections: [{ id: 'tw', state: 'error' }, { id: 'off', state: 'stopped' }] });
    src.sink.status('live');
    await advance(2000);
    expect(bus.notice).toBeUndefined();
    await svc.stop();
    expect(src.stopped).toBe(true);
    expect(bus.status![0]!.state).toBe('stopped');
  });

  it('posts the reply of a chat turn to the connection that can post, trimmed; a cancelled turn posts nothing', async () => {
    const s = liveChatSettings({ connections: [{ id: 'tw', platform: 'twitch', channel: 'chan', token: 't', username: 'bot', postReplies: true }], arbiter: { minGapMs: 0 } });
    await start(s, testRegistry(true));
    src.sink.message(chat('hi aria'));
    await advance(0);
    const [a] = bus.inputs;
    await svc.onAiResponse({ ...a!, event_id: 'e1', kind: 'done', text: `Hello there! ${'la '.repeat(300)}`, sentences: 2 });
    expect(src.posts).toHaveLength(1);
    expect(src.posts[0]!.startsWith('Hello there! la la')).toBe(true);
    expect(Array.from(src.posts[0]!).length).toBeLessThanOrEqual(500);
    runTurn(svc, a!);
    src.sink.message(chat('second'));
    await advance(0);
    const b = bus.inputs[1]!;
    svc.onTurnEvent(turnEvent('turn_end', { turn_id: b.turn_id, reason: 'cancelled' }));
    await svc.onAiResponse({ ...b, event_id: 'e2', kind: 'done', text: 'late', sentences: 1 });
    expect(src.posts).toHaveLength(1);
  });

  it('with no connection it idles: ready, an empty status, no timers', async () => {
    await start(liveChatSettings({ connections: [] }));
    expect(bus.status).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    expect(reg.sources.size).toBe(0);
  });

  it('a platform without a connector is that connection\'s error, not a crash', async () => {
    bus = new MemoryBus();
    const { factory } = testRegistry();
    const { ChatArbiter } = await import('../../../src/workers/live-chat/arbiter.js');
    const { InboundFilter } = await import('../../../src/workers/live-chat/moderation.js');
    const { LiveChatService } = await import('../../../src/workers/live-chat/service.js');
    const s = liveChatSettings({ connections: [{ id: 'bl', platform: 'bilibili', channel: '123' }, { id: 'tw', platform: 'twitch', channel: 'chan' }] });
    svc = new LiveChatService({ settings: s, arbiter: new ChatArbiter({ settings: s.arbiter, personaName: 'Aria' }), filter: new InboundFilter(s.moderation, 'Aria'), registry: { twitch: factory }, io: bus.io() });
    await svc.start();
    expect(bus.status!.map((x) => x.state)).toEqual(['error', 'live']);
    expect(bus.status![0]!.detail).toMatch(/no bilibili connector/);
  });
});
