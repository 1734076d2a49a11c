import { describe, expect, it } from 'vitest';
import { LiveChatMessage } from '../../../shared/live-chat.js';
import { parseCommand, type BilibiliRoom } from './bilibili-parse.js';

const room: BilibiliRoom = { connection: 'bili', roomId: 21452505, shortId: 5, ownerUid: 1000 };
const NOW = 1_700_000_000_000;

function danmu(over: { text?: string; uid?: number; name?: string; admin?: number; medal?: unknown[]; guard?: number; sticker?: boolean; extra?: string; hash?: string; ts?: number } = {}) {
  const meta: unknown[] = [0, 1, 25, 16777215, over.ts ?? NOW - 500, 0, 0, over.hash ?? 'c5c630b1', 0, 0, 0, '', 0, over.sticker ? { emoticon_unique: 'x' } : '{}', '{}', { extra: over.extra ?? '{}' }];
  return {
    cmd: 'DANMU_MSG:4:0:2:2:2:0',
    info: [meta, over.text ?? 'hello', [over.uid ?? 42, over.name ?? 'alice', over.admin ?? 0, 0, 0, 10000, 1, ''], over.medal ?? [], [], [], 0, over.guard ?? 0, null, { ts: 1, ct: 'AB' }],
  };
}

function message(body: unknown): LiveChatMessage {
  const r = parseCommand(room, body, NOW);
  if (r.type !== 'message') throw new Error(`expected a message, got ${JSON.stringify(r)}`);
  return LiveChatMessage.parse(r.message);
}

describe('bilibili commands to LiveChatMessage', () => {
  it('reads a danmaku line with the suffixed cmd, its author, time and the platform id', () => {
    const m = message(danmu({ extra: JSON.stringify({ id_str: 'abc123' }) }));
    expect(m).toMatchObject({
      id: 'bilibili:dm-abc123',
      platform: 'bilibili',
      connection: 'bili',
      channel: '21452505',
      author: { id: '42', name: 'alice', roles: [] },
      text: 'hello',
      kind: 'message',
      sent_at: NOW - 500,
      received_at: NOW,
    });
  });

  it('builds the same id from the same content when the line has no id_str, and another for other content', () => {
    const a = message(danmu()).id;
    expect(message(danmu()).id).toBe(a);
    expect(a).toMatch(/^bilibili:dm-[0-9a-f]{20}$/);
    expect(message(danmu({ text: 'other' })).id).not.toBe(a);
  });

  it('gives roles: owner broadcaster, room admin moderator, guard member, this room fan medal subscriber', () => {
    expect(message(danmu({ uid: 1000 })).author.roles).toEqual(['broadcaster']);
    expect(message(danmu({ admin: 1, guard: 3, medal: [12, 'fan', 'x', 5] })).author.roles).toEqual(['moderator', 'member', 'subscriber']);
    expect(message(danmu({ medal: [12, 'fan', 'x', 999] })).author.roles).toEqual([]);
  });

  it('writes a sticker as [name], keeps inline emoticons as they are', () => {
    expect(message(danmu({ text: '打call', sticker: true })).text).toBe('[打call]');
    expect(message(danmu({ text: '[dog]', sticker: true })).text).toBe('[dog]');
    expect(message(danmu({ text: 'hi [doge]' })).text).toBe('hi [doge]');
  });

  it('keeps anonymous viewers apart by the uid hash', () => {
    const a = message(danmu({ uid: 0, name: 'al***', hash: 'aaaa1111' }));
    const b = message(danmu({ uid: 0, name: 'al***', hash: 'bbbb2222' }));
    expect(a.author.id).toBe('hash-aaaa1111');
    expect(b.author.id).toBe('hash-bbbb2222');
  });

  it('reads a gold gift as a paid gift in CNY (1000 gold = 1 CNY) and a silver one as unpaid', () => {
    const gold = message({ cmd: 'SEND_GIFT', data: { uid: 7, uname: 'bob', giftName: '小花花', num: 3, price: 100, total_coin: 300, coin_type: 'gold', tid: 't1', timestamp: 1_700_000_000 } });
    expect(gold).toMatchObject({ id: 'bilibili:gift-t1', kind: 'gift', text: '', author: { id: '7', name: 'bob' }, gift: { name: '小花花', count: 3 }, paid: { amount: 0.3, currency: 'CNY' }, sent_at: 1_700_000_000_000 });
    const silver = message({ cmd: 'SEND_GIFT', data: { uid: 7, uname: 'bob', giftName: '辣条', num: 1, price: 100, total_coin: 100, coin_type: 'silver' } });
    expect(silver.paid).toBeUndefined();
    expect(silver.gift).toEqual({ name: '辣条', count: 1 });
  });

  it('reads a Super Chat as paid with its CNY price and its id', () => {
    const m = message({ cmd: 'SUPER_CHAT_MESSAGE', data: { id: 99, uid: 8, price: 30, message: 'read me', user_info: { uname: 'carol', guard_level: 2 }, start_time: 1_700_000_001 } });
    expect(m).toMatchObject({ id: 'bilibili:sc-99', kind: 'paid', text: 'read me', author: { id: '8', name: 'carol', roles: ['member'] }, paid: { amount: 30, currency: 'CNY', display: 'CN¥30' } });
  });

  it('reads a guard purchase as a member with the level name, months and price', () => {
    const m = message({ cmd: 'GUARD_BUY', data: { uid: 9, username: 'dave', guard_level: 3, num: 2, price: 198000, gift_name: '舰长', start_time: 1_700_000_002 } });
    expect(m).toMatchObject({ kind: 'member', author: { id: '9', name: 'dave', roles: ['member'] }, gift: { name: '舰长', count: 2 }, paid: { amount: 396, currency: 'CNY' } });
    expect(m.id).toMatch(/^bilibili:guard-/);
  });

  it('ignores unknown cmds quietly, reports LIVE / PREPARING / ROOM_LOCK, and calls known cmds of the wrong shape malformed', () => {
    expect(parseCommand(room, { cmd: 'INTERACT_WORD', data: {} }, NOW)).toEqual({ type: 'ignored', cmd: 'INTERACT_WORD' });
    expect(parseCommand(room, { cmd: 'LIVE', roomid: 1 }, NOW)).toEqual({ type: 'broadcast', live: true });
    expect(parseCommand(room, { cmd: 'PREPARING' }, NOW)).toEqual({ type: 'broadcast', live: false });
    expect(parseCommand(room, { cmd: 'ROOM_LOCK', expire: '2026-12-31 00:00:00', roomid: 21452505 }, NOW)).toEqual({ type: 'locked' });
    for (const bad of [[1, 2], { info: [] }, { cmd: 'DANMU_MSG', info: 'x' }, { cmd: 'DANMU_MSG', info: [[], 'text'] }, { cmd: 'SEND_GIFT' }, { cmd: 'SUPER_CHAT_MESSAGE', data: { id: 1 } }, { cmd: 'GUARD_BUY', data: { uid: 1, guard_level: 7 } }]) {
      expect(parseCommand(room, bad, NOW).type).toBe('malformed');
    }
  });
});
