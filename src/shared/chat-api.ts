/**
 * The studio's chat panel over HTTP and WebSocket: the recent feed (each message with its fate merged
 * in: waiting, picked and why, dropped and why), the connection statuses, the panel's buttons and the
 * banned-word import. The gateway keeps the feed with `applyFeedEvent`; the page applies the same
 * function to what the WebSocket pushes, so both agree on a message's fate.
 * Imports nothing of ours but live-chat.ts.
 */
import { z } from 'zod';
import { ChatConnectionStatus, ChatDropReason, ChatFeedEvent, ChatPickReason, LiveChatMessage } from './live-chat.js';

export const ChatPaths = {
  /** GET (token): ChatSnapshot. */
  chat: '/api/chat',
  /** WebSocket (token in `?token=`): a `snapshot` frame, then every ChatFeedEvent as it comes. */
  feed: '/api/chat/feed',
  /** POST (token) ChatCommand: published on fav:chat:command; ban/unban also saved into the settings. */
  command: '/api/chat/command',
  /** POST (token) text/plain, one word per line, `#` comments; `?mode=merge` (default) or `replace`. */
  bannedWords: '/api/chat/banned-words',
} as const;

/** What became of a message so far. */
export const ChatFate = z.enum(['waiting', 'picked', 'dropped']);
export type ChatFate = z.infer<typeof ChatFate>;

export const ChatFeedEntry = z.object({
  message: LiveChatMessage,
  fate: ChatFate,
  /** The arbiter's priority when it was accepted (higher answers first). */
  priority: z.number().int().optional(),
  /** With fate 'dropped'. */
  dropped: ChatDropReason.optional(),
  /** With fate 'picked'. */
  picked: z.object({ reason: ChatPickReason, turn_id: z.string(), note: z.string().optional() }).optional(),
});
export type ChatFeedEntry = z.infer<typeof ChatFeedEntry>;

export const ChatSnapshot = z.object({
  connections: z.array(ChatConnectionStatus),
  /** Oldest first, at most `capacity`. */
  feed: z.array(ChatFeedEntry),
  capacity: z.number().int().positive(),
});
export type ChatSnapshot = z.infer<typeof ChatSnapshot>;

/** A frame of the feed WebSocket. */
export const ChatFeedFrame = z.union([ChatSnapshot.extend({ type: z.literal('snapshot') }), ChatFeedEvent]);
export type ChatFeedFrame = z.infer<typeof ChatFeedFrame>;

/** POST command's answer: `delivered` is false when no live-chat service listened (a ban is saved anyway). */
export interface ChatCommandResult {
  ok: true;
  delivered: boolean;
  /** ban/unban: the banned users saved in the settings afterwards. */
  bannedUsers?: string[];
}

/** POST bannedWords' answer. */
export interface BannedWordsResult {
  ok: true;
  mode: 'merge' | 'replace';
  /** Words in the file (after comments, blanks and repeats were left out). */
  read: number;
  /** Of those, how many were not in the list before. */
  added: number;
  words: string[];
}

/** 400 of the chat routes: what was wrong and what to do. */
export interface ChatRouteError {
  error: string;
}

export const DEFAULT_FEED_CAPACITY = 500;

/** A user's entry in liveChat.moderation.bannedUsers. */
export function bannedUserKey(platform: string, userId: string): string {
  return `${platform}:${userId}`;
}

/**
 * The recent feed: messages by id in arrival order, at most `capacity` (the oldest go first), with
 * the later `dropped` and `picked` events merged into the message they name. Events for a message
 * no longer (or never) held are ignored. A changed entry is a new object (the page re-renders only
 * the entries whose identity changed); an unchanged one keeps its identity.
 */
export class ChatFeedBuffer {
  private readonly entries = new Map<string, ChatFeedEntry>();
  connections: ChatConnectionStatus[] = [];

  constructor(readonly capacity = DEFAULT_FEED_CAPACITY) {}

  /** Applies one event; true when it changed what the buffer holds. */
  apply(event: ChatFeedEvent): boolean {
    switch (event.type) {
      case 'message': {
        const entry: ChatFeedEntry = {
          message: event.message,
          fate: event.dropped ? 'dropped' : 'waiting',
          ...(event.priority !== undefined ? { priority: event.priority } : {}),
          ...(event.dropped ? { dropped: event.dropped } : {}),
        };
        const before = this.entries.get(event.message.id);
        // A replay of a message already held (the service restarted) keeps the fate it had.
        if (before && before.fate !== 'waiting') return false;
        this.entries.delete(event.message.id);
        this.entries.set(event.message.id, entry);
        while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
        return true;
      }
      case 'dropped': {
        const e = this.entries.get(event.id);
        if (!e || e.fate === 'picked') return false;
        this.entries.set(event.id, { ...e, fate: 'dropped', dropped: event.reason });
        return true;
      }
      case 'picked': {
        let changed = false;
        for (const id of event.ids) {
          const e = this.entries.get(id);
          if (!e) continue;
          const { dropped: _dropped, ...rest } = e;
          this.entries.set(id, { ...rest, fate: 'picked', picked: { reason: event.reason, turn_id: event.turn_id, ...(event.note ? { note: event.note } : {}) } });
          changed = true;
        }
        return changed;
      }
      case 'status':
        this.connections = event.connections;
        return true;
    }
  }

  get(id: string): ChatFeedEntry | undefined {
    return this.entries.get(id);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Oldest first. */
  list(): ChatFeedEntry[] {
    return [...this.entries.values()];
  }

  /** Replaces the contents (the page, on a snapshot frame). */
  load(snapshot: Pick<ChatSnapshot, 'connections' | 'feed'>): void {
    this.entries.clear();
    for (const e of snapshot.feed.slice(-this.capacity)) this.entries.set(e.message.id, e);
    this.connections = snapshot.connections;
  }

  snapshot(): ChatSnapshot {
    return { connections: this.connections, feed: this.list(), capacity: this.capacity };
  }
}

