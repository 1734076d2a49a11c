/**
 * How each platform looks in the chat panel: its icon and colour, and its name (a brand name, the
 * same in every language). Bilibili has no Material Design icon: a TV, in Bilibili's blue.
 */
import { mdiTelevisionClassic, mdiTwitch, mdiYoutube } from '@mdi/js';
import type { ChatPlatform } from '../../shared/live-chat.js';

export const PLATFORM_LOOK: Record<ChatPlatform, { icon: string; color: string; name: string }> = {
  twitch: { icon: mdiTwitch, color: '#9146ff', name: 'Twitch' },
  youtube: { icon: mdiYoutube, color: '#ff0000', name: 'YouTube' },
  bilibili: { icon: mdiTelevisionClassic, color: '#00a1d6', name: 'Bilibili' },
};

/** The amount as the platform showed it ("$5.00", "CN¥30"), else the number and the currency. */
export function paidText(paid: { amount: number; currency: string; display?: string }, locale: string): string {
  if (paid.display) return paid.display;
  if (/^[A-Z]{3}$/.test(paid.currency)) {
    try {
      return new Intl.NumberFormat(locale, { style: 'currency', currency: paid.currency }).format(paid.amount);
    } catch {
      // an unknown code: shown as it came
    }
  }
  return `${paid.amount} ${paid.currency}`;
}
