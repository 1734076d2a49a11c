/**
 * memory's side of long-term memory: who spoke a turn (its subject), what long-term-memory needs of
 * it once it is over, and the finished turn (`LtmTurn`) memory XADDs to `fav:ltm:turns` when chat-ai's
 * ReplyFinal arrives.
 *
 * Between the turn and its reply, what is needed (the raw user text, speaker, persona, source, the
 * recalled ids) is kept in a bounded map by turn id. After a restart of memory the map is empty: the
 * user's message in the history store gives the text, source and speaker (a chat viewer's id is
 * stored with it), the recalled ids are lost (only their access counts suffer). A turn with no user
 * message stored is a `say` turn (the avatar's own line): nothing is written for it.
 */
import { LtmTurn, Subject, viewerSubject, type LtmTurnInput } from '../../shared/long-term.js';
import type { ReplyFinal, UserInput } from '../../shared/voice.js';
import type { StoredChatMeta } from '../common/chat-quote.js';
import type { StoredMessage } from './store.js';

/** What a chat turn's stored meta carries beyond the rendering's: the viewer's id, for the speaker. */
export type StoredChatMetaWithAuthor = StoredChatMeta & { author_id?: string };

/** Turns remembered between their start and their reply (a reply comes within seconds; a stuck turn drops out). */
export const TURN_MEMO_MAX = 512;

export interface TurnMemo {
  say?: true;
  persona: string;
  speaker: Subject;
  speaker_name?: string;
  source: string;
  user: string;
  recalled_ids: number[];
}

/** A viewer's id as a subject: a platform id with spaces or a leading ':' is made safe, never dropped. */
function viewerOf(platform: string, authorId: string): Subject {
  const id = authorId.replace(/\s/g, '_').replace(/^:/, '_').slice(0, 128);
  const s = viewerSubject(platform, id);
  return Subject.safeParse(s).success ? s : viewerSubject(platform, 'unknown');
}

/** Who spoke to the avatar: a live-chat viewer (by platform id), else the streamer. */
export function speakerOf(turn: Pick<UserInput, 'source' | 'chat'>): Subject {
  const c = turn.chat;
  return c?.author_id ? viewerOf(c.platform, c.author_id) : 'streamer';
}

/** The stored chat meta of a turn, with the viewer's id kept for speakerOf after a restart. */
export function storedChatMeta(meta: StoredChatMeta | undefined, turn: Pick<UserInput, 'chat'>): StoredChatMetaWithAuthor | undefined {
  if (!meta) return undefined;
  return turn.chat?.author_id ? { ...meta, author_id: turn.chat.author_id } : meta;
}

/** What a restarted memory knows of a turn: its stored user message. */
export function memoFromStore(user: StoredMessage | undefined, persona: string): TurnMemo | undefined {
  if (!user) return undefined;
  let chat: StoredChatMetaWithAuthor | undefined;
  try {
    chat = user.chat ? (JSON.parse(user.chat) as StoredChatMetaWithAuthor) : undefined;
  } catch {
    chat = undefined;
  }
  const speaker = chat?.platform && chat.author_id ? viewerOf(chat.platform, chat.author_id) : 'streamer';
  return { persona, speaker, ...(user.author ? { speaker_name: user.author } : {}), source: user.source ?? 'typed', user: user.text, recalled_ids: [] };
}

export class TurnMemos {
  private readonly map = new Map<string, TurnMemo>();

  constructor(private readonly max = TURN_MEMO_MAX) {}

  set(turnId: string, memo: TurnMemo): void {
    this.map.delete(turnId);
    while (this.map.size >= this.max) this.map.delete(this.map.keys().next().value!);
    this.map.set(turnId, memo);
  }

  get(turnId: string): TurnMemo | undefined {
    return this.map.get(turnId);
  }

  delete(turnId: string): void {
    this.map.delete(turnId);
  }

  get size(): number {
    return this.map.size;
  }
}

/** The finished turn for long-term-memory; throws (zod) if what memory knows does not make one. */
export function ltmTurnOf(reply: ReplyFinal, memo: TurnMemo, ts: number): LtmTurn {
  const t: LtmTurnInput = {
    session_id: reply.session_id,
    turn_id: reply.turn_id,
    persona: memo.persona,
    speaker: memo.speaker,
    ...(memo.speaker_name ? { speaker_name: memo.speaker_name } : {}),
    source: memo.source,
    user: memo.user,
    assistant: reply.status === 'error' ? '' : reply.text,
    status: reply.status,
    recalled_ids: memo.recalled_ids,
    ts,
  };
  return LtmTurn.parse(t);
}
