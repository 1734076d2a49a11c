/**
 * The Twitch connector against the Twitch IRC stand-in on a local port (real WebSockets). Timers
 * are injected (`ManualTimers`): back-off, join and heartbeat deadlines fire when the test says so,
 * and the delays asked for are asserted exactly.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatConnection } from '../../../src/shared/config.js';
import { LiveChatMessage, type ChatConnectionState } from '../../../src/shared/live-chat.js';
import { createTwitchSource, twitchSourceFactory, type TwitchTimers } from '../../../src/workers/live-chat/platforms/twitch.js';
import { backoffMs, type ChatSink, type ChatSource } from '../../../src/workers/live-chat/source.js';
import { startTwitchServer, type TwitchServer } from '../../helpers/chat/twitch-server.js';

const log = pino({ level: 'silent' });
const random = (): number => 0.5; // no jitter: back-off 1 s, 2 s, 4 s...
const IDLE_MS = 300_000;
const PONG_MS = 10_000;
const JOIN_MS = 20_000;

class ManualTimers implements TwitchTimers {
  private next = 1;
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  set(fn: () => void, ms: number): number {
    const id = this.next++;
    this.pending.set(id, { fn, ms });
    return id;
  }
  clear(h: unknown): void {
    this.pending.delete(h as number);
  }
  delays(): number[] {
    return [...this.pending.values()].map((t) => t.ms).sort((a, b) => a - b);
  }
  /** Fires the pending timer of `ms` (it must exist). */
  fire(ms: number): void {
    const hit = [...this.pending].find(([, t]) => t.ms === ms);
    if (!hit) throw new Error(`no pending timer of ${ms} ms (pending: ${this.delays().join(', ')})`);
    this.pending.delete(hit[0]);
    hit[1].fn();
  }
}

interface Status {
  state: ChatConnectionState;
  detail?: string;
  retry_in_ms?: number;
  can_post?: boolean;
}

class Recorder implements ChatSink {
  readonly messages: LiveChatMessage[] = [];
  readonly statuses: Status[] = [];
  readonly bad: Array<{ what: string; sample?: string }> = [];
  private readonly checks = new Set<() => boolean>();
  message(m: LiveChatMessage): void {
    this.messages.push(LiveChatMessage.parse(m));
    this.settle();
  }
  status(state: ChatConnectionState, detail?: string, extra?: { retry_in_ms?: number; can_post?: boolean }): void {
    this.statuses.push({ state, detail, ...extra });
    this.settle();
  }
  malformed(what: string, sample?: string): void {
    this.bad.push({ what, sample });
    this.settle();
  }
  states(): ChatConnectionState[] {
    return this.statuses.map((s) => s.state);
  }
  until<T>(pick: () => T | undefined | false): Promise<T> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const v = pick();
        if (v === undefined || v === false) return false;
        resolve(v);
        return true;
      };
      if (!check()) this.checks.add(check);
    });
  }
  /** Resolves with the n-th status of `state` (1-based). */
  nth(state: ChatConnectionState, n = 1): Promise<Status> {
    return this.until(() => this.statuses.filter((s) => s.state === state)[n - 1]);
  }
  messageCount(n: number): Promise<LiveChatMessage[]> {
    return this.until(() => this.messages.length >= n && this.messages.slice(0, n));
  }
  private settle(): void {
    for (const c of [...this.checks]) if (c()) this.checks.delete(c);
  }
}

let server: TwitchServer | undefined;
let source: ChatSource | undefined;
afterEach(async () => {
  await source?.stop();
  await server?.close();
  source = server = undefined;
});

async function setup(
  conn: Partial<ChatConnection> = {},
  serverOpts: Parameters<typeof startTwitchServer>[0] = {},
): Promise<{ srv: TwitchServer; sink: Recorder; timers: ManualTimers; src: ChatSource }> {
  const srv = (server = await startTwitchServer(serverOpts));
  const sink = new Recorder();
  const timers = new ManualTimers();
  const c = ChatConnection.parse({ id: 'tw', platform: 'twitch', channel: 'somechan', endpoint: srv.url, ...conn });
  const src = (source = twitchSourceFactory({ timers, random, idlePingMs: IDLE_MS, pongTimeoutMs: PONG_MS, joinTimeoutMs: JOIN_MS })(c, sink, { log, now: () => 1_700_000_000_000 }));
  await src.start();
  return { srv, sink, timers, src };
}

describe('twitch connector', () => {
  it('reads a channel anonymously: CAP REQ, NICK justinfan, JOIN, then live', async () => {
    const { srv, sink } = await setup();
    await sink.nth('live');
    expect(sink.statuses[0]).toMatchObject({ state: 'connecting', can_post: false });
    expect(sink.statuses[1]).toMatchObject({ state: 'live', can_post: false });
    const sent = srv.clients[0]!.lines;
    expect(sent[0]).toBe('CAP REQ :twitch.tv/tags twitch.tv/commands twitch.tv/membership');
    expect(sent.some((l) => l.startsWith('PASS'))).toBe(false);
    expect(sent[1]).toMatch(/^NICK justinfan\d+$/);
    expect(sent[2]).toBe('JOIN #somechan');
  });

  it('turns every kind of Twitch chat into the right LiveChatMessage', async () => {
    const { srv, sink } = await setup({ channel: 'https://www.twitch.tv/SomeChan' });
    await sink.nth('live');
    const ids = [
      srv.chat('somechan', { login: 'streamer', displayName: 'Streamer', badges: ['broadcaster/1'] }, 'welcome everyone Kappa', { emotes: ['Kappa'] }),
      srv.chat('somechan', { login: 'modguy', id: '1001', displayName: 'ModGuy', badges: ['moderator/1', 'subscriber/12'] }, 'behave PogChamp', { emotes: ['PogChamp'] }),
      srv.chat('somechan', { login: 'vipgal', badges: ['vip/1'] }, 'dances', { action: true }),
      srv.cheer('somechan', { login: 'richfan', displayName: 'RichFan' }, 500, 'Cheer500 what is your favourite song?'),
      srv.sub('somechan', { login: 'newbie', displayName: 'Newbie' }),
      srv.resub('somechan', { login: 'loyal', displayName: 'Loyal' }, 14, 'fourteen months!'),
      srv.subGift('somechan', { login: 'giver', displayName: 'Giver' }, 'lucky'),
      srv.mysteryGift('somechan', { login: 'whale', displayName: 'Whale' }, 5),
    ];
    // The five subgift notices of the community gift are counted by it: the next message is this one.
    ids.push(srv.chat('somechan', 'after', 'done'));
    const got = await sink.messageCount(9);
    expect(got.map((m) => m.id)).toEqual(ids.map((id) => `twitch:${id}`));
    expect(got.every((m) => m.platform === 'twitch' && m.connection === 'tw' && m.channel === 'somechan' && m.received_at === 1_700_000_000_000)).toBe(true);
    expect(got.map((m) => [m.kind, m.author.name, m.author.roles, m.text])).toEqual([
      ['message', 'Streamer', ['broadcaster'], 'welcome everyone Kappa'],
      ['message', 'ModGuy', ['moderator', 'subscriber'], 'behave PogChamp'],
      ['message', 'vipgal', ['vip'], 'dances'],
      ['paid', 'RichFan', [], 'Cheer500 what is your favourite song?'],
      ['sub', 'Newbie', [], ''],
      ['sub', 'Loyal', [], 'fourteen months!'],
      ['gift', 'Giver', [], ''],
      ['gift', 'Whale', [], ''],
      ['message', 'after', [], 'done'],
    ]);
    expect(got[1]!.author.id).toBe('1001');
    expect(got[0]!.sent_at).toEqual(expect.any(Number));
    expect(got[3]!.paid).toEqual({ amount: 500, currency: 'bits', display: '500 bits' });
    expect(got.slice(4, 8).map((m) => m.gift)).toEqual([
      { name: 'sub', count: 1 },
      { name: 'sub', count: 14 },
      { name: 'sub', count: 1 },
      { name: 'sub', count: 5 },
    ]);
    expect(sink.messages).toHaveLength(9);
    expect(sink.bad).toEqual([]);
  });

  it('answers the server PING with PONG', async () => {
    const { srv, sink } = await setup();
    await sink.nth('live');
    srv.ping('tmi.twitch.tv-42');
    await srv.waitForLine(/^PONG :tmi\.twitch\.tv-42$/);
  });

  it('reports malformed lines and goes on with the next one on the same connection', async () => {
    const { srv, sink } = await setup();
    await sink.nth('live');
    srv.pushRaw('{"not":"irc"}');
    srv.pushRaw('@badges=;color= ');
    srv.chat('somechan', 'cheapo', 'Cheer', { bits: 'lots' as unknown as number });
    srv.pushRaw('@id=x;msg-id=submysterygift;user-id=1 :tmi.twitch.tv USERNOTICE #somechan');
    srv.pushRaw(Buffer.from([0, 1, 2, 3]));
    const id = srv.chat('somechan', 'fine', 'still here');
    const [m] = await sink.messageCount(1);
    expect(m!.id).toBe(`twitch:${id}`);
    expect(sink.bad.map((b) => b.what)).toEqual([
      expect.stringContaining('is not an IRC command'),
      expect.stringContaining('an empty line'),
      expect.stringContaining('bits="lots" is not a positive whole number'),
      expect.stringContaining('without a msg-param-mass-gift-count'),
      expect.stringContaining('a binary WebSocket frame'),
    ]);
    expect(sink.bad[0]!.sample).toBe('{"not":"irc"}');
    expect(srv.clients).toHaveLength(1);
    expect(sink.states()).toEqual(['connecting', 'live']);
  });

  it('a dropped connection reconnects with back-off, rejoins, and messages flow again', async () => {
    const { srv, sink, timers } = await setup();
    await sink.nth('live');
    srv.drop();
    const rec = await sink.nth('reconnecting');
    expect(rec.retry_in_ms).toBe(backoffMs(0, random));
    expect(rec.detail).toMatch(/retrying in 1\.0 s/);
    timers.fire(backoffMs(0, random));
    await srv.waitForJoins('somechan', 2);
    await sink.nth('live', 2);
    const id = srv.chat('somechan', 'back', 'hello again');
    expect((await sink.messageCount(1))[0]!.id).toBe(`twitch:${id}`);
    expect(sink.states()).toEqual(['connecting', 'live', 'reconnecting', 'live']);
    // Live again resets the back-off: the next drop waits the first delay again.
    srv.drop();
    expect((await sink.nth('reconnecting', 2)).retry_in_ms).toBe(backoffMs(0, random));
  });

  it('the back-off grows while reconnects fail, and an unconfirmed JOIN counts as a failure', async () => {
    const { srv, sink, timers } = await setup({}, { silentJoin: true });
    await srv.waitForJoins('somechan', 1);
    timers.fire(JOIN_MS);
    const first = await sink.nth('reconnecting', 1);
    expect(first.detail).toContain('check that the channel login is right');
    expect(first.retry_in_ms).toBe(backoffMs(0, random));
    timers.fire(backoffMs(0, random));
    await srv.waitForJoins('somechan', 2);
    timers.fire(JOIN_MS);
    expect((await sink.nth('reconnecting', 2)).retry_in_ms).toBe(backoffMs(1, random));
    timers.fire(backoffMs(1, random));
    await srv.waitForJoins('somechan', 3);
    timers.fire(JOIN_MS);
    expect((await sink.nth('reconnecting', 3)).retry_in_ms).toBe(backoffMs(2, random));
    expect(sink.states()).not.toContain('live');
  });

  it('Twitch asking to RECONNECT is a reconnect', async () => {
    const { srv, sink, timers } = await setup();
    await sink.nth('live');
    srv.reconnect();
    expect((await sink.nth('reconnecting')).detail).toContain('Twitch asked us to reconnect');
    await srv.waitForClose(1);
    timers.fire(backoffMs(0, random));
    await sink.nth('live', 2);
    expect(srv.clients).toHaveLength(2);
  });

  it('a silent server gets a PING; its PONG keeps the connection, no PONG reconnects', async () => {
    const { srv, sink, timers } = await setup();
    await sink.nth('live');
    timers.fire(IDLE_MS);
    await srv.waitForLine(/^PING :fav$/);
    // The PONG comes back before this chat line; by the time the line arrives the PONG deadline is gone.
    srv.chat('somechan', 'x', 'after the pong');
    await sink.messageCount(1);
    expect(timers.delays()).toEqual([IDLE_MS]);

    srv.setOptions({ ignorePings: true });
    timers.fire(IDLE_MS);
    await srv.waitForLine(/^PING :fav$/);
    expect(timers.delays()).toEqual([PONG_MS]);
    timers.fire(PONG_MS);
    expect((await sink.nth('reconnecting')).detail).toContain('no PONG');
    expect((await srv.waitForClose(1)).closedBy).toBe('client');
  });

  it('stop() closes the socket cleanly, clears every timer, and says nothing after', async () => {
    const { srv, sink, timers, src } = await setup();
    await sink.nth('live');
    await src.stop();
    const gone = await srv.waitForClose(1);
    expect(gone.closeCode).toBe(1000);
    expect(sink.states()).toEqual(['connecting', 'live', 'stopped']);
    expect(timers.pending.size).toBe(0);
    const calls = sink.statuses.length + sink.messages.length + sink.bad.length;
    srv.chat('somechan', 'late', 'anyone?');
    srv.drop();
    await src.stop();
    expect(sink.statuses.length + sink.messages.length + sink.bad.length).toBe(calls);
  });

  it('stop() while waiting to reconnect cancels the retry', async () => {
    const { srv, sink, timers, src } = await setup();
    await sink.nth('live');
    srv.drop();
    await sink.nth('reconnecting');
    expect(timers.delays()).toEqual([backoffMs(0, random)]);
    await src.stop();
    expect(timers.pending.size).toBe(0);
    expect(sink.states().at(-1)).toBe('stopped');
  });

  it('with a token it logs in as the account, can post, and a posted line stays one chat line', async () => {
    const { srv, sink, src } = await setup({ token: 'oauth:goodtoken', username: 'BotName' }, { tokens: { goodtoken: 'botname' } });
    expect((await sink.nth('live')).can_post).toBe(true);
    const sent = srv.clients[0]!.lines;
    expect(sent.slice(0, 4)).toEqual(['CAP REQ :twitch.tv/tags twitch.tv/commands twitch.tv/membership', 'PASS oauth:goodtoken', 'NICK botname', 'JOIN #somechan']);
    await src.post!('thanks for the sub!\r\nJOIN #elsewhere');
    await srv.waitForLine(/^PRIVMSG #somechan :thanks for the sub! JOIN #elsewhere$/);
    expect(srv.received.some((r) => r.line === 'JOIN #elsewhere')).toBe(false);
  });

  it('posting keeps within Twitch\'s 20 lines per 30 s', async () => {
    let now = 1_700_000_000_000;
    const srv = (server = await startTwitchServer({ tokens: { goodtoken: 'botname' } }));
    const sink = new Recorder();
    const conn = ChatConnection.parse({ id: 'tw', platform: 'twitch', channel: 'somechan', token: 'goodtoken', username: 'botname', endpoint: srv.url });
    const src = (source = twitchSourceFactory({ timers: new ManualTimers(), random })(conn, sink, { log, now: () => now }));
    await src.start();
    await sink.nth('live');
    for (let i = 0; i < 19; i++) await src.post!(`line ${i}`);
    await expect(src.post!(`${'a'.repeat(400)} ${'b'.repeat(400)}`)).rejects.toThrow('Twitch allows 20 chat lines per 30 s');
    await src.post!('line 19');
    now += 29_999;
    await expect(src.post!('too soon')).rejects.toThrow('was not posted');
    now += 1;
    await src.post!('a new window');
    await srv.waitForLine(/^PRIVMSG #somechan :a new window$/);
    expect(srv.received.filter((r) => r.line.startsWith('PRIVMSG')).map((r) => r.line.replace('PRIVMSG #somechan :', ''))).toEqual([...Array.from({ length: 20 }, (_, i) => `line ${i}`), 'a new window']);
  });

  it('an account banned from the channel reads on but posts nothing', async () => {
    const { srv, sink, src } = await setup({ token: 'goodtoken', username: 'botname' }, { tokens: { goodtoken: 'botname' } });
    await sink.nth('live');
    await src.post!('first');
    srv.notice('somechan', 'You are permanently banned from talking in somechan.', 'msg_banned');
    const banned = await sink.nth('live', 2);
    expect(banned).toMatchObject({ can_post: false, detail: expect.stringContaining('banned from talking there') });
    await expect(src.post!('second')).rejects.toThrow('banned from talking in #somechan');
    const id = srv.chat('somechan', 'viewer', 'still reading');
    expect((await sink.messageCount(1))[0]!.id).toBe(`twitch:${id}`);
    expect(srv.received.filter((r) => r.line.startsWith('PRIVMSG')).map((r) => r.line)).toEqual(['PRIVMSG #somechan :first']);
  });

  it('a refused token is an error naming the fix, with no retry', async () => {
    const { srv, sink, timers } = await setup({ token: 'expired', username: 'botname' }, { tokens: { goodtoken: 'botname' } });
    const err = await sink.nth('error');
    expect(err.detail).toContain('Login authentication failed');
    expect(err.detail).toContain('fresh token with the chat:read');
    await srv.waitForClose(1);
    expect(timers.pending.size).toBe(0);
    expect(sink.states()).toEqual(['connecting', 'error']);
  });

  it('an unknown channel is an error naming the fix', async () => {
    const { sink, timers } = await setup({ channel: 'nosuchchan' }, { channels: ['realchan'] });
    const err = await sink.nth('error');
    expect(err.detail).toContain('#nosuchchan does not exist or is suspended');
    expect(err.detail).toContain('check the channel login');
    expect(timers.pending.size).toBe(0);
  });

  it('settings it cannot use are errors before any connection', async () => {
    const a = await setup({ token: 'tok' });
    expect(a.sink.statuses).toEqual([expect.objectContaining({ state: 'error', detail: expect.stringContaining('set username') })]);
    expect(a.srv.clients).toHaveLength(0);
    await a.src.stop();
    await a.srv.close();
    const b = await setup({ channel: 'not a channel' });
    expect(b.sink.statuses[0]).toMatchObject({ state: 'error', detail: expect.stringContaining('is not a Twitch channel') });
  });

  it('an endpoint that is no WebSocket URL is an error naming the fix', async () => {
    const { sink } = await setup({ endpoint: 'ftp://127.0.0.1:1/' });
    expect(sink.statuses).toEqual([
      expect.objectContaining({ state: 'connecting' }),
      expect.objectContaining({ state: 'error', detail: expect.stringContaining('set the connection\'s endpoint to a ws:// or wss:// URL') }),
    ]);
  });

  it('a sink that throws does not take the connection down', async () => {
    const { srv, sink } = await setup();
    await sink.nth('live');
    const original = sink.message.bind(sink);
    let thrown = 0;
    sink.message = (m) => {
      if (m.text === 'boom') {
        thrown++;
        throw new Error('a bug in the service');
      }
      original(m);
    };
    srv.chat('somechan', 'a', 'boom');
    const id = srv.chat('somechan', 'b', 'fine');
    expect((await sink.messageCount(1))[0]!.id).toBe(`twitch:${id}`);
    expect(thrown).toBe(1);
    expect(srv.clients).toHaveLength(1);
    expect(sink.states()).toEqual(['connecting', 'live']);
  });

  it('posting without a token or while not live is refused with the reason', async () => {
    const { sink, src } = await setup();
    await sink.nth('live');
    await expect(src.post!('hello')).rejects.toThrow('add a token (chat:edit) and username');
    await src.stop();
    const withToken = twitchSourceFactory({ timers: new ManualTimers() })(
      ChatConnection.parse({ id: 'tw2', platform: 'twitch', channel: 'somechan', token: 't', username: 'bot', endpoint: server!.url }),
      new Recorder(),
      { log },
    );
    await expect(withToken.post!('hello')).rejects.toThrow('not in #somechan right now');
  });

  it('with the real timers (createTwitchSource) it reconnects by itself after a drop', async () => {
    const srv = (server = await startTwitchServer());
    const sink = new Recorder();
    source = createTwitchSource(ChatConnection.parse({ id: 'tw', platform: 'twitch', channel: 'somechan', endpoint: srv.url }), sink, { log });
    await source.start();
    await sink.nth('live');
    srv.drop();
    await sink.nth('live', 2);
    const id = srv.chat('somechan', 'viewer', 'hi');
    expect((await sink.messageCount(1))[0]!.id).toBe(`twitch:${id}`);
  });
});
