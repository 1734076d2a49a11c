/**
 * Moderation lists as people write them: a plain text file of banned words imported from the studio
 * (or read by a service), and the banned-users setting, whose entries are either `<platform>:<user id>`
 * or a display name. Pure functions, so the studio, the gateway and the workers read them alike.
 * Imports nothing of the project but its siblings in src/shared.
 */
import { CHAT_PLATFORMS, type ChatPlatform } from './live-chat.js';

/** Characters that separate entries on one line: the ASCII comma, the full-width comma, the ideographic one. */
const SEPARATORS = /[,，、]/;

/**
 * The entries of a word-list file: one per line or several on a line separated by commas; a line
 * whose first non-blank character is `#` is a comment; blanks trimmed; a UTF-8 byte-order mark and
 * CRLF / CR line ends accepted; duplicates (ignoring case and full-width forms) kept once, first
 * spelling wins, in file order.
 */
export function parseWordList(text: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    for (const part of line.split(SEPARATORS)) {
      const word = part.trim();
      const key = word.normalize('NFKC').toLowerCase();
      if (!word || seen.has(key)) continue;
      seen.add(key);
      out.push(word);
    }
  }
  return out;
}

/** A banned-users entry: one account on one platform, or a display name on any platform. */
export type BannedUser = { platform: ChatPlatform; id: string } | { name: string };

/** Reads one banned-users entry: `twitch:12345` is an account; anything else (no known platform prefix) a name. */
export function parseBannedUser(entry: string): BannedUser | undefined {
  const e = entry.trim();
  if (!e) return undefined;
  const colon = e.indexOf(':');
  if (colon > 0) {
    const platform = e.slice(0, colon).trim().toLowerCase();
    const id = e.slice(colon + 1).trim();
    if ((CHAT_PLATFORMS as readonly string[]).includes(platform) && id) return { platform: platform as ChatPlatform, id };
  }
  return { name: e };
}

/** The names among banned-users entries (they are never spoken, whatever the platform). */
export function bannedNames(entries: readonly string[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    const u = parseBannedUser(e);
    if (u && 'name' in u) out.push(u.name);
  }
  return out;
}
