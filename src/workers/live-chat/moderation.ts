/**
 * The inbound chat filter: decides, per message and without I/O, whether a chat message may go on
 * to the arbiter (and so, perhaps, to the LLM). A message it refuses never reaches the LLM.
 *
 * Rules, in the order they are checked (the first that applies is the reason):
 *   banned_user   the author's account (`<platform>:<id>`, from settings or banned live from the
 *                 studio) or display name (settings; any platform, case- and width-insensitive)
 *   empty         an ordinary message ('message') with no visible text (a bare gift or sub is fine)
 *   too_long      more than `maxChars` characters (code points)
 *   banned_word   a banned word or phrase in the text or in the author's name (the name goes into
 *                 the prompt too); matching in text-match.ts: case-, width- and spacing-insensitive,
 *                 whole words where the script has them, "b a d" / "b.a.d" / full-width caught
 *   link          `blockLinks`: a URL, `www.`, a bare domain ("foo.com/x", "discord.gg/abc",
 *                 "bit(.)ly"), an IP address with a port or path; not "1.5" nor "e.g."
 *   mention       `blockMentions`: an @-mention of anyone but the persona
 * Paid messages and gifts skip the link and mention rules (people pay to be read, and a Super Chat
 * with a link is the platform's business), never the others.
 */
import type { Config } from '../../shared/config.js';
import type { ChatDropReason, ChatPlatform, LiveChatMessage } from '../../shared/live-chat.js';
import { parseBannedUser } from '../../shared/word-list.js';
import { WordMatcher, foldedString } from '../common/text-match.js';

export { parseWordList } from '../../shared/word-list.js';

type Moderation = Config['liveChat']['moderation'];

/** Top-level domains a bare "name.tld" must end in to count as a link (so "fine.thanks" is not one). */
const TLDS = new Set(
  (
    'com net org edu gov mil int info biz name pro mobi asia tel travel io co me tv gg ly to app dev xyz site online top shop ' +
    'store club fun icu live link click vip win bid loan work today life world space website tech blog news cc ws su ' +
    'ru cn de uk jp kr fr it es nl pl br in au ca us eu ch at se no fi dk be cz hu ro gr pt tr ua kz by tw hk sg my id th ' +
    'vn ph ir il sa ae za mx ar cl pe ve nz ie sk bg hr rs si lt lv ee is lu md ge am az uz tk ml ga cf gq nu la fm ai so ' +
    'sh ac im gl gd vc gs ms bz pw cx st lol wtf porn sex xxx sexy bet casino poker game games stream tube video chat cam ' +
    'gift money cash cloud host press social page moe'
  ).split(' '),
);

/** A scheme followed by `//` and something: http://x, https://x, ftp://x. */
const SCHEME = /[a-z][a-z0-9+.-]*:\/\/\S/;
/** `www.` (www2. too) at the start of a word. */
const WWW = /(?<![\p{L}\p{N}])www\d{0,3}\./u;
/** An IPv4 address followed by a port or a path ("1.2.3.4" alone may be a version number). */
const IP = /(?<![\p{N}.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5}|\/)/u;
/** Dot forms people use to dodge link filters, between labels: ".", "(.)", "[dot]", "{.}". */
const DOT = String.raw`(?:\.|\s*[(\[{]\s*(?:\.|dot)\s*[)\]}]\s*)`;
/** Labels then a final alphabetic label: a candidate "host.tld"; the TLD is checked against TLDS. */
const DOMAIN = new RegExp(
  String.raw`(?<![\p{L}\p{N}@._-])(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?${DOT})+([a-z]{2,24}|xn--[a-z0-9-]+)(?![\p{L}\p{N}])`,
  'gu',
);
/** An @ (or full-width ＠) starting a mention: not inside a word or an e-mail address. */
const MENTION = /(?<![\p{L}\p{N}_.])[@＠](?=[\p{L}\p{N}_])/gu;
/** Visible text: something other than white space and invisible formatting characters. */
const VISIBLE = /[^\s\p{Cf}\p{Default_Ignorable_Code_Point}]/u;

/** Whether `text` holds a link (see the header). */
export function hasLink(text: string): boolean {
  const t = text.normalize('NFKC').toLowerCase();
  if (SCHEME.test(t) || WWW.test(t) || IP.test(t)) return true;
  for (const m of t.matchAll(DOMAIN)) {
    const tld = m[1]!;
    if (TLDS.has(tld) || tld.startsWith('xn--')) return true;
  }
  return false;
}

export class InboundFilter {
  private readonly words: WordMatcher;
  private readonly persona: WordMatcher;
  /** `<platform>:<id>` of banned accounts (settings). */
  private readonly ids = new Set<string>();
  /** Folded banned names (settings). */
  private readonly names = new Set<string>();
  /** Accounts banned live from the studio, with the name they had (`<platform>:<id>` -> name). */
  private readonly live = new Map<string, string>();

  constructor(
    private readonly mod: Moderation,
    personaName: string,
  ) {
    this.words = new WordMatcher(mod.bannedWords);
    this.persona = new WordMatcher([personaName]);
    for (const entry of mod.bannedUsers) {
      const u = parseBannedUser(entry);
      if (!u) continue;
      if ('id' in u) this.ids.add(key(u.platform, u.id));
      else {
        const f = foldedString(u.name);
        if (f) this.names.add(f);
      }
    }
  }

  /** Why `m` must not go on, or undefined when it may. */
  check(m: LiveChatMessage): ChatDropReason | undefined {
    if (this.isBanned(m.platform, m.author.id, m.author.name)) return 'banned_user';
    if (m.kind === 'message' && !VISIBLE.test(m.text)) return 'empty';
    if (this.tooLong(m.text)) return 'too_long';
    if (this.words.size && (this.words.first(m.text) || this.words.first(m.author.name))) return 'banned_word';
    if (m.kind === 'paid' || m.kind === 'gift') return undefined;
    if (this.mod.blockLinks && hasLink(m.text)) return 'link';
    if (this.mod.blockMentions && this.mentionsOthers(m.text)) return 'mention';
    return undefined;
  }

  /** Bans an account (the studio's button); `name` is remembered for `liveNames`. */
  ban(platform: ChatPlatform, userId: string, name = ''): void {
    this.live.set(key(platform, userId), name);
  }

  /** Lifts a live ban (a ban from settings stays until the settings change). */
  unban(platform: ChatPlatform, userId: string): void {
    this.live.delete(key(platform, userId));
  }

  /** Whether the account or the name is banned (names only from settings: a live ban is by account). */
  isBanned(platform: ChatPlatform, userId: string, name: string): boolean {
    const k = key(platform, userId);
    if (this.ids.has(k) || this.live.has(k)) return true;
    return this.names.size > 0 && this.names.has(foldedString(name));
  }

  /** Names of the accounts banned live, for the output filter (never spoken). */
  liveNames(): string[] {
    return [...this.live.values()].filter((n) => n.trim() !== '');
  }

  private tooLong(text: string): boolean {
    const max = this.mod.maxChars;
    if (text.length <= max) return false;
    // Count code points, not UTF-16 units (an emoji is one character to the viewer).
    let n = 0;
    for (const _ of text) if (++n > max) return true;
    return false;
  }

  private mentionsOthers(text: string): boolean {
    let starts: Set<number> | undefined;
    for (const m of text.matchAll(MENTION)) {
      starts ??= new Set(this.persona.all(text).map((p) => p.start));
      if (!starts.has(m.index + m[0].length)) return true;
    }
    return false;
  }
}

function key(platform: ChatPlatform, id: string): string {
  return `${platform}:${id}`;
}
