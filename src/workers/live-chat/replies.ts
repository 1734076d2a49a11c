/**
 * Posting the avatar's answers back into the chat they answer (settings `postReplies`, Twitch with a
 * token): the service remembers which connections a chat turn answers, and when chat-ai says that
 * turn's reply is done (ai_responses kind 'done') its text goes to those connections' `post`.
 * A cancelled or failed reply posts nothing.
 */
import type { Logger } from '../runtime/index.js';

/** Twitch refuses longer chat lines. */
export const MAX_POST_CHARS = 500;

/** Chat turns remembered at once (a reply never comes for some: cancelled, lost). */
const MAX_TURNS = 200;

export interface PostTarget {
  /** The connection can post and its settings ask for it. */
  canPost(connectionId: string): boolean;
  post(connectionId: string, text: string): Promise<void>;
}

/** At most `max` characters (code points), cut at a word boundary where one is near, with an ellipsis. */
export function trimForChat(text: string, max: number = MAX_POST_CHARS): string {
  const flat = text.replace(/\s+/gu, ' ').trim();
  const chars = Array.from(flat);
  if (chars.length <= max) return flat;
  const head = chars.slice(0, max - 1).join('');
  const space = head.lastIndexOf(' ');
  // A boundary in the last fifth keeps the words whole; past that (CJK, one long token) cut anywhere.
  const cut = space >= head.length * 0.8 ? head.slice(0, space) : head;
  return `${cut.trimEnd()}…`;
}

export class ReplyPoster {
  /** turn id -> the connections whose messages it answers, oldest first. */
  private readonly turns = new Map<string, string[]>();

  constructor(
    private readonly target: PostTarget,
    private readonly log: Logger,
  ) {}

  /** A chat turn was pushed: remember where its reply goes (only connections that post). */
  remember(turnId: string, connectionIds: readonly string[]): void {
    const posting = [...new Set(connectionIds)].filter((c) => this.target.canPost(c));
    if (posting.length === 0) return;
    this.turns.set(turnId, posting);
    while (this.turns.size > MAX_TURNS) this.turns.delete(this.turns.keys().next().value!);
  }

  /** The reply of a turn is done: post it. Resolves when every post settled (failures are logged). */
  async done(turnId: string, text: string): Promise<void> {
    const conns = this.turns.get(turnId);
    if (!conns) return;
    this.turns.delete(turnId);
    const line = trimForChat(text);
    if (!line) return;
    await Promise.all(
      conns.map((c) =>
        this.target.post(c, line).then(
          () => this.log.info({ connection: c, turn_id: turnId, chars: line.length }, 'reply posted to chat'),
          (e: Error) => this.log.warn({ connection: c, turn_id: turnId, err: e.message }, 'could not post the reply to chat'),
        ),
      ),
    );
  }

  /** The turn ended without a reply to post (cancelled). */
  forget(turnId: string): void {
    this.turns.delete(turnId);
  }

  get size(): number {
    return this.turns.size;
  }
}
