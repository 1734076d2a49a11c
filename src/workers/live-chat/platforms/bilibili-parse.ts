/**
 * Bilibili live commands (operation 5 bodies, JSON `{cmd, info | data}`) to `LiveChatMessage`s.
 *
 *   DANMU_MSG           a chat line: info[1] text, info[2] [uid, name, is room admin, ...], info[3] fan
 *                       medal [level, name, streamer, streamer's room, ...], info[7] guard level,
 *                       info[0][4] sent (ms), info[0][7] a hash of the uid (what an anonymous viewer
 *                       still shows), info[0][13] the sticker when the line is one, info[0][15].extra
 *                       JSON whose id_str identifies the line.
 *   SEND_GIFT           data.uname, uid, giftName, num, price / total_coin and coin_type: 'gold' is paid
 *                       (1000 gold = 1 CNY), 'silver' is free; data.tid identifies the gift.
 *   SUPER_CHAT_MESSAGE  data.id, price (CNY), message, uid, user_info.uname.
 *   GUARD_BUY           data.uid, username, guard_level (1 总督, 2 提督, 3 舰长), num (months), price
 *                       (gold per unit), gift_name, start_time.
 *
 * LIVE / PREPARING say the streamer started / stopped broadcasting, ROOM_LOCK that Bilibili locked the
 * room. A cmd may carry a suffix ("DANMU_MSG:4:0:2:2:2:0"). Other cmds (dozens: entries, likes, rankings)
 * are ignored. A known cmd with the wrong shape is malformed. Pure: no I/O, no clock but `now`.
 */
import { createHash } from 'node:crypto';
import type { ChatRole, LiveChatMessage } from '../../../shared/live-chat.js';

export interface BilibiliRoom {
  /** The configured connection id. */
  connection: string;
  /** The real (long) room id. */
  roomId: number;
  /** The short id the room is also known by (0 when none). */
  shortId: number;
  /** The streamer's uid (their lines get the broadcaster role). */
  ownerUid: number;
}

export type ParsedCommand =
  | { type: 'message'; message: LiveChatMessage }
  /** The room went live (LIVE) or stopped broadcasting (PREPARING); chat keeps flowing either way. */
  | { type: 'broadcast'; live: boolean }
  /** Bilibili locked (banned) the room: nothing more will come. */
  | { type: 'locked' }
  | { type: 'ignored'; cmd: string }
  | { type: 'malformed'; what: string };

const GUARD_NAMES: Record<number, string> = { 1: '总督', 2: '提督', 3: '舰长' };

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** An id built from the content, where the platform gives none (same packet, same id). */
function contentId(parts: unknown[]): string {
  return createHash('sha1').update(JSON.stringify(parts)).digest('hex').slice(0, 20);
}

/** Uid 0 is every anonymous viewer: use the uid hash so one viewer is still one author. */
function authorId(uid: number | undefined, hash: string | undefined): string | undefined {
  if (uid && uid > 0) return String(uid);
  if (hash) return `hash-${hash}`;
  return undefined;
}

function cny(gold: number): LiveChatMessage['paid'] {
  const amount = Math.round(gold) / 1000;
  return { amount, currency: 'CNY', display: `CN¥${amount}` };
}

function roles(room: BilibiliRoom, uid: number | undefined, o: { admin?: boolean; guard?: number; medalRoom?: number }): ChatRole[] {
  const out: ChatRole[] = [];
  if (uid && uid === room.ownerUid) out.push('broadcaster');
  if (o.admin) out.push('moderator');
  if (o.guard && o.guard > 0) out.push('member');
  // A fan medal of this room: the viewer joined the streamer's fan club (a small paid badge).
  if (o.medalRoom && (o.medalRoom === room.roomId || o.medalRoom === room.shortId)) out.push('subscriber');
  return out;
}

function seconds(v: unknown): number | undefined {
  const n = num(v);
  return n && n > 0 ? n * 1000 : undefined;
}

function danmaku(room: BilibiliRoom, info: unknown, now: number): ParsedCommand {
  if (!Array.isArray(info)) return { type: 'malformed', what: 'DANMU_MSG without an info array' };
  const meta: unknown[] = Array.isArray(info[0]) ? info[0] : [];
  const text = str(info[1]);
  const user: unknown[] | undefined = Array.isArray(info[2]) ? info[2] : undefined;
  if (text === undefined || !user) return { type: 'malformed', what: 'DANMU_MSG without info[1] text or info[2] user' };
  const uid = num(user[0]);
  const id = authorId(uid, str(meta[7]));
  if (!id) return { type: 'malformed', what: 'DANMU_MSG without a uid or uid hash' };
  const medal: unknown[] = Array.isArray(info[3]) ? info[3] : [];
  const sentAt = num(meta[4]);
  let platformId: string | undefined;
  const extra = isObj(meta[15]) ? str(meta[15].extra) : undefined;
  if (extra) {
    try {
      const parsed: unknown = JSON.parse(extra);
      if (isObj(parsed)) platformId = str(parsed.id_str) || undefined;
    } catch {
      // An unreadable extra only costs the platform id; the content id below still identifies the line.
    }
  }
  const check = isObj(info[9]) ? str(info[9].ct) : undefined;
  // A sticker's text is its name ("打call"); written as [name] like the inline emoticons ("[doge]").
  const sticker = isObj(meta[13]);
  const shown = sticker && !/^\[.*\]$/.test(text) ? `[${text}]` : text;
  return {
    type: 'message',
    message: {
      id: `bilibili:dm-${platformId ?? contentId([room.roomId, id, sentAt, check, text])}`,
      platform: 'bilibili',
      connection: room.connection,
      channel: String(room.roomId),
      author: { id, name: str(user[1]) ?? '', roles: roles(room, uid, { admin: num(user[2]) === 1, guard: num(info[7]), medalRoom: num(medal[3]) }) },
      text: shown,
      kind: 'message',
      sent_at: sentAt && sentAt > 0 ? sentAt : undefined,
      received_at: now,
    },
  };
}

function gift(room: BilibiliRoom, d: Obj, now: number): ParsedCommand {
  const uid = num(d.uid);
  const name = str(d.giftName);
  const count = num(d.num);
  if (!uid || name === undefined || !count || count < 1) return { type: 'malformed', what: 'SEND_GIFT without data.uid, giftName or num' };
  const gold = d.coin_type === 'gold' ? (num(d.total_coin) ?? (num(d.price) ?? 0) * count) : 0;
  const medal = isObj(d.medal_info) ? d.medal_info : {};
  const platformId = str(d.tid) || undefined;
  return {
    type: 'message',
    message: {
      id: `bilibili:gift-${platformId ?? contentId([room.roomId, uid, d.timestamp, d.rnd, name, count])}`,
      platform: 'bilibili',
      connection: room.connection,
      channel: String(room.roomId),
      author: { id: String(uid), name: str(d.uname) ?? '', roles: roles(room, uid, { guard: num(d.guard_level), medalRoom: num(medal.anchor_roomid) }) },
      text: '',
      kind: 'gift',
      gift: { name, count: Math.floor(count) },
      paid: gold > 0 ? cny(gold) : undefined,
      sent_at: seconds(d.timestamp),
      received_at: now,
    },
  };
}

function superChat(room: BilibiliRoom, d: Obj, now: number): ParsedCommand {
  const id = num(d.id);
  const uid = num(d.uid);
  const price = num(d.price);
  const message = str(d.message);
  if (!id || !uid || price === undefined || price < 0 || message === undefined) {
    return { type: 'malformed', what: 'SUPER_CHAT_MESSAGE without data.id, uid, price or message' };
  }
  const user = isObj(d.user_info) ? d.user_info : {};
  const medal = isObj(d.medal_info) ? d.medal_info : {};
  return {
    type: 'message',
    message: {
      id: `bilibili:sc-${id}`,
      platform: 'bilibili',
      connection: room.connection,
      channel: String(room.roomId),
      author: { id: String(uid), name: str(user.uname) ?? '', roles: roles(room, uid, { guard: num(user.guard_level), medalRoom: num(medal.anchor_roomid) }) },
      text: message,
      kind: 'paid',
      paid: { amount: price, currency: 'CNY', display: `CN¥${price}` },
      sent_at: seconds(d.start_time) ?? seconds(d.ts),
      received_at: now,
    },
  };
}

function guard(room: BilibiliRoom, d: Obj, now: number): ParsedCommand {
  const uid = num(d.uid);
  const level = num(d.guard_level);
  const count = num(d.num) ?? 1;
  if (!uid || !level || !GUARD_NAMES[level] || count < 1) return { type: 'malformed', what: 'GUARD_BUY without data.uid or a guard_level of 1, 2 or 3' };
  const price = num(d.price) ?? 0;
  return {
    type: 'message',
    message: {
      id: `bilibili:guard-${contentId([room.roomId, uid, level, count, d.start_time, d.end_time])}`,
      platform: 'bilibili',
      connection: room.connection,
      channel: String(room.roomId),
      author: { id: String(uid), name: str(d.username) ?? '', roles: roles(room, uid, { guard: level }) },
      text: '',
      kind: 'member',
      gift: { name: str(d.gift_name) || GUARD_NAMES[level], count: Math.floor(count) },
      paid: price > 0 ? cny(price * count) : undefined,
      sent_at: seconds(d.start_time),
      received_at: now,
    },
  };
}

/** One command body (already JSON-parsed) of `room`. */
export function parseCommand(room: BilibiliRoom, body: unknown, now: number): ParsedCommand {
  if (!isObj(body)) return { type: 'malformed', what: 'a command that is not a JSON object' };
  const full = str(body.cmd);
  if (!full) return { type: 'malformed', what: 'a command without cmd' };
  const cmd = full.split(':')[0];
  const data = body.data;
  switch (cmd) {
    case 'DANMU_MSG':
      return danmaku(room, body.info, now);
    case 'SEND_GIFT':
      return isObj(data) ? gift(room, data, now) : { type: 'malformed', what: 'SEND_GIFT without data' };
    case 'SUPER_CHAT_MESSAGE':
      return isObj(data) ? superChat(room, data, now) : { type: 'malformed', what: 'SUPER_CHAT_MESSAGE without data' };
    case 'GUARD_BUY':
      return isObj(data) ? guard(room, data, now) : { type: 'malformed', what: 'GUARD_BUY without data' };
    case 'LIVE':
      return { type: 'broadcast', live: true };
    case 'PREPARING':
      return { type: 'broadcast', live: false };
    case 'ROOM_LOCK':
      return { type: 'locked' };
    default:
      return { type: 'ignored', cmd };
  }
}
