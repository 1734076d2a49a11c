/**
 * The Bilibili connector against the local stand-in (real HTTP, real WebSocket, the binary packet
 * format with zlib/brotli bundles). Time rules (back-off, heartbeats, the 70 s silence) run on fake
 * timers; sockets and HTTP stay real.
 */
import http from 'node:http';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChatConnection } from '../../../src/shared/config.js';
import { LiveChatMessage, type ChatConnectionState } from '../../../src/shared/live-chat.js';
import { BilibiliSource, createBilibiliSource, type BilibiliTiming } from '../../../src/workers/live-chat/platforms/bilibili.js';
import type { ChatSink } from '../../../src/workers/live-chat/source.js';
import { startBilibiliServer, type BilibiliServer, type BilibiliServerOptions } from '../../helpers/chat/bilibili-server.js';

const log = pino({ level: 'silent' });
const ROOM = 21452505;

interface StatusRecord {
  state: ChatConnectionState;
  detail?: string;
  retry_in_ms?: number;
}

/** A sink that records every call and lets a test wait for a condition on what it has seen. */
class Recorder implements ChatSink {
  messages: LiveChatMessage[] = [];
  statuses: StatusRecord[] = [];
  bad: { what: string; sample?: string }[] = [];
  private checks = new Set<() => void>();

  message(m: LiveChatMessage): void {
    this.messages.push(LiveChatMessage.parse(m));
    this.kick();
  }
  status(state: ChatConnectionState, detail?: string, extra?: { retry_in_ms?: number }): void {
    this.statuses.push({ state, detail, retry_in_ms: extra?.retry_in_ms });
    this.kick();
  }
  malformed(what: string, sample?: string): void {
    this.bad.push({ what, sample });
    this.kick();
  }
  private kick(): void {
    for (const c of [...this.checks]) c();
  }
  until<T>(get: () => T | undefined | false): Promise<T> {
    return new Promise((resolve) => {
      const check = () => {
        const v = get();
        if (v === undefined || v === false) return;
        this.checks.delete(check);
        resolve(v);
      };
      this.checks.add(check);
      check();
    });
  }
  /** The `n`th status (1-based) in `state`. */
  nth(state: ChatConnectionState, n = 1): Promise<StatusRecord> {
    return this.until(() => this.statuses.filter((s) => s.state === state)[n - 1]);
  }
  message$(n: number): Promise<LiveChatMessage> {
    return this.until(() => this.messages[n - 1]);
  }
  states(): ChatConnectionState[] {
    return this.statuses.map((s) => s.state);
  }
}

let server: BilibiliServer | undefined;
let source: BilibiliSource | undefined;

afterEach(async () => {
  await source?.stop();
  vi.useRealTimers();
  await server?.close();
  source = undefined;
  server = undefined;
});

function conn(over: Partial<ChatConnection> = {}): ChatConnection {
  return { ...server!.connection('bili'), ...over };
}

async function connect(opts: { server?: BilibiliServerOptions; conn?: Partial<ChatConnection>; timing?: Partial<BilibiliTiming>; fetch?: typeof fetch } = {}) {
  server = await startBilibiliServer(opts.server);
  const sink = new Recorder();
  source = new BilibiliSource(conn(opts.conn), sink, { log, now: () => 1_700_000_000_000, fetch: opts.fetch }, { random: () => 0.5, ...opts.timing });
  await source.start();
  return sink;
}

/**
 * HTTP on node:http without keep-alive: global fetch (undici) leaves its own keep-alive timers
 * behind, which would hide whether the connector left one of its own.
 */
const plainFetch = ((url: string | URL | Request, init?: RequestInit) =>
  new Promise<Response>((resolve, reject) => {
    const req = http.get(String(url), { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode })));
    });
    req.on('error', reject);
    init?.signal?.addEventListener('abort', () => {
      reject(init.signal!.reason);
      req.destroy();
    });
  })) as typeof fetch;

/** Fake only the timers: sockets and HTTP stay real. */
function fakeTimers(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
}

describe('bilibili connector', () => {
  it('resolves a short room id, authenticates as the web client does and reads every kind of message', async () => {
    const sink = await connect({ conn: { channel: 'https://live.bilibili.com/5?spm=x' } });
    await sink.nth('live');
    expect(sink.states()).toEqual(['connecting', 'live']);
    expect(sink.statuses[1].detail).toMatch(/anonymous: .*set a SESSDATA token/);
    const auth = await server!.waitForPacket((p) => p.op === 7);
    expect(auth.body).toMatchObject({ uid: 0, roomid: ROOM, protover: 3, platform: 'web', type: 2, key: expect.stringMatching(/^tok-/), buvid: expect.stringMatching(/^B3B3/) });
    expect(server!.http.map((h) => h.path)).toEqual(['/room/v1/Room/room_init', '/x/frontend/finger/spi', '/x/web-interface/nav', '/xlive/web-room/v1/index/getDanmuInfo']);
    expect(server!.http[0].query.id).toBe('5');
    // getDanmuInfo is WBI-signed (the stand-in refuses it otherwise) at the injected clock's time.
    expect(server!.http[3].query).toMatchObject({ id: String(ROOM), type: '0', web_location: '444.8', wts: '1700000000', w_rid: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(server!.http.map((h) => h.cookie)).toEqual([undefined, undefined, expect.stringMatching(/^buvid3=B3B3.*; buvid4=B4B4/), expect.stringMatching(/^buvid3=/)]);

    // Anonymous: Bilibili sends uid 0 and a masked name; the uid hash still tells viewers apart.
    server!.danmaku({ uid: 1000, name: 'streamer', text: 'hello chat', idStr: 'dm1', uidHash: 'aa11bb22' }, 'brotli');
    expect(await sink.message$(1)).toMatchObject({ id: 'bilibili:dm-dm1', channel: String(ROOM), connection: 'bili', author: { id: 'hash-aa11bb22', name: 's***', roles: [] }, text: 'hello chat', kind: 'message' });

    server!.danmaku({ uid: 51, name: 'fan', text: '打call', sticker: true, guard: 3, medalRoom: 5, admin: true, uidHash: 'cc33dd44' }, 'zlib');
    expect(await sink.message$(2)).toMatchObject({ author: { id: 'hash-cc33dd44', name: 'f***', roles: ['moderator', 'member', 'subscriber'] }, text: '[打call]' });

    server!.gift({ uid: 52, name: 'giver', gift: '小花花', num: 10, price: 100, coin: 'gold', tid: 'g-1' }, 'plain');
    expect(await sink.message$(3)).toMatchObject({ id: 'bilibili:gift-g-1', kind: 'gift', text: '', author: { id: '52', name: 'giver' }, gift: { name: '小花花', count: 10 }, paid: { amount: 1, currency: 'CNY' } });

    server!.superChat({ id: 777, uid: 53, name: 'rich', message: 'please read this', price: 50 });
    expect(await sink.message$(4)).toMatchObject({ id: 'bilibili:sc-777', kind: 'paid', text: 'please read this', author: { id: '53', name: 'rich' }, paid: { amount: 50, currency: 'CNY' } });

    server!.guardBuy({ uid: 54, name: 'captain', level: 3, num: 1, price: 198000 });
    expect(await sink.message$(5)).toMatchObject({ kind: 'member', author: { id: '54', name: 'captain', roles: ['member'] }, gift: { name: '舰长', count: 1 }, paid: { amount: 198, currency: 'CNY' } });

    // The real server bundles several commands into one compressed packet.
    const cmds = ['one', 'two', 'three'].map((text, i) => ({ cmd: 'DANMU_MSG', info: [[0, 1, 25, 0, 1_700_000_000_000 + i, 0, 0, `h${i}`], text, [60 + i, `u${i}`, 0]] }));
    server!.bundle(cmds, 'brotli');
    server!.bundle(cmds.slice(0, 1), 'zlib');
    await sink.message$(9);
    expect(sink.messages.slice(5).map((m) => m.text)).toEqual(['one', 'two', 'three', 'one']);
    // The same line sent twice (a replay) has the same id.
    expect(sink.messages[8].id).toBe(sink.messages[5].id);
    expect(sink.bad).toEqual([]);

    server!.command({ cmd: 'PREPARING', roomid: String(ROOM) });
    expect((await sink.nth('live', 2)).detail).toMatch(/not broadcasting now/);
    server!.command({ cmd: 'LIVE', roomid: ROOM });
    expect((await sink.nth('live', 3)).detail).not.toMatch(/not broadcasting/);
  });

  it('ends without retrying when Bilibili locks the room', async () => {
    fakeTimers();
    const sink = await connect({ fetch: plainFetch });
    await sink.nth('live');
    server!.command({ cmd: 'ROOM_LOCK', expire: '2099-01-01 00:00:00', roomid: ROOM });
    expect((await sink.nth('ended')).detail).toMatch(/locked room 21452505.*connect another room/);
    await server!.waitForNoClients();
    // No retry timer is left behind: nothing will reconnect.
    expect(vi.getTimerCount()).toBe(0);
    expect(sink.states()).toEqual(['connecting', 'live', 'ended']);
  });

  it('sends the SESSDATA token on the HTTP calls and authenticates as that viewer', async () => {
    const sink = await connect({ server: { sessdata: 'good-cookie', viewerUid: 4242 }, conn: { token: 'good-cookie' } });
    await sink.nth('live');
    expect(sink.statuses[1].detail).not.toMatch(/anonymous/);
    expect(server!.http.map((h) => h.cookie)).toEqual(['SESSDATA=good-cookie', 'SESSDATA=good-cookie', ...Array(2).fill(expect.stringMatching(/^SESSDATA=good-cookie; buvid3=/))]);
    expect((await server!.waitForPacket((p) => p.op === 7)).body).toMatchObject({ uid: 4242 });
    // Logged in: names and uids in full.
    server!.danmaku({ uid: 1000, name: 'streamer', text: 'hi' });
    expect(await sink.message$(1)).toMatchObject({ author: { id: '1000', name: 'streamer', roles: ['broadcaster'] } });
  });

  it('turns a refused token, an unknown room and a channel that is no room number into an error that names the fix', async () => {
    const refused = await connect({ server: { sessdata: 'good-cookie', viewerUid: 1 }, conn: { token: 'expired' } });
    expect((await refused.nth('error')).detail).toMatch(/refused the SESSDATA token.*copy a fresh SESSDATA/);
    // It stopped at the login check: no danmaku server was looked up.
    expect(server!.http.map((h) => h.path)).toEqual(['/room/v1/Room/room_init', '/x/frontend/finger/spi', '/x/web-interface/nav']);
    await source!.stop();
    await server!.close();

    const unknown = await connect({ conn: { channel: '999' } });
    expect((await unknown.nth('error')).detail).toMatch(/room 999 does not exist: check the number .*live\.bilibili\.com\/<number>/);
    await source!.stop();

    const sink = new Recorder();
    source = new BilibiliSource(conn({ channel: 'some streamer' }), sink, { log });
    await source.start();
    expect((await sink.nth('error')).detail).toMatch(/"some streamer" is not a Bilibili room number: use the number/);
  });

  it('reports malformed packets and skips them: the next good message arrives on the same connection', async () => {
    const sink = await connect();
    await sink.nth('live');
    const zero = server!.packet(5, 0, '{"cmd":"DANMU_MSG"}');
    zero.writeUInt32BE(0, 0);
    server!.pushRaw(zero);
    server!.pushRaw(server!.packet(5, 2, Buffer.from('definitely not zlib')));
    server!.pushRaw(server!.packet(5, 3, Buffer.from([1, 2, 3, 4, 5])));
    server!.pushRaw(server!.packet(5, 0, '{"cmd": "DANMU_MSG", "info": [oops'));
    server!.command({ cmd: 'DANMU_MSG', info: 'not an array' }, 'zlib');
    server!.command({ cmd: 'SOME_NEW_CMD_WE_DO_NOT_KNOW', data: { x: 1 } });
    server!.pushText('{"cmd":"DANMU_MSG"}');
    server!.danmaku({ uid: 7, name: 'after', text: 'still here' });
    expect((await sink.message$(1)).text).toBe('still here');
    expect(sink.bad.map((b) => b.what)).toEqual([
      expect.stringMatching(/^bad packet length 0/),
      expect.stringMatching(/^bad zlib bundle/),
      expect.stringMatching(/^bad brotli bundle/),
      'a command packet whose body is not JSON',
      'DANMU_MSG without an info array',
      'a text frame (the danmaku server sends binary packets)',
    ]);
    expect(sink.messages).toHaveLength(1);
    expect(sink.states()).toEqual(['connecting', 'live']);
    expect(server!.authenticated).toEqual([1]);
  });

  it('reconnects by itself after a drop, with back-off, and messages flow again', async () => {
    fakeTimers();
    const sink = await connect();
    await sink.nth('live');
    server!.drop();
    const r = await sink.nth('reconnecting');
    expect(r.retry_in_ms).toBe(1000);
    expect(r.detail).toMatch(/the danmaku connection closed .*retrying in 1 s/);
    expect(server!.authenticated).toEqual([1]);
    vi.advanceTimersByTime(1000);
    await sink.nth('live', 2);
    expect(server!.authenticated).toEqual([1, 2]);
    expect(sink.states()).toEqual(['connecting', 'live', 'reconnecting', 'live']);
    server!.danmaku({ uid: 8, name: 'back', text: 'welcome back' });
    expect((await sink.message$(1)).text).toBe('welcome back');
  });

  it('backs off 1, 2, 4 s while the lookup keeps failing, and from 1 s again once live', async () => {
    fakeTimers();
    const sink = await connect();
    await sink.nth('live');
    server!.danmuInfoFailure = { code: -352, message: '-352' };
    server!.drop();
    expect((await sink.nth('reconnecting', 1)).retry_in_ms).toBe(1000);
    vi.advanceTimersByTime(1000);
    const second = await sink.nth('reconnecting', 2);
    expect(second.retry_in_ms).toBe(2000);
    expect(second.detail).toMatch(/getDanmuInfo answered code -352 .*risk control/);
    vi.advanceTimersByTime(2000);
    expect((await sink.nth('reconnecting', 3)).retry_in_ms).toBe(4000);
    server!.danmuInfoFailure = undefined;
    vi.advanceTimersByTime(4000);
    await sink.nth('live', 2);
    server!.drop();
    expect((await sink.nth('reconnecting', 4)).retry_in_ms).toBe(1000);
  });

  it('gives up on an HTTP lookup that never answers after 15 s, and retries', async () => {
    fakeTimers();
    server = await startBilibiliServer();
    server.stallPaths.add('/xlive/web-room/v1/index/getDanmuInfo');
    const sink = new Recorder();
    // Global fetch (undici): the abort reason must come through as the error.
    source = new BilibiliSource(conn(), sink, { log }, { random: () => 0.5 });
    await source.start();
    await server.waitForHttp(4);
    vi.advanceTimersByTime(14_999);
    expect(sink.states()).toEqual(['connecting']);
    server.stallPaths.clear();
    vi.advanceTimersByTime(1);
    expect((await sink.nth('reconnecting')).detail).toMatch(/getDanmuInfo: no answer within 15 s/);
    vi.advanceTimersByTime(1000);
    await sink.nth('live');
  });

  it('retries when the server refuses the auth packet', async () => {
    fakeTimers();
    server = await startBilibiliServer();
    server.refuseAuth = true;
    const sink = new Recorder();
    source = new BilibiliSource(conn(), sink, { log }, { random: () => 0.5 });
    await source.start();
    expect((await sink.nth('reconnecting')).detail).toMatch(/refused the auth packet \(code -101\)/);
    server.refuseAuth = false;
    vi.advanceTimersByTime(1000);
    await sink.nth('live');
  });

  it('gives up on a server that never answers the auth packet after 70 s, and reconnects', async () => {
    fakeTimers();
    server = await startBilibiliServer();
    server.ignoreAuth = true;
    const sink = new Recorder();
    source = new BilibiliSource(conn(), sink, { log }, { random: () => 0.5 });
    await source.start();
    await server.waitForPacket((p) => p.op === 7);
    vi.advanceTimersByTime(69_999);
    expect(sink.states()).toEqual(['connecting']);
    server.ignoreAuth = false;
    vi.advanceTimersByTime(1);
    expect((await sink.nth('reconnecting')).detail).toMatch(/no heartbeat reply from Bilibili for 70 s/);
    vi.advanceTimersByTime(1000);
    await sink.nth('live');
    expect(server.authenticated).toEqual([2]);
  });

  it('sends a heartbeat on auth and every 30 s, and reconnects when no reply came for 70 s', async () => {
    fakeTimers();
    server = await startBilibiliServer();
    server.answerHeartbeats = false;
    const sink = new Recorder();
    source = new BilibiliSource(conn(), sink, { log }, { random: () => 0.5 });
    await source.start();
    await sink.nth('live');
    const beats = (connection: number, n: number) =>
      server!.waitForPacket(() => server!.received.filter((q) => q.op === 2 && q.connection === connection).length >= n);
    await beats(1, 1);
    vi.advanceTimersByTime(30_000);
    await beats(1, 2);
    vi.advanceTimersByTime(30_000);
    await beats(1, 3);
    vi.advanceTimersByTime(9_999);
    expect(sink.states()).toEqual(['connecting', 'live']);
    server.answerHeartbeats = true;
    vi.advanceTimersByTime(1);
    expect((await sink.nth('reconnecting')).detail).toMatch(/no heartbeat reply from Bilibili for 70 s/);
    vi.advanceTimersByTime(1000);
    await sink.nth('live', 2);
    expect(server.authenticated).toEqual([1, 2]);
    // Answered heartbeats keep the connection: 3 more intervals pass without a reconnect.
    await beats(2, 1);
    for (let i = 1; i <= 3; i++) {
      vi.advanceTimersByTime(30_000);
      await beats(2, i + 1);
    }
    expect(sink.states()).toEqual(['connecting', 'live', 'reconnecting', 'live']);
  });

  it('stop() closes the socket and every timer, and nothing reaches the sink after it', async () => {
    fakeTimers();
    server = await startBilibiliServer();
    const sink = new Recorder();
    source = new BilibiliSource(conn(), sink, { log, fetch: plainFetch }, { random: () => 0.5 });
    await source.start();
    await sink.nth('live');
    await source!.stop();
    await server!.waitForNoClients();
    expect(sink.states()).toEqual(['connecting', 'live', 'stopped']);
    expect(vi.getTimerCount()).toBe(0);

    // Stopped while waiting to reconnect: the retry timer goes too.
    const again = new Recorder();
    source = new BilibiliSource(conn(), again, { log, fetch: plainFetch }, { random: () => 0.5 });
    await source.start();
    await again.nth('live');
    server!.drop();
    await again.nth('reconnecting');
    await source.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(again.states()).toEqual(['connecting', 'live', 'reconnecting', 'stopped']);
  });

  it('is what the factory makes', async () => {
    server = await startBilibiliServer();
    const sink = new Recorder();
    const s = createBilibiliSource(conn(), sink, { log });
    await s.start();
    await sink.nth('live');
    await s.stop();
    await server.waitForNoClients();
    expect(sink.states().at(-1)).toBe('stopped');
  });
});
