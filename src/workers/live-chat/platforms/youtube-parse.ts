/**
 * YouTube InnerTube live-chat JSON -> `LiveChatMessage`s: one page of `get_live_chat`
 * (`continuationContents.liveChatContinuation`) becomes the chat items it holds, the next
 * continuation with the interval the server asks for, and a note per action that could not be read.
 *
 * Pure (no I/O): the connector (youtube.ts) fetches, this reads. YouTube's JSON is untrusted input,
 * so every field is checked by hand; an unknown action type (tickers, banners, polls, deletions) is
 * ignored, a known renderer missing what a message needs is reported as malformed.
 */
import type { ChatKind, ChatRole, LiveChatMessage } from '../../../shared/live-chat.js';
import { parsePaidAmount } from './youtube-currency.js';

type Json = Record<string, unknown>;

export function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function obj(v: unknown): Json | undefined {
  return isObj(v) ? v : undefined;
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** `{simpleText}` or `{runs:[...]}` as plain text; emoji runs become their first shortcut (":smile:"). */
export function textOf(v: unknown): string {
  const o = obj(v);
  if (!o) return '';
  if (typeof o.simpleText === 'string') return o.simpleText;
  if (!Array.isArray(o.runs)) return '';
  let out = '';
  for (const run of o.runs) {
    const r = obj(run);
    if (!r) continue;
    if (typeof r.text === 'string') out += r.text;
    else if (isObj(r.emoji)) out += emojiText(r.emoji);
  }
  return out;
}

function emojiText(e: Json): string {
  const shortcuts = Array.isArray(e.shortcuts) ? e.shortcuts.filter((s): s is string => typeof s === 'string') : [];
  if (shortcuts[0]) return shortcuts[0];
  // A channel's custom emoji without shortcuts: its label (":name:") or id.
  const label = str(obj(obj(obj(e.image)?.accessibility)?.accessibilityData)?.label);
  return label ? `:${label.replace(/^:|:$/g, '')}:` : (str(e.emojiId) ?? '');
}

/** Author badges -> roles: the owner's, a moderator's and the verified badge have an icon; a member's badge is a custom thumbnail. */
export function rolesOf(badges: unknown): ChatRole[] {
  if (!Array.isArray(badges)) return [];
  const roles = new Set<ChatRole>();
  for (const b of badges) {
    const r = obj(obj(b)?.liveChatAuthorBadgeRenderer);
    if (!r) continue;
    const icon = str(obj(r.icon)?.iconType);
    if (icon === 'OWNER') roles.add('broadcaster');
    else if (icon === 'MODERATOR') roles.add('moderator');
    else if (icon === 'VERIFIED') roles.add('verified');
    else if (r.customThumbnail !== undefined || /member/i.test(str(r.tooltip) ?? '')) roles.add('member');
  }
  return [...roles];
}

export interface ChatContinuation {
  token: string;
  /** How long the server asks the client to wait before the next poll (absent: the client's default). */
  timeoutMs?: number;
}

export interface ChatPage {
  messages: LiveChatMessage[];
  /** Absent when the page has none: the stream has ended. */
  continuation?: ChatContinuation;
  /** One sentence per action that could not be read (skipped). */
  malformed: { what: string; sample: string }[];
}

export interface PageContext {
  connection: string;
  /** The video id (the message's `channel`). */
  videoId: string;
  receivedAt: number;
}

/** The first continuation of a list: timed, invalidation or reload data all carry `continuation` (+ `timeoutMs`). */
export function continuationOf(list: unknown): ChatContinuation | undefined {
  if (!Array.isArray(list)) return undefined;
  for (const c of list) {
    const o = obj(c);
    if (!o) continue;
    for (const data of Object.values(o)) {
      const d = obj(data);
      const token = str(d?.continuation);
      if (!d || !token) continue;
      const timeout = d.timeoutMs;
      return typeof timeout === 'number' && Number.isFinite(timeout) ? { token, timeoutMs: timeout } : { token };
    }
  }
  return undefined;
}

/**
 * Reads one `get_live_chat` answer. Throws (with a sentence) only when the answer as a whole is not
 * a live-chat page; single bad actions land in `malformed`.
 */
export function parseChatPage(body: unknown, ctx: PageContext): ChatPage {
  const chat = obj(obj(obj(body)?.continuationContents)?.liveChatContinuation);
  if (!chat) throw new Error('the answer has no continuationContents.liveChatContinuation');
  const page: ChatPage = { messages: [], malformed: [], continuation: continuationOf(chat.continuations) };
  const actions = chat.actions === undefined ? [] : chat.actions;
  if (!Array.isArray(actions)) throw new Error('liveChatContinuation.actions is not a list');
  for (const action of actions) {
    const a = obj(action);
    if (!a) {
      page.malformed.push({ what: 'a live-chat action that is not an object', sample: sample(action) });
      continue;
    }
    // A replaced item is a message first shown as a placeholder (held for review), now its text.
    const replace = obj(a.replaceChatItemAction);
    const add = a.addChatItemAction;
    if (add === undefined && !replace) continue; // deletions, tickers, banners, polls, mode changes: not chat items
    const item = replace ? obj(replace.replacementItem) : obj(obj(add)?.item);
    if (!item) {
      page.malformed.push({ what: replace ? 'replaceChatItemAction without a replacementItem' : 'addChatItemAction without an item', sample: sample(action) });
      continue;
    }
    try {
      const m = chatItem(item, ctx, (what) => page.malformed.push({ what, sample: sample(item) }));
      if (m) page.messages.push(m);
    } catch (err) {
      page.malformed.push({ what: (err as Error).message, sample: sample(item) });
    }
  }
  return page;
}

const ITEM_KINDS: Record<string, ChatKind> = {
  liveChatTextMessageRenderer: 'message',
  liveChatPaidMessageRenderer: 'paid',
  liveChatPaidStickerRenderer: 'paid',
  liveChatMembershipItemRenderer: 'member',
  liveChatSponsorshipsGiftPurchaseAnnouncementRenderer: 'gift',
};

/** One chat item -> a message; undefined for items that are not chat (system notices, gift redemptions). */
function chatItem(item: Json, ctx: PageContext, note: (what: string) => void): LiveChatMessage | undefined {
  const [type, value] = Object.entries(item)[0] ?? [];
  if (!type || !(type in ITEM_KINDS)) return undefined;
  const r = obj(value);
  if (!r) throw new Error(`${type} is not an object`);
  const id = str(r.id);
  if (!id) throw new Error(`${type} has no id`);
  const authorId = str(r.authorExternalChannelId);
  if (!authorId) throw new Error(`${type} ${id} has no authorExternalChannelId`);
  // A gift purchase keeps its author's name and badges in its header.
  const head = obj(obj(r.header)?.liveChatSponsorshipsHeaderRenderer) ?? r;
  const usec = Number(str(r.timestampUsec));
  const m: LiveChatMessage = {
    id: `youtube:${id}`,
    platform: 'youtube',
    connection: ctx.connection,
    channel: ctx.videoId,
    author: { id: authorId, name: textOf(head.authorName), roles: rolesOf(head.authorBadges) },
    text: textOf(r.message),
    kind: ITEM_KINDS[type]!,
    received_at: ctx.receivedAt,
  };
  if (Number.isFinite(usec) && usec > 0) m.sent_at = Math.floor(usec / 1000);
  switch (type) {
    case 'liveChatPaidMessageRenderer':
    case 'liveChatPaidStickerRenderer': {
      const display = textOf(r.purchaseAmountText);
      const paid = parsePaidAmount(display);
      // Still a paid message (it is passed on, ranked as paid); only its amount is unknown.
      if (paid) m.paid = { ...paid, display };
      else note(`${type} ${id} has an amount that cannot be read: "${display}"`);
      if (type === 'liveChatPaidStickerRenderer') {
        const label = str(obj(obj(obj(r.sticker)?.accessibility)?.accessibilityData)?.label);
        m.gift = { name: label ? `Super Sticker: ${label}` : 'Super Sticker', count: 1 };
      }
      break;
    }
    case 'liveChatMembershipItemRenderer': {
      // New member: headerSubtext "Welcome to X!" / "New member". Milestone: headerPrimaryText
      // "Member for 6 months", headerSubtext the level's name.
      const primary = textOf(r.headerPrimaryText);
      const months = monthsOf(primary);
      const level = months ? textOf(r.headerSubtext).trim() : '';
      m.gift = { name: level || 'membership', count: months ?? 1 };
      break;
    }
    case 'liveChatSponsorshipsGiftPurchaseAnnouncementRenderer': {
      const primary = textOf(head.primaryText); // "Gifted 5 X memberships"
      const count = Number(/(\d[\d,]*)/.exec(primary)?.[1]?.replace(/,/g, '') ?? '1');
      m.gift = { name: 'membership', count: Number.isInteger(count) && count > 0 ? count : 1 };
      break;
    }
  }
  return m;
}

/** "Member for 6 months" -> 6, "Member for 1 year" -> 12; undefined when it names no duration. */
function monthsOf(text: string): number | undefined {
  const match = /(\d+)\s*(month|year)/i.exec(text);
  if (!match) return undefined;
  const n = Number(match[1]);
  const months = match[2]!.toLowerCase() === 'year' ? n * 12 : n;
  return months > 0 ? months : undefined;
}

function sample(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
