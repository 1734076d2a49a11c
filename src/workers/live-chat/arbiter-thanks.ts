/**
 * One thank-you for a batch of gifts, subs and memberships: who ("Alice, Bob and 3 others") and what
 * ("12 × Rocket, 2 subs, 1 membership, 9.90 USD"), as the note of a 'thanks' pick. Names are data:
 * the service quotes the note in the prompt, it never becomes an instruction.
 */
import type { LiveChatMessage } from '../../shared/live-chat.js';

/** Names spelled out before "and N others". */
export const THANKS_NAMES_SHOWN = 2;

/** "Alice", "Alice and Bob", "Alice, Bob and 3 others" (distinct authors, in the order they came). */
export function thanksNames(messages: readonly LiveChatMessage[], shown = THANKS_NAMES_SHOWN): string {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const m of messages) {
    const key = `${m.platform}:${m.author.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    names.push(m.author.name.trim() || m.author.id);
  }
  if (names.length <= 1) return names[0] ?? '';
  if (names.length === 2 && shown >= 2) return `${names[0]} and ${names[1]}`;
  const head = names.slice(0, shown);
  const rest = names.length - head.length;
  if (rest === 0) return `${head.slice(0, -1).join(', ')} and ${head.at(-1)}`;
  return `${head.join(', ')} and ${rest} ${rest === 1 ? 'other' : 'others'}`;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** What the batch gave: gifts by name (counts summed), subs, memberships, paid amounts by currency. */
export function thanksItems(messages: readonly LiveChatMessage[]): string {
  const gifts = new Map<string, number>();
  const money = new Map<string, number>();
  let subs = 0;
  let members = 0;
  for (const m of messages) {
    if (m.kind === 'gift') {
      const name = m.gift?.name.trim() || 'gift';
      gifts.set(name, (gifts.get(name) ?? 0) + (m.gift?.count ?? 1));
    } else if (m.kind === 'sub') subs++;
    else if (m.kind === 'member') members++;
    if (m.paid && m.paid.amount > 0) {
      const cur = m.paid.currency.toUpperCase();
      money.set(cur, (money.get(cur) ?? 0) + m.paid.amount);
    }
  }
  const parts: string[] = [];
  for (const [name, count] of [...gifts].sort((a, b) => b[1] - a[1])) parts.push(`${count} × ${name}`);
  if (subs) parts.push(plural(subs, 'sub', 'subs'));
  if (members) parts.push(plural(members, 'membership', 'memberships'));
  for (const [cur, amount] of money) parts.push(`${Number.isInteger(amount) ? amount : amount.toFixed(2)} ${cur}`);
  return parts.join(', ');
}

/** "Alice, Bob and 3 others (12 × Rocket, 2 subs)". */
export function thanksNote(messages: readonly LiveChatMessage[]): string {
  const items = thanksItems(messages);
  const names = thanksNames(messages);
  return items ? `${names} (${items})` : names;
}
