/**
 * Live chat on the bus: one message shape for Twitch, YouTube and Bilibili (`LiveChatMessage`), the
 * status of each configured connection, the feed the studio shows (what came in, what was filtered,
 * what was picked and why) and the studio's commands to the live-chat service.
 *
 * Named `LiveChatMessage`, not `ChatMessage`: voice.ts already has `ChatMessage` for the LLM's
 * role/content messages.
 * Imports nothing of the project (src/shared is the bottom layer).
 */
import { z } from 'zod';

export const CHAT_PLATFORMS = ['twitch', 'youtube', 'bilibili'] as const;
export const ChatPlatform = z.enum(CHAT_PLATFORMS);
export type ChatPlatform = z.infer<typeof ChatPlatform>;

/** What the author is in the channel (from badges / tags / guard level). */
export const ChatRole = z.enum(['broadcaster', 'moderator', 'vip', 'subscriber', 'member', 'verified']);
export type ChatRole = z.infer<typeof ChatRole>;

/**
 *   message  an ordinary chat line
 *   paid     a paid message: Super Chat / Super Sticker (YouTube), Twitch bits (cheer), Bilibili SC
 *   gift     a gift (Bilibili SEND_GIFT), gifted subs (Twitch), gifted memberships (YouTube)
 *   member   a new membership (YouTube) or guard (Bilibili GUARD_BUY)
 *   sub      a Twitch sub or resub
 */
export const ChatKind = z.enum(['message', 'paid', 'gift', 'member', 'sub']);
export type ChatKind = z.infer<typeof ChatKind>;

export const LiveChatMessage = z.object({
  /** Unique across platforms: `<platform>:<platform's message id>` (a stable id, so a replay is recognised). */
  id: z.string().min(1),
  platform: ChatPlatform,
  /** The configured connection it came through (settings liveChat.connections[].id). */
  connection: z.string().min(1),
  /** Twitch channel login, YouTube video id, Bilibili room id. */
  channel: z.string().min(1),
  author: z.object({
    /** The platform's user id (Twitch user-id, YouTube channel id, Bilibili uid). */
    id: z.string().min(1),
    /** The display name. */
    name: z.string(),
    roles: z.array(ChatRole).default([]),
  }),
  /** The text, emojis and emotes as text (":smile:", "Kappa", "[doge]"); '' for a bare gift or sub notice. */
  text: z.string(),
  kind: ChatKind.default('message'),
  /** Paid messages: the amount in `currency` (ISO code where known; 'bits' for Twitch cheers). */
  paid: z.object({ amount: z.number().nonnegative(), currency: z.string().min(1), display: z.string().optional() }).optional(),
  /** Gifts, gifted subs, memberships, subs: what and how many (months for a resub). */
  gift: z.object({ name: z.string(), count: z.number().int().positive().default(1) }).optional(),
  /** When the platform says it was sent, ms since the epoch (when known). */
  sent_at: z.number().optional(),
  /** When our service received it, ms since the epoch. */
  received_at: z.number(),
});
export type LiveChatMessage = z.infer<typeof LiveChatMessage>;
export type LiveChatMessageInput = z.input<typeof LiveChatMessage>;

/**
 *   connecting    opening (first time)
 *   live          receiving
 *   reconnecting  lost, retrying with back-off (`retry_in_ms`)
 *   ended         the stream ended (YouTube) or the room closed: no retry until settings change
 *   error         cannot go on without a change (bad channel, token refused): `detail` says what to fix
 *   stopped       disabled in settings, or the service is stopping
 */
export const ChatConnectionState = z.enum(['connecting', 'live', 'reconnecting', 'ended', 'error', 'stopped']);
export type ChatConnectionState = z.infer<typeof ChatConnectionState>;

export const ChatConnectionStatus = z.object({
  id: z.string(),
  platform: ChatPlatform,
  channel: z.string(),
  state: ChatConnectionState,
  /** A human sentence for the current state (an error names its fix). */
  detail: z.string().optional(),
  /** Since when in this state, ms since the epoch. */
  since: z.number(),
  /** Messages received on this connection since the service started. */
  messages: z.number().int().nonnegative().default(0),
  /** Malformed packets skipped since the service started. */
  malformed: z.number().int().nonnegative().default(0),
  retry_in_ms: z.number().int().nonnegative().optional(),
  /** Whether replies can be posted (Twitch with a token). */
  can_post: z.boolean().default(false),
});
export type ChatConnectionStatus = z.infer<typeof ChatConnectionStatus>;

/** Why a message was not passed on (the inbound filter and the arbiter). */
export const ChatDropReason = z.enum([
  'banned_word',
  'banned_user',
  'link',
  'mention',
  'too_long',
  'empty',
  'rate_limited',
  'duplicate',
  'spam',
  'aged_out',
  'overflow',
]);
export type ChatDropReason = z.infer<typeof ChatDropReason>;

/** Why a message was picked to answer. */
export const ChatPickReason = z.enum(['paid', 'thanks', 'addressed', 'question', 'rest', 'llm', 'manual']);
export type ChatPickReason = z.infer<typeof ChatPickReason>;

/** `fav:chat:feed` (live-chat -> gateway -> studio): what happens to chat, in order. */
export const ChatFeedEvent = z.discriminatedUnion('type', [
  /** A message came in; `dropped` set when the inbound filter or the arbiter refused it. */
  z.object({ type: z.literal('message'), message: LiveChatMessage, dropped: ChatDropReason.optional(), priority: z.number().int().optional() }),
  /** A waiting message left the queue without an answer. */
  z.object({ type: z.literal('dropped'), id: z.string(), reason: ChatDropReason }),
  /** Messages picked for one turn (several for a batched thank-you). */
  z.object({ type: z.literal('picked'), ids: z.array(z.string()).min(1), reason: ChatPickReason, turn_id: z.string(), note: z.string().optional() }),
  /** The status of every connection (on every change). */
  z.object({ type: z.literal('status'), connections: z.array(ChatConnectionStatus) }),
]);
export type ChatFeedEvent = z.infer<typeof ChatFeedEvent>;

/** `fav:chat:command` (gateway -> live-chat): the studio's buttons. */
export const ChatCommand = z.discriminatedUnion('action', [
  /** Answer this waiting message next (before the pace and the priorities). */
  z.object({ action: z.literal('answer'), id: z.string().min(1) }),
  /** Ban an author: their waiting messages go, later ones are filtered, their name is never spoken. */
  z.object({ action: z.literal('ban'), platform: ChatPlatform, user_id: z.string().min(1), name: z.string().default('') }),
  z.object({ action: z.literal('unban'), platform: ChatPlatform, user_id: z.string().min(1) }),
]);
export type ChatCommand = z.infer<typeof ChatCommand>;

/** What the chat part of a `UserInput` carries (source 'chat'): who and what it answers. */
export const ChatInputMeta = z.object({
  platform: ChatPlatform,
  /** The messages this turn answers (one, or several for a thank-you). */
  message_ids: z.array(z.string()).min(1),
  author_id: z.string().optional(),
  kind: ChatKind,
  reason: ChatPickReason,
  paid: z.object({ amount: z.number(), currency: z.string() }).optional(),
});
export type ChatInputMeta = z.infer<typeof ChatInputMeta>;

export const ChatChannels = {
  feed: 'fav:chat:feed',
  command: 'fav:chat:command',
} as const;

/** The connection statuses as JSON (`ChatConnectionStatus[]`), SET with PX by live-chat; read by /health. */
export const CHAT_STATUS_KEY = 'fav:chat:status';
/**
 * Hash of answered message ids -> when (ms since the epoch), so a restarted live-chat never answers
 * one twice; live-chat removes entries older than it remembers (an hour). A hash, not a sorted set:
 * the embedded bus has no sorted sets.
 */
export const CHAT_ANSWERED_KEY = 'fav:chat:answered';
/** The arbiter's waiting messages, a hash id -> LiveChatMessage JSON, kept so a restart loses none that were accepted. */
export const CHAT_WAITING_KEY = 'fav:chat:waiting';
