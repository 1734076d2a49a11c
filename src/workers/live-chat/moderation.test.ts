import { describe, expect, it } from 'vitest';
import { ConfigSchema, type Config } from '../../shared/config.js';
import type { LiveChatMessage } from '../../shared/live-chat.js';
import { InboundFilter, hasLink, parseWordList } from './moderation.js';

type Moderation = Config['liveChat']['moderation'];

function mod(m: Partial<Moderation> = {}): Moderation {
  return { ...ConfigSchema.parse({ dataDir: '/tmp' }).liveChat.moderation, ...m };
}

let seq = 0;
function msg(text: string, extra: Partial<Omit<LiveChatMessage, 'author'>> & { author?: Partial<LiveChatMessage['author']> } = {}): LiveChatMessage {
  const { author, ...rest } = extra;
  return {
    id: `twitch:${++seq}`,
    platform: 'twitch',
    connection: 'tw',
    channel: 'somechannel',
    author: { id: 'u1', name: 'viewer', roles: [], ...author },
    text,
    kind: 'message',
    received_at: 0,
    ...rest,
  };
}

describe('InboundFilter: banned words', () => {
  const f = new InboundFilter(mod({ bannedWords: ['bad', 'kill yourself', '笨蛋', 'ばか', '🖕'], blockLinks: false }), 'Mika');

  it('drops a banned word whatever its case, width or accents', () => {
    for (const t of ['this is bad', 'BAD stream', 'so Bad!', 'ｂａｄ', 'ＢＡＤ idea', 'bád', '(bad)']) expect(f.check(msg(t)), t).toBe('banned_word');
  });

  it('drops a word written with Cyrillic or Greek look-alike letters, and still matches a Russian entry', () => {
    for (const t of ['b\u0430d', 'B\u0410D', '\u0432\u0430d', 'b\u03b1d']) expect(f.check(msg(t)), t).toBe('banned_word');
    const ru = new InboundFilter(mod({ bannedWords: ['дурак'], blockLinks: false }), 'Mika');
    expect(ru.check(msg('ты ДУРАК'))).toBe('banned_word');
    expect(ru.check(msg('ты дураков'))).toBeUndefined();
  });

  it('drops the simple evasions: letters spaced out or dotted, invisible characters inside', () => {
    for (const t of ['b a d', 'b.a.d', 'b-a-d', 'b_a_d', 'b 🔥 a 🔥 d', 'ba\u200bd', 'b\u00adad', 'very b . a . d']) expect(f.check(msg(t)), t).toBe('banned_word');
  });

  it('finds a phrase across its own spaces, however many', () => {
    for (const t of ['kill yourself', 'KILL   YOURSELF', 'kill-yourself', 'killyourself', 'k i l l y o u r s e l f']) expect(f.check(msg(t)), t).toBe('banned_word');
  });

  it('leaves words that merely contain a banned one, or whose letters run across other words', () => {
    for (const t of ['nice badge', 'abad', 'badminton tonight', 'he b ad', 'kill your self-doubt', 'a skill yourself']) expect(f.check(msg(t)), t).toBeUndefined();
  });

  it('matches Chinese and Japanese without word boundaries, but not across a sentence break', () => {
    for (const t of ['你是笨蛋吗', '笨 蛋', 'ばかだね', 'お前はばか']) expect(f.check(msg(t)), t).toBe('banned_word');
    expect(f.check(msg('我很笨，蛋糕很好吃'))).toBeUndefined();
  });

  it('drops an entry without letters (an emoji) as a plain substring', () => {
    expect(f.check(msg('hi 🖕'))).toBe('banned_word');
    expect(f.check(msg('hi 👋'))).toBeUndefined();
  });

  it('checks the author\'s name too (it goes into the prompt)', () => {
    expect(f.check(msg('hello', { author: { name: 'Bad_Guy' } }))).toBe('banned_word');
    expect(f.check(msg('hello', { author: { name: 'Badger' } }))).toBeUndefined();
  });

  it('never lets a paid message or a gift through with a banned word', () => {
    expect(f.check(msg('you are bad', { kind: 'paid', paid: { amount: 5, currency: 'USD' } }))).toBe('banned_word');
    expect(f.check(msg('b a d', { kind: 'gift', gift: { name: 'rose', count: 1 } }))).toBe('banned_word');
  });

  it('passes ordinary text unchanged when nothing is banned', () => {
    const open = new InboundFilter(mod({ blockLinks: false }), 'Mika');
    expect(open.check(msg('you are bad'))).toBeUndefined();
  });
});

describe('InboundFilter: banned users', () => {
  const f = new InboundFilter(mod({ bannedUsers: ['twitch:666', 'youtube:UCtroll', 'Spam Bot', 'ｔｒｏｌｌ'] }), 'Mika');

  it('drops a banned account on its own platform only', () => {
    expect(f.check(msg('hi', { author: { id: '666' } }))).toBe('banned_user');
    expect(f.check(msg('hi', { platform: 'bilibili', author: { id: '666' } }))).toBeUndefined();
    expect(f.check(msg('hi', { platform: 'youtube', author: { id: 'UCtroll' } }))).toBe('banned_user');
  });

  it('drops a banned name on any platform, ignoring case, width and spacing', () => {
    expect(f.check(msg('hi', { author: { name: 'spam bot' } }))).toBe('banned_user');
    expect(f.check(msg('hi', { platform: 'youtube', author: { name: 'SPAMBOT' } }))).toBe('banned_user');
    expect(f.check(msg('hi', { platform: 'bilibili', author: { name: 'Troll' } }))).toBe('banned_user');
    expect(f.check(msg('hi', { author: { name: 'Trolley' } }))).toBeUndefined();
  });

  it('never lets a banned user\'s paid message through', () => {
    expect(f.check(msg('take my money', { kind: 'paid', author: { id: '666' }, paid: { amount: 100, currency: 'bits' } }))).toBe('banned_user');
  });

  it('bans and unbans live, by account, remembering the name for the output filter', () => {
    const g = new InboundFilter(mod(), 'Mika');
    expect(g.check(msg('hi', { author: { id: '42', name: 'Pest' } }))).toBeUndefined();
    g.ban('twitch', '42', 'Pest');
    expect(g.check(msg('hi again', { author: { id: '42', name: 'Renamed' } }))).toBe('banned_user');
    expect(g.isBanned('twitch', '42', 'x')).toBe(true);
    expect(g.isBanned('youtube', '42', 'Pest')).toBe(false);
    expect(g.liveNames()).toEqual(['Pest']);
    g.unban('twitch', '42');
    expect(g.check(msg('hi', { author: { id: '42', name: 'Pest' } }))).toBeUndefined();
    expect(g.liveNames()).toEqual([]);
  });

  it('a settings ban stays after an unban', () => {
    f.unban('twitch', '666');
    expect(f.isBanned('twitch', '666', 'x')).toBe(true);
  });
});

describe('InboundFilter: links', () => {
  const f = new InboundFilter(mod({ blockLinks: true }), 'Mika');

  it('drops URLs, www., bare domains and dodged dots', () => {
    for (const t of [
      'go to https://example.com now',
      'http://x.y',
      'see www.example.org',
      'WWW.EXAMPLE.ORG',
      'ｗｗｗ．ｅｘａｍｐｌｅ．ｃｏｍ',
      'free stuff at foo.com/x',
      'discord.gg/abc123',
      'bit.ly/3xyz',
      'cheap-followers.ru',
      'visit example(.)com',
      'example [dot] com',
      'my ip 10.0.0.1:8080',
    ])
      expect(f.check(msg(t)), t).toBe('link');
  });

  it('leaves numbers, abbreviations and sentences without a space', () => {
    for (const t of ['version 1.5 is out', 'pi is 3.14', 'e.g. this', 'i.e. that', 'I like node.js', 'wait...what', 'ok.thanks', 'u.s.a', 'at 1.2.3.4 o\'clock', 'me@home']) {
      expect(f.check(msg(t)), t).toBeUndefined();
    }
  });

  it('lets paid messages and gifts keep their links, and blockLinks off lets all through', () => {
    expect(f.check(msg('my shop foo.com', { kind: 'paid', paid: { amount: 5, currency: 'USD' } }))).toBeUndefined();
    expect(f.check(msg('foo.com', { kind: 'gift', gift: { name: 'rose', count: 1 } }))).toBeUndefined();
    expect(f.check(msg('foo.com', { kind: 'sub' }))).toBe('link');
    expect(new InboundFilter(mod({ blockLinks: false }), 'Mika').check(msg('https://example.com'))).toBeUndefined();
  });

  it('hasLink is the rule itself', () => {
    expect(hasLink('xn--80ak6aa92e.com')).toBe(true);
    expect(hasLink('1.5')).toBe(false);
  });
});

describe('InboundFilter: mentions, length, empty', () => {
  const f = new InboundFilter(mod({ blockMentions: true, maxChars: 20, blockLinks: false }), 'Mika Chan');

  it('drops @someone else, keeps @the persona (any case or width) and e-mail-like text', () => {
    expect(f.check(msg('@bob hi'))).toBe('mention');
    expect(f.check(msg('hey ＠bob'))).toBe('mention');
    expect(f.check(msg('@Mika Chan hi'))).toBeUndefined();
    expect(f.check(msg('@mikachan'))).toBeUndefined();
    expect(f.check(msg('@ＭＩＫＡ chan!'))).toBeUndefined();
    expect(f.check(msg('@MikaChanFan'))).toBe('mention');
    expect(f.check(msg('a@b c'))).toBeUndefined();
    expect(f.check(msg('@ alone'))).toBeUndefined();
  });

  it('mentions pass when blockMentions is off, and in paid messages', () => {
    expect(new InboundFilter(mod(), 'Mika').check(msg('@bob hi'))).toBeUndefined();
    expect(f.check(msg('@bob', { kind: 'paid', paid: { amount: 1, currency: 'USD' } }))).toBeUndefined();
  });

  it('caps the length in characters, not UTF-16 units', () => {
    expect(f.check(msg('x'.repeat(20)))).toBeUndefined();
    expect(f.check(msg('x'.repeat(21)))).toBe('too_long');
    expect(f.check(msg('😀'.repeat(20)))).toBeUndefined();
    expect(f.check(msg('😀'.repeat(21)))).toBe('too_long');
    expect(f.check(msg('x'.repeat(21), { kind: 'paid', paid: { amount: 1, currency: 'USD' } }))).toBe('too_long');
  });

  it('drops an empty ordinary message but not a bare gift or sub notice', () => {
    expect(f.check(msg(''))).toBe('empty');
    expect(f.check(msg('  \u200b '))).toBe('empty');
    expect(f.check(msg('', { kind: 'gift', gift: { name: 'rose', count: 3 } }))).toBeUndefined();
    expect(f.check(msg('', { kind: 'sub' }))).toBeUndefined();
  });
});

describe('parseWordList', () => {
  it('reads one entry per line or comma-separated, skipping comments and blanks, BOM and CRLF handled', () => {
    const file = '\uFEFF# banned words\r\nbad\r\n  worse  \r\n\r\nfoo, bar ,baz\rqux\n# another comment\n笨蛋，傻瓜、白痴\n  # indented comment\nkill yourself\n';
    expect(parseWordList(file)).toEqual(['bad', 'worse', 'foo', 'bar', 'baz', 'qux', '笨蛋', '傻瓜', '白痴', 'kill yourself']);
  });

  it('keeps each entry once, the first spelling, ignoring case and width', () => {
    expect(parseWordList('Bad\nbad\nＢＡＤ\nbad, other,,\n')).toEqual(['Bad', 'other']);
  });

  it('an empty or comment-only file is an empty list', () => {
    expect(parseWordList('')).toEqual([]);
    expect(parseWordList('\uFEFF# nothing\n\n')).toEqual([]);
  });
});
