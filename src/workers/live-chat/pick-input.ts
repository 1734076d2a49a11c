/**
 * A pick of the arbiter as ONE user input for the dialog engine (source 'chat'): the message's own
 * text for a single message, or for a thank-you a short line listing who sent what. Names and texts
 * are carried as data: the memory service quotes them in the prompt, they are never instructions.
 */
import { randomUUID } from 'node:crypto';
import { newEventId } from '../../shared/bus.js';
import type { ChatInputMeta, ChatPickReason, LiveChatMessage } from '../../shared/live-chat.js';
import { nowMs, type UserInput } from '../../shared/voice.js';

/** Viewers named in one thank-you line; the rest are counted ("and 4 others"). */
const THANKS_NAMED = 8;

/** What a paid, gift, sub or membership message is, in words ("sent 5 × Rose", "sent $5.00"). */
export function describeSupport(m: LiveChatMessage): string {
  const count = m.gift?.count ?? 1;
  switch (m.kind) {
    case 'paid':
      return `sent ${m.paid?.display ?? (m.paid ? `${m.paid.amount} ${m.paid.currency}` : 'a paid message')}`;
    case 'gift':
      return `sent ${count} × ${m.gift?.name || 'gift'}`;
    case 'sub':
      return count > 1 ? `subscribed (${count} months)` : 'subscribed';
    case 'member':
      return m.gift?.name ? `became a member (${m.gift.name})` : 'became a member';
    default:
      return 'wrote';
  }
}

const nameOf = (m: LiveChatMessage) => m.author.name || m.author.id;

/** "Thank these viewers: Ann sent 5 × Rose; Bo subscribed (3 months); and 2 others." */
export function thanksLine(ms: readonly LiveChatMessage[]): string {
  const named = ms.slice(0, THANKS_NAMED).map((m) => `${nameOf(m)} ${describeSupport(m)}`);
  const rest = ms.length - named.length;
  return `Thank these viewers for their support: ${named.join('; ')}${rest > 0 ? `; and ${rest} other${rest === 1 ? '' : 's'}` : ''}.`;
}

/** The text the avatar answers: the message, or what it was when it has none (a bare sticker or gift). */
export function inputText(ms: readonly LiveChatMessage[], reason: ChatPickReason): string {
  if (reason === 'thanks' || ms.length > 1) return thanksLine(ms);
  const m = ms[0]!;
  const text = m.text.replace(/\s+/gu, ' ').trim();
  if (m.kind === 'message') return text || '(an empty message)';
  return text ? `${text} (${describeSupport(m)})` : `(${describeSupport(m)})`;
}

export interface PickedInput {
  input: UserInput;
  ids: string[];
}

/** The user input of a pick, for the chat session `session`. */
export function pickInput(ms: readonly LiveChatMessage[], reason: ChatPickReason, session: string, now: number = Date.now()): PickedInput {
  if (ms.length === 0) throw new Error('a pick without messages');
  const first = ms[0]!;
  const single = ms.length === 1;
  const turnId = randomUUID();
  const chat: ChatInputMeta = {
    platform: first.platform,
    message_ids: ms.map((m) => m.id),
    kind: first.kind,
    reason,
    ...(single ? { author_id: first.author.id } : {}),
    ...(single && first.paid ? { paid: { amount: first.paid.amount, currency: first.paid.currency } } : {}),
  };
  const input: UserInput = {
    session_id: session,
    turn_id: turnId,
    task_id: turnId,
    event_id: newEventId(),
    ts: now,
    marks: { input: nowMs() },
    source: 'chat',
    text: inputText(ms, reason),
    ...(single && nameOf(first) ? { author: nameOf(first) } : {}),
    chat,
  };
  return { input, ids: chat.message_ids };
}
