import { describe, expect, it } from 'vitest';
import { LiveChatMessage } from '../../../shared/live-chat.js';
import { escapeTag, IrcParseError, parseIrcLine, rolesOf, toLiveChat, twitchChannelLogin, twitchLineChunks } from './twitch-parse.js';

const ctx = { connection: 'tw', channel: 'somechan', receivedAt: 1_700_000_000_500 };

function convert(raw: string): LiveChatMessage {
  const out = toLiveChat(parseIrcLine(raw), ctx);
  if (out.kind !== 'message') throw new Error(`expected a message, got ${JSON.stringify(out)}`);
  return LiveChatMessage.parse(out.message);
}

describe('parseIrcLine', () => {
  it('reads tags, prefix, command, middle and trailing params', () => {
    const l = parseIrcLine('@a=1;b=x\\sy\\:z\\\\w;c :nick!nick@nick.tmi.twitch.tv PRIVMSG #chan :hello :) there');
    expect([...l.tags]).toEqual([
      ['a', '1'],
      ['b', 'x y;z\\w'],
      ['c', ''],
    ]);
    expect(l.prefix).toBe('nick!nick@nick.tmi.twitch.tv');
    expect(l.command).toBe('PRIVMSG');
    expect(l.params).toEqual(['#chan', 'hello :) there']);
  });

  it('reads untagged lines, numerics and lines without a prefix', () => {
    expect(parseIrcLine('PING :tmi.twitch.tv')).toMatchObject({ command: 'PING', params: ['tmi.twitch.tv'], prefix: '' });
    expect(parseIrcLine(':tmi.twitch.tv 001 justinfan1 :Welcome, GLHF!\r\n')).toMatchObject({ command: '001', params: ['justinfan1', 'Welcome, GLHF!'] });
    expect(parseIrcLine(':tmi.twitch.tv RECONNECT')).toMatchObject({ command: 'RECONNECT', params: [] });
  });

  it('round-trips escaped tag values', () => {
    const value = 'a;b c\\d\r\ne';
    expect(parseIrcLine(`@system-msg=${escapeTag(value)} :tmi.twitch.tv USERNOTICE #c`).tags.get('system-msg')).toBe(value);
  });

  it.each([
    ['@only-tags=1', 'tags with no command'],
    [':prefix-only', 'a prefix with no command'],
    ['{"json":true}', 'is not an IRC command'],
    ['', 'an empty line'],
    ['@=x :tmi PRIVMSG #c :hi', 'a tag with no name'],
  ])('rejects %j', (raw, what) => {
    expect(() => parseIrcLine(raw)).toThrow(IrcParseError);
    expect(() => parseIrcLine(raw)).toThrow(what);
  });
});

describe('rolesOf', () => {
  it('maps badges and the mod/subscriber/vip tags to roles', () => {
    const tags = (s: string): Map<string, string> => parseIrcLine(`${s} :x PRIVMSG #c :t`).tags;
    expect(rolesOf(tags('@badges=broadcaster/1,subscriber/12,partner/1'))).toEqual(['broadcaster', 'subscriber', 'verified']);
    expect(rolesOf(tags('@badges=moderator/1;mod=1'))).toEqual(['moderator']);
    expect(rolesOf(tags('@badges=vip/1'))).toEqual(['vip']);
    expect(rolesOf(tags('@badges=founder/0'))).toEqual(['subscriber']);
    expect(rolesOf(tags('@badges=;mod=1;subscriber=1'))).toEqual(['moderator', 'subscriber']);
    expect(rolesOf(tags('@badges=premium/1,glhf-pledge/1'))).toEqual([]);
  });
});

describe('toLiveChat', () => {
  const privmsg = (tags: string, text: string): string => `@${tags} :viewer!viewer@viewer.tmi.twitch.tv PRIVMSG #somechan :${text}`;

  it('a chat line: id, author, roles, text with emote names, sent time', () => {
    const m = convert(privmsg('badges=moderator/1;display-name=Viewer;emotes=25:6-10;id=abc-1;mod=1;tmi-sent-ts=1700000000000;user-id=42', 'hello Kappa'));
    expect(m).toEqual({
      id: 'twitch:abc-1',
      platform: 'twitch',
      connection: 'tw',
      channel: 'somechan',
      author: { id: '42', name: 'Viewer', roles: ['moderator'] },
      text: 'hello Kappa',
      kind: 'message',
      sent_at: 1_700_000_000_000,
      received_at: 1_700_000_000_500,
    });
  });

  it('a /me line is its text', () => {
    expect(convert(privmsg('id=a;user-id=1', '\u0001ACTION waves\u0001')).text).toBe('waves');
  });

  it('a cheer is paid in bits', () => {
    const m = convert(privmsg('bits=250;display-name=Rich;id=c1;user-id=7', 'Cheer250 great stream'));
    expect(m.kind).toBe('paid');
    expect(m.paid).toEqual({ amount: 250, currency: 'bits', display: '250 bits' });
  });

  it('a line without a display name or user id falls back to the login', () => {
    const m = convert(':lurker!lurker@lurker.tmi.twitch.tv PRIVMSG #somechan :hi');
    expect(m.author).toEqual({ id: 'lurker', name: 'lurker', roles: [] });
  });

  it('a line without an id gets one from its content: the same line twice, the same id', () => {
    const raw = privmsg('user-id=9;tmi-sent-ts=123', 'same words');
    expect(convert(raw).id).toBe(convert(raw).id);
    expect(convert(raw).id).toMatch(/^twitch:h-[0-9a-f]{20}$/);
    expect(convert(privmsg('user-id=9;tmi-sent-ts=124', 'same words')).id).not.toBe(convert(raw).id);
  });

  it('sub and resub are subs with their months; the user message is the text', () => {
    const sub = convert('@display-name=New;id=s1;login=new;msg-id=sub;msg-param-cumulative-months=1;system-msg=New\\ssubscribed;user-id=5 :tmi.twitch.tv USERNOTICE #somechan');
    expect(sub).toMatchObject({ id: 'twitch:s1', kind: 'sub', text: '', gift: { name: 'sub', count: 1 }, author: { id: '5', name: 'New' } });
    const resub = convert('@display-name=Old;id=s2;login=old;msg-id=resub;msg-param-cumulative-months=14;user-id=6 :tmi.twitch.tv USERNOTICE #somechan :still here');
    expect(resub).toMatchObject({ kind: 'sub', text: 'still here', gift: { name: 'sub', count: 14 }, author: { name: 'Old' } });
  });

  it('a gifted sub and a community gift are gifts from the gifter', () => {
    const one = toLiveChat(
      parseIrcLine('@display-name=Giver;id=g1;login=giver;msg-id=subgift;msg-param-recipient-user-name=lucky;user-id=8 :tmi.twitch.tv USERNOTICE #somechan'),
      ctx,
    );
    expect(one).toMatchObject({ kind: 'message', message: { kind: 'gift', gift: { name: 'sub', count: 1 }, author: { id: '8', name: 'Giver' } } });
    const many = toLiveChat(
      parseIrcLine('@display-name=Giver;id=g2;login=giver;msg-id=submysterygift;msg-param-mass-gift-count=5;msg-param-community-gift-id=77;user-id=8 :tmi.twitch.tv USERNOTICE #somechan'),
      ctx,
    );
    expect(many).toMatchObject({ kind: 'message', communityGiftId: '77', message: { kind: 'gift', gift: { count: 5 } } });
    const part = toLiveChat(parseIrcLine('@id=g3;login=giver;msg-id=subgift;msg-param-community-gift-id=77;user-id=8 :tmi.twitch.tv USERNOTICE #somechan'), ctx);
    expect(part).toMatchObject({ kind: 'message', partOfCommunityGift: '77' });
  });

  it('ignores other notices, other channels and other commands', () => {
    expect(toLiveChat(parseIrcLine('@id=r;login=x;msg-id=raid;user-id=1 :tmi.twitch.tv USERNOTICE #somechan'), ctx)).toEqual({ kind: 'ignored' });
    expect(toLiveChat(parseIrcLine('@id=a;user-id=1 :x!x@x PRIVMSG #otherchan :hi'), ctx)).toEqual({ kind: 'ignored' });
    expect(toLiveChat(parseIrcLine(':tmi.twitch.tv CLEARCHAT #somechan :x'), ctx)).toEqual({ kind: 'ignored' });
  });

  it.each([
    ['@id=a;user-id=1 :x!x@x PRIVMSG somechan :hi', 'without a #channel'],
    ['@id=a;user-id=1 :x!x@x PRIVMSG #somechan', 'PRIVMSG without text'],
    ['@id=a;bits=lots;user-id=1 :x!x@x PRIVMSG #somechan :Cheer', 'is not a positive whole number'],
    ['@id=a;bits=-5;user-id=1 :x!x@x PRIVMSG #somechan :Cheer', 'is not a positive whole number'],
    ['@id=a;user-id=1 :tmi.twitch.tv USERNOTICE #somechan', 'USERNOTICE without msg-id'],
    ['@id=a;msg-id=submysterygift;user-id=1 :tmi.twitch.tv USERNOTICE #somechan', 'without a msg-param-mass-gift-count'],
    ['@id=a PRIVMSG #somechan :hi', 'without user-id, login or prefix'],
  ])('reports %j as malformed', (raw, what) => {
    const out = toLiveChat(parseIrcLine(raw), ctx);
    expect(out.kind).toBe('malformed');
    expect(out.kind === 'malformed' && out.what).toContain(what);
  });
});

describe('twitchChannelLogin', () => {
  it.each([
    ['shroud', 'shroud'],
    ['#Shroud', 'shroud'],
    [' twitch.tv/Some_Chan ', 'some_chan'],
    ['https://www.twitch.tv/somechan?tab=videos', 'somechan'],
  ])('%j -> %j', (input, login) => expect(twitchChannelLogin(input)).toBe(login));

  it.each(['', 'two words', 'https://youtube.com/watch?v=x', 'a'.repeat(26)])('%j is no login', (input) => expect(twitchChannelLogin(input)).toBeUndefined());
});

describe('twitchLineChunks', () => {
  it('keeps a line on one IRC line: CR/LF cannot smuggle a command', () => {
    expect(twitchLineChunks('hi\r\nJOIN #other\nbye')).toEqual(['hi JOIN #other bye']);
  });

  it('never starts a line with a chat command', () => {
    expect(twitchLineChunks('/ban someone')).toEqual(['ban someone']);
    expect(twitchLineChunks('.timeout x 10')).toEqual(['timeout x 10']);
  });

  it('cuts long text at spaces into lines within the limit', () => {
    const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const chunks = twitchLineChunks(words, 50);
    expect(chunks.every((c) => c.length <= 50)).toBe(true);
    expect(chunks.join(' ')).toBe(words);
    expect(twitchLineChunks('x'.repeat(120), 50)).toEqual(['x'.repeat(50), 'x'.repeat(50), 'x'.repeat(20)]);
  });

  it('has nothing to post for blank text', () => {
    expect(twitchLineChunks(' \n ')).toEqual([]);
  });
});
