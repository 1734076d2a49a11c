/**
 * Twitch chat lines -> LiveChatMessage. Pure: no sockets, no clock (the caller passes `receivedAt`).
 *
 * The wire format is IRC (RFC 1459 message syntax) with IRCv3 message tags:
 *   ['@' tags ' '] [':' prefix ' '] command [' ' params...] [' :' trailing]
 * Tag values are escaped (`\:` ; , `\s` space, `\\` backslash, `\r`, `\n`). Twitch puts everything
 * the avatar needs into tags: display-name, user-id, badges, bits, id, tmi-sent-ts and, on
 * USERNOTICE, msg-id with its msg-param-* tags.
 */
import { createHash } from 'node:crypto';
import type { LiveChatMessageInput, ChatRole } from '../../../shared/live-chat.js';

export interface IrcLine {
  tags: Map<string, string>;
  /** `nick!user@host` or a server name; '' when absent. */
  prefix: string;
  command: string;
  params: string[];
}

/** Thrown for a line that is not IRC at all; the connector reports it through `sink.malformed`. */
export class IrcParseError extends Error {}

function unescapeTag(v: string): string {
  return v.replace(/\\(.?)/g, (_, c: string) => {
    switch (c) {
      case ':':
        return ';';
      case 's':
        return ' ';
      case 'r':
        return '\r';
      case 'n':
        return '\n';
      default:
        return c; // `\\` -> `\`, an unknown escape drops the backslash, a trailing one is dropped
    }
  });
}

export function escapeTag(v: string): string {
  return v.replace(/[\\; \r\n]/g, (c) => ({ '\\': '\\\\', ';': '\\:', ' ': '\\s', '\r': '\\r', '\n': '\\n' })[c]!);
}

const COMMAND_RE = /^(?:[A-Za-z]+|\d{3})$/;

export function parseIrcLine(raw: string): IrcLine {
  let rest = raw.replace(/\r?\n$/, '');
  const tags = new Map<string, string>();
  if (rest.startsWith('@')) {
    const sp = rest.indexOf(' ');
    if (sp < 0) throw new IrcParseError('tags with no command after them');
    for (const pair of rest.slice(1, sp).split(';')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      if (eq === 0) throw new IrcParseError(`a tag with no name ("${pair.slice(0, 40)}")`);
      if (eq < 0) tags.set(pair, '');
      else tags.set(pair.slice(0, eq), unescapeTag(pair.slice(eq + 1)));
    }
    rest = rest.slice(sp + 1).trimStart();
  }
  let prefix = '';
  if (rest.startsWith(':')) {
    const sp = rest.indexOf(' ');
    if (sp < 0) throw new IrcParseError('a prefix with no command after it');
    prefix = rest.slice(1, sp);
    rest = rest.slice(sp + 1).trimStart();
  }
  const trailingAt = rest.indexOf(' :');
  const head = trailingAt >= 0 ? rest.slice(0, trailingAt) : rest;
  const words = head.split(' ').filter(Boolean);
  const command = words.shift() ?? '';
  if (!COMMAND_RE.test(command)) throw new IrcParseError(command ? `"${command.slice(0, 40)}" is not an IRC command` : 'an empty line');
  const params = words;
  if (trailingAt >= 0) params.push(rest.slice(trailingAt + 2));
  return { tags, prefix, command: command.toUpperCase(), params };
}

/** The nick of a `nick!user@host` prefix. */
export function nickOf(prefix: string): string {
  const bang = prefix.indexOf('!');
  return bang >= 0 ? prefix.slice(0, bang) : prefix;
}

/** `broadcaster/1,subscriber/12` -> roles. Founders are subscribers; partners are verified. */
export function rolesOf(tags: Map<string, string>): ChatRole[] {
  const roles = new Set<ChatRole>();
  for (const badge of (tags.get('badges') ?? '').split(',')) {
    const name = badge.split('/')[0];
    if (name === 'broadcaster') roles.add('broadcaster');
    else if (name === 'moderator') roles.add('moderator');
    else if (name === 'vip') roles.add('vip');
    else if (name === 'subscriber' || name === 'founder') roles.add('subscriber');
    else if (name === 'partner') roles.add('verified');
  }
  if (tags.get('mod') === '1') roles.add('moderator');
  if (tags.get('subscriber') === '1') roles.add('subscriber');
  if (tags.get('vip') === '1') roles.add('vip');
  return [...roles];
}

/** What a chat line became: a message, nothing for us (a notice we do not show), or a malformed one. */
export type Converted =
  | { kind: 'message'; message: LiveChatMessageInput; communityGiftId?: string; partOfCommunityGift?: string }
  | { kind: 'ignored' }
  | { kind: 'malformed'; what: string };

export interface ConvertContext {
  connection: string;
  /** The channel login, without '#'. */
  channel: string;
  receivedAt: number;
}

function positiveInt(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function sentAt(tags: Map<string, string>): number | undefined {
  const t = Number(tags.get('tmi-sent-ts'));
  return Number.isFinite(t) && t > 0 ? t : undefined;
}

/** A `/me` line arrives as CTCP ACTION (`\x01ACTION text\x01`): the text is what was said. */
function stripAction(text: string): string {
  const CTCP = '\u0001';
  if (!text.startsWith(`${CTCP}ACTION `)) return text;
  const body = text.slice(8);
  return body.endsWith(CTCP) ? body.slice(0, -1) : body;
}

function author(line: IrcLine): { id: string; name: string } | undefined {
  const login = line.tags.get('login') || nickOf(line.prefix);
  const id = line.tags.get('user-id') || login;
  if (!id) return undefined;
  return { id, name: line.tags.get('display-name') || login || id };
}

/**
 * A PRIVMSG or USERNOTICE -> LiveChatMessage input (the caller validates it with
 * `LiveChatMessage.parse`). Emote names are already in the text, so emotes need no work.
 * Message ids come from the `id` tag; a line without one gets an id built from its content, so a
 * replay of the same line is still recognised.
 */
export function toLiveChat(line: IrcLine, ctx: ConvertContext): Converted {
  if (line.command !== 'PRIVMSG' && line.command !== 'USERNOTICE') return { kind: 'ignored' };
  const target = line.params[0];
  if (!target?.startsWith('#')) return { kind: 'malformed', what: `${line.command} without a #channel` };
  if (target.slice(1).toLowerCase() !== ctx.channel.toLowerCase()) return { kind: 'ignored' };
  const who = author(line);
  if (!who) return { kind: 'malformed', what: `${line.command} without user-id, login or prefix` };
  const platformId = line.tags.get('id') || contentId(line);
  const base = {
    id: `twitch:${platformId}`,
    platform: 'twitch' as const,
    connection: ctx.connection,
    channel: ctx.channel,
    author: { ...who, roles: rolesOf(line.tags) },
    sent_at: sentAt(line.tags),
    received_at: ctx.receivedAt,
  };

  if (line.command === 'PRIVMSG') {
    const text = line.params[1];
    if (text === undefined) return { kind: 'malformed', what: 'PRIVMSG without text' };
    const bitsTag = line.tags.get('bits');
    if (bitsTag !== undefined) {
      const bits = positiveInt(bitsTag);
      if (bits === undefined) return { kind: 'malformed', what: `bits="${bitsTag.slice(0, 20)}" is not a positive whole number` };
      return { kind: 'message', message: { ...base, text: stripAction(text), kind: 'paid', paid: { amount: bits, currency: 'bits', display: `${bits} bits` } } };
    }
    return { kind: 'message', message: { ...base, text: stripAction(text), kind: 'message' } };
  }

  const msgId = line.tags.get('msg-id');
  if (!msgId) return { kind: 'malformed', what: 'USERNOTICE without msg-id' };
  const text = line.params[1] ?? '';
  switch (msgId) {
    case 'sub':
    case 'resub': {
      const months = positiveInt(line.tags.get('msg-param-cumulative-months')) ?? positiveInt(line.tags.get('msg-param-months')) ?? 1;
      return { kind: 'message', message: { ...base, text, kind: 'sub', gift: { name: 'sub', count: months } } };
    }
    case 'subgift': {
      // One sub given to one viewer; part of a community gift when it names one (then the
      // submysterygift already counted it).
      const community = line.tags.get('msg-param-community-gift-id') || undefined;
      return { kind: 'message', message: { ...base, text, kind: 'gift', gift: { name: 'sub', count: 1 } }, partOfCommunityGift: community };
    }
    case 'submysterygift': {
      const count = positiveInt(line.tags.get('msg-param-mass-gift-count'));
      if (count === undefined) return { kind: 'malformed', what: 'submysterygift without a msg-param-mass-gift-count' };
      const community = line.tags.get('msg-param-community-gift-id') || undefined;
      return { kind: 'message', message: { ...base, text, kind: 'gift', gift: { name: 'sub', count } }, communityGiftId: community };
    }
    default:
      // raids, announcements, rituals, bits badge tiers...: not chat the avatar answers.
      return { kind: 'ignored' };
  }
}

/** A hash of the parts that make a line itself: stable across a replay, different for another line. */
function contentId(line: IrcLine): string {
  const key = [line.command, line.tags.get('user-id') ?? line.prefix, line.tags.get('tmi-sent-ts') ?? '', line.tags.get('msg-id') ?? '', ...line.params].join('\u0000');
  return `h-${createHash('sha1').update(key).digest('hex').slice(0, 20)}`;
}

/**
 * The channel login from what a user may type: "shroud", "#Shroud", "twitch.tv/shroud",
 * "https://www.twitch.tv/shroud". Undefined when it is no Twitch login (4-25 letters, digits, _).
 */
export function twitchChannelLogin(input: string): string | undefined {
  const s = input.trim().replace(/^(?:https?:\/\/)?(?:www\.|m\.)?twitch\.tv\//i, '').replace(/^#/, '').replace(/[/?#].*$/, '').toLowerCase();
  return /^[a-z0-9_]{1,25}$/.test(s) ? s : undefined;
}

/** Twitch refuses chat lines over 500 characters. */
export const TWITCH_MAX_LINE = 500;

/**
 * What we post, as PRIVMSG texts: one line each (a CR/LF would start a new IRC command), cut at
 * spaces into lines of at most 500 characters, and never starting with '/' or '.' (Twitch would
 * run it as a chat command, e.g. "/ban").
 */
export function twitchLineChunks(text: string, max = TWITCH_MAX_LINE): string[] {
  const flat = text.replace(/[\r\n\0]+/g, ' ').replace(/\s+/g, ' ').trim();
  const chunks: string[] = [];
  let rest = flat;
  while (rest) {
    let cut = rest.length <= max ? rest.length : rest.lastIndexOf(' ', max);
    if (cut <= 0) cut = max;
    const chunk = rest.slice(0, cut).trim().replace(/^[/.\s]+/, '');
    if (chunk) chunks.push(chunk);
    rest = rest.slice(cut).trim();
  }
  return chunks;
}
