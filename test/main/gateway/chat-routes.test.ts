/**
 * The chat panel's routes on a real gateway over real HTTP and WebSocket, on a real bus, with a fake
 * publisher standing in for the live-chat service (feed events on fav:chat:feed, the statuses under
 * CHAT_STATUS_KEY, a recorder on fav:chat:command): the recent feed with fates merged in, the live
 * push, the commands and the bans saved through the real settings service on a real data dir, the
 * banned-word import, /health's liveChat, the token guard, and the connection tokens masked.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { redactConfig, writeSettingsFile } from '../../../src/main/config/load-config.js';
import { startGateway, type Gateway } from '../../../src/main/gateway/server.js';
import { SettingsService } from '../../../src/main/settings/index.js';
import { ChatPaths, type BannedWordsResult, type ChatCommandResult, type ChatSnapshot } from '../../../src/shared/chat-api.js';
import type { ChatFeedEvent} from '../../../src/shared/live-chat.js';
import { CHAT_STATUS_KEY, ChatChannels, type ChatConnectionStatus, type LiveChatMessageInput } from '../../../src/shared/live-chat.js';
import type { SaveResult, SettingsView } from '../../../src/shared/settings-api.js';
import { HealthBodySchema } from '../../../src/shared/studio-status.js';
import { freePort } from '../../helpers/redis-server.js';
import { BACKENDS, client, Recorder, startBackend, waitFor, type Backend } from '../supervisor/helpers.js';
import { testGatewayDeps, WsClient, type Json } from './helpers.js';

const KIND = BACKENDS.includes('embedded') ? 'embedded' : 'redis-server';
const token = randomBytes(24).toString('base64url');
const TWITCH_TOKEN = 'oauth:twitch-secret-0123456789';

let bus: Backend;
let pub: Redis;
let rec: Recorder;
let gateway: Gateway;
let dir: string;
let settings: SettingsService;
const logs: string[] = [];

function msg(n: number, extra: Partial<LiveChatMessageInput> = {}): LiveChatMessageInput {
  return {
    id: `twitch:m${n}`,
    platform: 'twitch',
    connection: 'tw',
    channel: 'mio',
    author: { id: `u${n}`, name: `viewer${n}`, roles: [] },
    text: `hello ${n}`,
    kind: 'message',
    received_at: 1_700_000_000_000 + n,
    ...extra,
  };
}

type FeedEventInput = z.input<typeof ChatFeedEvent>;
const publish = (e: FeedEventInput | string) => pub.publish(ChatChannels.feed, typeof e === 'string' ? e : JSON.stringify(e));

async function call<T = Json>(method: string, route: string, body?: unknown, o: { auth?: boolean; type?: string } = {}): Promise<{ status: number; body: T }> {
  const text = typeof body === 'string';
  const res = await fetch(`${gateway.url}${route}`, {
    method,
    headers: {
      ...(o.auth === false ? {} : { authorization: `Bearer ${token}` }),
      ...(body !== undefined ? { 'content-type': o.type ?? (text ? 'text/plain; charset=utf-8' : 'application/json') } : {}),
    },
    body: body === undefined ? undefined : text ? body : Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

const snapshot = async () => (await call<ChatSnapshot>('GET', ChatPaths.chat)).body;

beforeAll(async () => {
  bus = await startBackend(KIND);
  pub = await client(bus.url);
  rec = await Recorder.open(bus.url, [ChatChannels.command]);
  dir = mkdtempSync(path.join(os.tmpdir(), 'fav-chat-routes-'));
  writeSettingsFile(dir, {
    liveChat: {
      connections: [
        { id: 'tw', platform: 'twitch', channel: 'mio', token: TWITCH_TOKEN, username: 'miobot', postReplies: true },
        { id: 'yt', platform: 'youtube', channel: 'dQw4w9WgXcQ' },
      ],
      moderation: { bannedWords: ['spoiler'] },
    },
  });
  settings = new SettingsService({ dataDir: dir, log: (level, m) => void logs.push(`${level} ${m}`) });
  gateway = await startGateway(
    testGatewayDeps({ token, settings: { service: settings }, config: () => redactConfig(settings.current()), chat: { busUrl: bus.url, capacity: 5, log: (level, m) => void logs.push(`${level} ${m}`) } }),
    { host: '127.0.0.1', port: 0 },
  );
  // The gateway subscribes at start: a first event that shows up in the buffer proves it listens.
  await waitFor(async () => {
    await publish({ type: 'message', message: msg(0) });
    return (await snapshot()).feed.length > 0 || undefined;
  }, 'the gateway subscribed to the chat feed', 10_000, 100);
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await rec?.close();
  pub?.disconnect();
  await bus?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('token guard', () => {
  it('refuses every chat route and the feed socket without the token', async () => {
    expect((await call('GET', ChatPaths.chat, undefined, { auth: false })).status).toBe(401);
    expect((await call('POST', ChatPaths.command, { action: 'answer', id: 'twitch:m0' }, { auth: false })).status).toBe(401);
    expect((await call('POST', ChatPaths.bannedWords, 'x\n', { auth: false })).status).toBe(401);
    const ws = await WsClient.open(`${gateway.url.replace(/^http/, 'ws')}${ChatPaths.feed}?token=wrong`);
    expect((await ws.closed).code).toBe(4401);
    expect(rec.count(ChatChannels.command)).toBe(0);
  });
});

describe('the feed', () => {
  it('keeps the recent messages with their later fate merged in, bounded, oldest out first', async () => {
    await publish({ type: 'message', message: msg(1, { kind: 'paid', paid: { amount: 5, currency: 'USD', display: '$5.00' } }), priority: 3 });
    await publish({ type: 'message', message: msg(2), priority: 0 });
    await publish({ type: 'message', message: msg(3), dropped: 'link' });
    await publish({ type: 'picked', ids: ['twitch:m1'], reason: 'paid', turn_id: 't1' });
    await publish({ type: 'dropped', id: 'twitch:m2', reason: 'aged_out' });
    const s = await waitFor(async () => {
      const got = await snapshot();
      return got.feed.find((e) => e.message.id === 'twitch:m2')?.fate === 'dropped' ? got : undefined;
    }, 'the feed with the fates', 10_000, 50);
    const byId = Object.fromEntries(s.feed.map((e) => [e.message.id, e]));
    expect(byId['twitch:m1']).toMatchObject({ fate: 'picked', priority: 3, picked: { reason: 'paid', turn_id: 't1' }, message: { paid: { amount: 5, currency: 'USD' } } });
    expect(byId['twitch:m2']).toMatchObject({ fate: 'dropped', dropped: 'aged_out' });
    expect(byId['twitch:m3']).toMatchObject({ fate: 'dropped', dropped: 'link' });
    expect(s.capacity).toBe(5);

    // Past the capacity the oldest go: 0..6 published, 2..6 kept.
    for (const n of [4, 5, 6]) await publish({ type: 'message', message: msg(n) });
    const full = await waitFor(async () => {
      const got = await snapshot();
      return got.feed.some((e) => e.message.id === 'twitch:m6') ? got : undefined;
    }, 'message 6', 10_000, 50);
    expect(full.feed.map((e) => e.message.id)).toEqual(['twitch:m2', 'twitch:m3', 'twitch:m4', 'twitch:m5', 'twitch:m6']);
  });

  it('skips a malformed event with a log line and goes on', async () => {
    await publish('{not json');
    await publish({ type: 'message', message: { id: 'x' } } as unknown as FeedEventInput);
    await publish({ type: 'message', message: msg(7) });
    await waitFor(async () => (await snapshot()).feed.some((e) => e.message.id === 'twitch:m7') || undefined, 'message 7 after the bad ones', 10_000, 50);
    expect(logs.filter((l) => l.includes('malformed event')).length).toBe(2);
  });

  it('pushes a snapshot, then each event, to the feed socket', async () => {
    const ws = await WsClient.open(`${gateway.url.replace(/^http/, 'ws')}${ChatPaths.feed}?token=${token}`);
    const first = await ws.json();
    expect(first.type).toBe('snapshot');
    expect(first.feed.map((e: Json) => e.message.id)).toContain('twitch:m7');
    await publish({ type: 'message', message: msg(8, { platform: 'bilibili', id: 'bilibili:m8', kind: 'gift', gift: { name: '小心心', count: 3 } }) });
    expect(await ws.json()).toMatchObject({ type: 'message', message: { id: 'bilibili:m8', gift: { name: '小心心', count: 3 } } });
    await publish({ type: 'picked', ids: ['bilibili:m8'], reason: 'thanks', turn_id: 't2', note: 'thank you viewer8' });
    expect(await ws.json()).toMatchObject({ type: 'picked', ids: ['bilibili:m8'], reason: 'thanks' });
    ws.close();
  });
});

describe('commands', () => {
  it('publishes "answer this" for live-chat, and says so when no live-chat service listens', async () => {
    // The recorder subscribed to fav:chat:command and a status key stand in for the service.
    await pub.set(CHAT_STATUS_KEY, '[]', 'PX', 60_000);
    const r = await call<ChatCommandResult>('POST', ChatPaths.command, { action: 'answer', id: 'twitch:m5' });
    expect(r).toEqual({ status: 200, body: { ok: true, delivered: true } });
    const got = await waitFor(() => rec.msgs(ChatChannels.command).find((m) => m.action === 'answer'), 'the answer command', 5000, 10);
    expect(got).toEqual({ action: 'answer', id: 'twitch:m5' });

    const bad = await call('POST', ChatPaths.command, { action: 'shout', id: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/expected \{"action":"answer"/);
  });

  it('bans and unbans: published, and saved into the settings as platform:id', async () => {
    const ban = await call<ChatCommandResult>('POST', ChatPaths.command, { action: 'ban', platform: 'twitch', user_id: 'u5', name: 'viewer5' });
    expect(ban.body).toEqual({ ok: true, delivered: true, bannedUsers: ['twitch:u5'] });
    await waitFor(() => rec.msgs(ChatChannels.command).find((m) => m.action === 'ban'), 'the ban command', 5000, 10);
    expect(rec.msgs(ChatChannels.command).find((m) => m.action === 'ban')).toEqual({ action: 'ban', platform: 'twitch', user_id: 'u5', name: 'viewer5' });
    expect(JSON.parse(readFileSync(path.join(dir, 'settings.json'), 'utf8')).liveChat.moderation.bannedUsers).toEqual(['twitch:u5']);
    // Banning twice keeps one entry.
    expect((await call<ChatCommandResult>('POST', ChatPaths.command, { action: 'ban', platform: 'twitch', user_id: 'u5' })).body.bannedUsers).toEqual(['twitch:u5']);

    const unban = await call<ChatCommandResult>('POST', ChatPaths.command, { action: 'unban', platform: 'twitch', user_id: 'u5' });
    expect(unban.body).toEqual({ ok: true, delivered: true, bannedUsers: [] });
    expect(settings.current().liveChat.moderation.bannedUsers).toEqual([]);
    await waitFor(() => rec.msgs(ChatChannels.command).find((m) => m.action === 'unban'), 'the unban command', 5000, 10);
  });
});

describe('banned-word import', () => {
  it('merges a plain text file (comments, blanks and repeats left out) and saves it', async () => {
    const r = await call<BannedWordsResult>('POST', ChatPaths.bannedWords, '# my list\nbadword\n\n  Spoiler  \nbad phrase # trailing comment\nBADWORD\r\n傻瓜\n');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ mode: 'merge', read: 4, added: 3, words: ['spoiler', 'badword', 'bad phrase', '傻瓜'] });
    expect(settings.current().liveChat.moderation.bannedWords).toEqual(['spoiler', 'badword', 'bad phrase', '傻瓜']);
  });

  it('replaces the list with ?mode=replace', async () => {
    const r = await call<BannedWordsResult>('POST', `${ChatPaths.bannedWords}?mode=replace`, 'only\n');
    expect(r.body).toMatchObject({ mode: 'replace', read: 1, words: ['only'] });
    expect(settings.current().liveChat.moderation.bannedWords).toEqual(['only']);
  });

  it('refuses a bad file with an error that names the fix, and keeps the list', async () => {
    const cases: Array<[unknown, RegExp, string?]> = [
      ['# only comments\n\n', /no words: put one word or phrase per line/],
      [`ok\n${'x'.repeat(101)}\n`, /line 2 is 101 characters long/],
      [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]), /not a text file: save the list as UTF-8 plain text/, 'application/octet-stream'],
      [{ words: ['a'] }, /Content-Type: text\/plain/],
    ];
    for (const [body, error, type] of cases) {
      const r = await call('POST', ChatPaths.bannedWords, body, type ? { type } : {});
      expect(r.status, String(error)).toBe(400);
      expect(r.body.error).toMatch(error);
    }
    expect((await call('POST', `${ChatPaths.bannedWords}?mode=all`, 'x\n')).body.error).toMatch(/merge or replace/);
    expect(settings.current().liveChat.moderation.bannedWords).toEqual(['only']);
  });
});

describe('/health liveChat', () => {
  it('is [] while no status is stored, then the stored statuses, then [] again once the key expired', async () => {
    await pub.del(CHAT_STATUS_KEY);
    const before = await call('GET', '/health', undefined, { auth: false });
    expect(HealthBodySchema.parse(before.body).liveChat).toEqual([]);

    const statuses: ChatConnectionStatus[] = [
      { id: 'tw', platform: 'twitch', channel: 'mio', state: 'live', since: 1, messages: 12, malformed: 1, can_post: true },
      { id: 'yt', platform: 'youtube', channel: 'dQw4w9WgXcQ', state: 'reconnecting', detail: 'connection lost', since: 2, messages: 0, malformed: 0, retry_in_ms: 2000, can_post: false },
    ];
    await pub.set(CHAT_STATUS_KEY, JSON.stringify(statuses), 'PX', 60_000);
    expect(HealthBodySchema.parse((await call('GET', '/health', undefined, { auth: false })).body).liveChat).toEqual(statuses);

    await pub.pexpire(CHAT_STATUS_KEY, 1);
    await waitFor(async () => (await pub.exists(CHAT_STATUS_KEY)) === 0 || undefined, 'the status key expired', 5000, 10);
    expect(HealthBodySchema.parse((await call('GET', '/health', undefined, { auth: false })).body).liveChat).toEqual([]);
  });

  it('is [] when the bus does not answer, and /health still answers', async () => {
    const port = await freePort();
    const lonely = await startGateway(testGatewayDeps({ token, chat: { busUrl: `redis://127.0.0.1:${port}` } }), { host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(`${lonely.url}/health`);
      expect(res.status).toBe(200);
      expect(HealthBodySchema.parse(await res.json()).liveChat).toEqual([]);
    } finally {
      await lonely.close();
    }
  });

  it('shows the connection statuses a status event carried in the snapshot', async () => {
    await publish({ type: 'status', connections: [{ id: 'tw', platform: 'twitch', channel: 'mio', state: 'error', detail: 'token refused', since: 3, messages: 0, malformed: 0, can_post: false }] });
    const s = await waitFor(async () => ((await snapshot()).connections[0]?.state === 'error' ? await snapshot() : undefined), 'the status in the snapshot', 5000, 50);
    expect(s.connections).toHaveLength(1);
  });
});

describe('connection tokens are secrets', () => {
  it('masks them in GET /api/settings and /api/config, keeps them when a save leaves them out, never logs them', async () => {
    const view = (await call<SettingsView>('GET', '/api/settings')).body;
    expect(JSON.stringify(view)).not.toContain(TWITCH_TOKEN);
    expect(view.settings.liveChat?.connections?.[0]).not.toHaveProperty('token');
    expect(view.secretsSet).toContain('liveChat.connections.tw.token');
    expect(view.secretsSet).not.toContain('liveChat.connections.yt.token');

    // The page sends the connections back without the token: the stored one stays.
    const conns = view.settings.liveChat!.connections!.map((c) => ({ ...c }));
    conns[1] = { ...conns[1]!, channel: 'otherVideo1' };
    const saved = await call<SaveResult>('PUT', '/api/settings', { liveChat: { connections: conns } });
    expect(saved.status).toBe(200);
    expect(saved.body.changed).toEqual(['liveChat.connections']);
    expect(settings.current().liveChat.connections[0]!.token).toBe(TWITCH_TOKEN);
    expect(settings.current().liveChat.connections[1]!.channel).toBe('otherVideo1');
    expect(JSON.stringify(saved.body)).not.toContain(TWITCH_TOKEN);

    // A new token replaces it; '' clears it.
    await call('PUT', '/api/settings', { liveChat: { connections: [{ ...conns[0], token: 'oauth:new' }, conns[1]] } });
    expect(settings.current().liveChat.connections[0]!.token).toBe('oauth:new');
    await call('PUT', '/api/settings', { liveChat: { connections: [{ ...conns[0], token: '' }, conns[1]] } });
    expect(settings.current().liveChat.connections[0]!.token).toBeUndefined();
    expect((await call<SettingsView>('GET', '/api/settings')).body.secretsSet).not.toContain('liveChat.connections.tw.token');

    await call('PUT', '/api/settings', { liveChat: { connections: [{ ...conns[0], token: TWITCH_TOKEN }, conns[1]] } });
    expect(settings.current().liveChat.connections[0]!.token).toBe(TWITCH_TOKEN);
    const config = (await call('GET', '/api/config')).body;
    expect(config.config.liveChat.connections[0].token).toBe('***');
    expect(JSON.stringify(config)).not.toContain(TWITCH_TOKEN);
    expect(logs.some((l) => l.includes('liveChat.connections'))).toBe(true);
    expect(logs.join('\n')).not.toContain(TWITCH_TOKEN);
    expect(logs.join('\n')).not.toContain('oauth:new');
  });
});

describe('no live-chat service', () => {
  it('answers 503 to "answer this" when no live-chat service runs (chat-ai may still listen for bans), and still saves a ban', async () => {
    await pub.del(CHAT_STATUS_KEY);
    // chat-ai subscribes to fav:chat:command too: a listener alone does not make "answer this" deliverable.
    const answer = await call('POST', ChatPaths.command, { action: 'answer', id: 'twitch:m7' });
    expect(answer.status).toBe(503);
    await rec.close();
    const r = await call('POST', ChatPaths.command, { action: 'answer', id: 'twitch:m6' });
    expect(r.status).toBe(503);
    expect(r.body.error).toMatch(/live-chat service is not running.*start it in the manager/);
    const ban = await call<ChatCommandResult>('POST', ChatPaths.command, { action: 'ban', platform: 'youtube', user_id: 'UCx' });
    expect(ban.body).toEqual({ ok: true, delivered: false, bannedUsers: ['youtube:UCx'] });
    rec = await Recorder.open(bus.url, [ChatChannels.command]);
  });
});
