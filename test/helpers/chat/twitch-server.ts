/**
 * A local stand-in for Twitch chat (IRC over WebSocket, wss://irc-ws.chat.twitch.tv), written from
 * Twitch's public IRC documentation (dev.twitch.tv/docs/chat/irc): one text frame may carry several
 * CRLF-terminated lines, IRCv3 tags with Twitch's escaping.
 *
 * What it does like the service:
 *   CAP LS -> the three capabilities; CAP REQ -> CAP * ACK for twitch.tv/tags|commands|membership
 *     (NAK for anything else); without
 *     the tags capability a client gets the lines with their tags cut off;
 *   PASS oauth:<token> + NICK <login>: a token in `opts.tokens` for that login is welcomed,
 *     anything else gets `NOTICE * :Login authentication failed` and the socket closes;
 *     NICK justinfan<digits> without PASS is an anonymous reader; other nicks without a PASS get
 *     `NOTICE * :Improperly formatted auth`;
 *   welcome 001-004, 375, 372, 376; JOIN #c -> `:nick!nick@nick.tmi.twitch.tv JOIN #c`, 353, 366,
 *     ROOMSTATE (tags); a channel not in `opts.channels` (when given) gets
 *     `@msg-id=msg_channel_suspended NOTICE #c :This channel does not exist or has been suspended.`;
 *   PING -> PONG; PRIVMSG from a logged-in client is recorded (anonymous ones are ignored, as Twitch does).
 * Tests push: chat lines (badges, emotes tag from the emote names in the text, /me), cheers (bits),
 *   sub / resub / subgift / submysterygift (followed by its N subgift notices, as Twitch does),
 *   NOTICE, RECONNECT, server PING, any raw line (malformed ones too); drop() cuts every socket.
 * Records what clients sent (`received`) and each connection (nick, pass, caps, joined, how it closed).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

const KNOWN_CAPS = new Set(['twitch.tv/tags', 'twitch.tv/commands', 'twitch.tv/membership']);

export interface TwitchServerOptions {
  /** Channels that exist; unset: every channel exists. */
  channels?: string[];
  /** Accepted OAuth tokens (without `oauth:`) -> the login each belongs to. */
  tokens?: Record<string, string>;
  /** Never confirm a JOIN (no JOIN echo, no ROOMSTATE), as when Twitch is slow or a channel is odd. */
  silentJoin?: boolean;
  /** Do not answer clients' PINGs (a half-dead connection). */
  ignorePings?: boolean;
}

/** A chatter: a login, or the login with what Twitch would say of them. */
export type TwitchUser =
  | string
  | {
      login: string;
      id?: string;
      displayName?: string;
      /** Twitch badges, e.g. ['broadcaster/1'], ['moderator/1', 'subscriber/12'], ['vip/1']. */
      badges?: string[];
    };

export interface TwitchClientRecord {
  id: number;
  nick?: string;
  pass?: string;
  caps: string[];
  registered: boolean;
  joined: string[];
  /** Every line this client sent. */
  lines: string[];
  closed: boolean;
  closedBy?: 'client' | 'server';
  /** 1000: the client closed cleanly; 1006: the socket was cut. */
  closeCode?: number;
}

export interface ChatOptions {
  /** Emote names in the text (they get an `emotes` tag with their positions). */
  emotes?: string[];
  bits?: number;
  /** A `/me` line (CTCP ACTION). */
  action?: boolean;
  /** The message id (default a fresh UUID). */
  id?: string;
  /** Extra or replaced tags; a value of null removes the tag. */
  tags?: Record<string, string | null>;
}

export interface TwitchServer {
  /** ws://127.0.0.1:<port>: a ChatConnection's `endpoint`. */
  url: string;
  port: number;
  clients: TwitchClientRecord[];
  /** Every line any client sent, in order. */
  received: Array<{ client: number; line: string }>;
  /** Sends a chat line to every client in `channel`; returns its message id. */
  chat(channel: string, user: TwitchUser, text: string, opts?: ChatOptions): string;
  cheer(channel: string, user: TwitchUser, bits: number, text?: string): string;
  sub(channel: string, user: TwitchUser, opts?: { plan?: string; text?: string }): string;
  resub(channel: string, user: TwitchUser, months: number, text?: string): string;
  subGift(channel: string, gifter: TwitchUser, recipient: TwitchUser, opts?: { communityGiftId?: string }): string;
  /** A community gift of `count` subs, then its `count` subgift notices (as Twitch sends them). */
  mysteryGift(channel: string, gifter: TwitchUser, count: number): string;
  /** NOTICE to a channel ('*' for the connection), with an optional msg-id. */
  notice(target: string, text: string, msgId?: string): void;
  /** A line as is, to every registered client (malformed ones too); a Buffer goes as a binary frame. */
  pushRaw(line: string | Buffer): void;
  /** A server PING; clients should answer `PONG :<text>`. */
  ping(text?: string): void;
  /** Twitch's "please reconnect" (before maintenance). */
  reconnect(): void;
  /** Cuts every client socket without a close frame. */
  drop(): void;
  /** Resolves once `channel` has been joined `count` times in all (count 2: the rejoin after a drop). */
  waitForJoins(channel: string, count?: number): Promise<TwitchClientRecord>;
  /** Resolves once a client sent a line matching `re`. */
  waitForLine(re: RegExp): Promise<{ client: number; line: string }>;
  /** Resolves once client `id` is gone. */
  waitForClose(id: number): Promise<TwitchClientRecord>;
  /** Changes the options for what comes next. */
  setOptions(o: Partial<TwitchServerOptions>): void;
  close(): Promise<void>;
}

function escapeTag(v: string): string {
  return v.replace(/[\\; \r\n]/g, (c) => ({ '\\': '\\\\', ';': '\\:', ' ': '\\s', '\r': '\\r', '\n': '\\n' })[c]!);
}

function numericId(s: string): string {
  return String(parseInt(createHash('sha1').update(s).digest('hex').slice(0, 8), 16));
}

function userOf(u: TwitchUser): { login: string; id: string; displayName: string; badges: string[] } {
  const o = typeof u === 'string' ? { login: u } : u;
  return { login: o.login, id: o.id ?? numericId(`user:${o.login}`), displayName: o.displayName ?? o.login, badges: o.badges ?? [] };
}

function tagString(tags: Array<[string, string]>, extra: Record<string, string | null> = {}): string {
  const map = new Map(tags);
  for (const [k, v] of Object.entries(extra)) {
    if (v === null) map.delete(k);
    else map.set(k, v);
  }
  return '@' + [...map].map(([k, v]) => `${k}=${escapeTag(v)}`).join(';');
}

/** Twitch's `emotes` tag: `<id>:<start>-<end>,.../<id>:...`, positions in code points. */
function emotesTag(text: string, names: string[]): string {
  const parts: string[] = [];
  for (const name of names) {
    const ranges: string[] = [];
    let pos = 0;
    for (const word of text.split(' ')) {
      const len = Array.from(word).length;
      if (word === name) ranges.push(`${pos}-${pos + len - 1}`);
      pos += len + 1;
    }
    if (ranges.length) parts.push(`${numericId(`emote:${name}`)}:${ranges.join(',')}`);
  }
  return parts.join('/');
}

function userTags(user: ReturnType<typeof userOf>, channel: string): Array<[string, string]> {
  const badgeNames = user.badges.map((b) => b.split('/')[0]);
  const sub = user.badges.find((b) => b.startsWith('subscriber/'));
  return [
    ['badge-info', sub ? `subscriber/${sub.split('/')[1]}` : ''],
    ['badges', user.badges.join(',')],
    ['color', '#1E90FF'],
    ['display-name', user.displayName],
    ['mod', badgeNames.includes('moderator') ? '1' : '0'],
    ['room-id', numericId(`user:${channel}`)],
    ['subscriber', sub ? '1' : '0'],
    ['tmi-sent-ts', String(Date.now())],
    ['turbo', '0'],
    ['user-id', user.id],
    ['user-type', badgeNames.includes('moderator') ? 'mod' : ''],
  ];
}

export async function startTwitchServer(initial: TwitchServerOptions = {}): Promise<TwitchServer> {
  let opts = { ...initial };
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const port = (wss.address() as AddressInfo).port;
  const clients: TwitchClientRecord[] = [];
  const sockets = new Map<number, WebSocket>();
  const received: Array<{ client: number; line: string }> = [];
  const joins = new Map<string, number>();
  const waiters = new Set<() => boolean>();
  const settle = (): void => {
    for (const w of [...waiters]) if (w()) waiters.delete(w);
  };
  const waitFor = <T>(pick: () => T | undefined): Promise<T> =>
    new Promise((resolve) => {
      const check = (): boolean => {
        const v = pick();
        if (v === undefined) return false;
        resolve(v);
        return true;
      };
      if (!check()) waiters.add(check);
    });

  const sendTo = (rec: TwitchClientRecord, line: string): void => {
    const ws = sockets.get(rec.id);
    if (!ws || ws.readyState !== ws.OPEN) return;
    // Without the tags capability Twitch sends the same lines with no tags.
    const out = !rec.caps.includes('twitch.tv/tags') && line.startsWith('@') ? line.slice(line.indexOf(' ') + 1) : line;
    ws.send(`${out}\r\n`);
  };
  const toChannel = (channel: string, line: string): void => {
    const chan = channel.replace(/^#/, '').toLowerCase();
    for (const rec of clients) if (!rec.closed && rec.joined.includes(chan)) sendTo(rec, line);
  };

  const welcome = (rec: TwitchClientRecord): void => {
    rec.registered = true;
    const n = rec.nick!;
    for (const [code, text] of [
      ['001', 'Welcome, GLHF!'],
      ['002', 'Your host is tmi.twitch.tv'],
      ['003', 'This server is rather new'],
      ['004', '-'],
      ['375', '-'],
      ['372', "You are in a maze of twisty passages, all alike."],
      ['376', '>'],
    ])
      sendTo(rec, `:tmi.twitch.tv ${code} ${n} :${text}`);
  };

  const refuse = (rec: TwitchClientRecord, ws: WebSocket, text: string): void => {
    sendTo(rec, `:tmi.twitch.tv NOTICE * :${text}`);
    rec.closedBy ??= 'server';
    ws.close();
  };

  const onLine = (rec: TwitchClientRecord, ws: WebSocket, line: string): void => {
    rec.lines.push(line);
    received.push({ client: rec.id, line });
    const [cmd = '', ...rest] = line.split(' ');
    const arg = rest.join(' ');
    switch (cmd.toUpperCase()) {
      case 'CAP': {
        // IRCv3 clients (ircv3, irc-framework) list the capabilities first and end with CAP END.
        if (rest[0] === 'LS') return sendTo(rec, `:tmi.twitch.tv CAP * LS :${[...KNOWN_CAPS].join(' ')}`);
        if (rest[0] !== 'REQ') return;
        const asked = arg.replace(/^REQ :?/, '').split(' ').filter(Boolean);
        const ok = asked.every((c) => KNOWN_CAPS.has(c));
        if (ok) rec.caps.push(...asked);
        sendTo(rec, `:tmi.twitch.tv CAP * ${ok ? 'ACK' : 'NAK'} :${asked.join(' ')}`);
        return;
      }
      case 'PASS':
        rec.pass = arg;
        return;
      case 'NICK': {
        rec.nick = arg.trim().toLowerCase();
        if (rec.pass !== undefined) {
          const token = rec.pass.replace(/^oauth:/, '');
          if (!rec.pass.startsWith('oauth:') || opts.tokens?.[token] !== rec.nick) return refuse(rec, ws, 'Login authentication failed');
        } else if (!/^justinfan\d+$/.test(rec.nick)) {
          return refuse(rec, ws, 'Improperly formatted auth');
        }
        return welcome(rec);
      }
      case 'JOIN': {
        if (!rec.registered) return;
        for (const raw of arg.split(',')) {
          const chan = raw.trim().replace(/^#/, '').toLowerCase();
          if (opts.channels && !opts.channels.map((c) => c.toLowerCase()).includes(chan)) {
            sendTo(rec, `@msg-id=msg_channel_suspended :tmi.twitch.tv NOTICE #${chan} :This channel does not exist or has been suspended.`);
            continue;
          }
          rec.joined.push(chan);
          joins.set(chan, (joins.get(chan) ?? 0) + 1);
          if (opts.silentJoin) continue;
          const n = rec.nick!;
          sendTo(rec, `:${n}!${n}@${n}.tmi.twitch.tv JOIN #${chan}`);
          sendTo(rec, `:${n}.tmi.twitch.tv 353 ${n} = #${chan} :${n}`);
          sendTo(rec, `:${n}.tmi.twitch.tv 366 ${n} #${chan} :End of /NAMES list`);
          sendTo(rec, `@emote-only=0;followers-only=-1;r9k=0;room-id=${numericId(`user:${chan}`)};slow=0;subs-only=0 :tmi.twitch.tv ROOMSTATE #${chan}`);
        }
        return;
      }
      case 'PART':
        rec.joined = rec.joined.filter((c) => `#${c}` !== arg.trim().toLowerCase());
        return;
      case 'PING':
        if (opts.ignorePings) return;
        sendTo(rec, `:tmi.twitch.tv PONG tmi.twitch.tv ${arg.startsWith(':') ? arg : `:${arg}`}`);
        return;
    }
  };

  wss.on('connection', (ws) => {
    const rec: TwitchClientRecord = { id: clients.length + 1, caps: [], registered: false, joined: [], lines: [], closed: false };
    clients.push(rec);
    sockets.set(rec.id, ws);
    ws.on('message', (data) => {
      for (const line of data.toString().split(/\r?\n/)) if (line) onLine(rec, ws, line);
      settle();
    });
    ws.on('close', (code) => {
      rec.closed = true;
      rec.closeCode = code;
      // drop() and refuse() mark their own closes; any other close is the client's.
      rec.closedBy ??= 'client';
      sockets.delete(rec.id);
      settle();
    });
    ws.on('error', () => undefined);
  });

  const notice = (channel: string, user: ReturnType<typeof userOf>, msgId: string, params: Array<[string, string]>, systemMsg: string, text?: string): string => {
    const id = randomUUID();
    const chan = channel.replace(/^#/, '').toLowerCase();
    const tags = [...userTags(user, chan), ['id', id], ['login', user.login], ['msg-id', msgId], ...params, ['system-msg', systemMsg]] as Array<[string, string]>;
    toChannel(chan, `${tagString(tags)} :tmi.twitch.tv USERNOTICE #${chan}${text ? ` :${text}` : ''}`);
    return id;
  };

  const server: TwitchServer = {
    url: `ws://127.0.0.1:${port}`,
    port,
    clients,
    received,
    chat(channel, u, text, o = {}) {
      const user = userOf(u);
      const chan = channel.replace(/^#/, '').toLowerCase();
      const id = o.id ?? randomUUID();
      const tags = userTags(user, chan);
      tags.push(['emotes', emotesTag(text, o.emotes ?? [])], ['first-msg', '0'], ['flags', ''], ['id', id]);
      if (o.bits !== undefined) tags.push(['bits', String(o.bits)]);
      const body = o.action ? `\u0001ACTION ${text}\u0001` : text;
      toChannel(chan, `${tagString(tags, o.tags)} :${user.login}!${user.login}@${user.login}.tmi.twitch.tv PRIVMSG #${chan} :${body}`);
      return id;
    },
    cheer(channel, u, bits, text = `Cheer${bits}`) {
      return server.chat(channel, u, text, { bits });
    },
    sub(channel, u, o = {}) {
      const user = userOf(u);
      const plan = o.plan ?? '1000';
      return notice(channel, user, 'sub', [['msg-param-cumulative-months', '1'], ['msg-param-sub-plan', plan], ['msg-param-sub-plan-name', 'Channel Subscription']], `${user.displayName} subscribed at Tier ${plan[0]}.`, o.text);
    },
    resub(channel, u, months, text) {
      const user = userOf(u);
      return notice(
        channel,
        user,
        'resub',
        [['msg-param-cumulative-months', String(months)], ['msg-param-should-share-streak', '0'], ['msg-param-sub-plan', '1000'], ['msg-param-sub-plan-name', 'Channel Subscription']],
        `${user.displayName} subscribed at Tier 1. They've subscribed for ${months} months!`,
        text,
      );
    },
    subGift(channel, g, r, o = {}) {
      const gifter = userOf(g);
      const rcpt = userOf(r);
      const params: Array<[string, string]> = [
        ['msg-param-gift-months', '1'],
        ['msg-param-months', '1'],
        ['msg-param-recipient-display-name', rcpt.displayName],
        ['msg-param-recipient-id', rcpt.id],
        ['msg-param-recipient-user-name', rcpt.login],
        ['msg-param-sender-count', '1'],
        ['msg-param-sub-plan', '1000'],
      ];
      if (o.communityGiftId) params.push(['msg-param-community-gift-id', o.communityGiftId]);
      return notice(channel, gifter, 'subgift', params, `${gifter.displayName} gifted a Tier 1 sub to ${rcpt.displayName}!`);
    },
    mysteryGift(channel, g, count) {
      const gifter = userOf(g);
      const community = numericId(`gift:${randomUUID()}`);
      const id = notice(
        channel,
        gifter,
        'submysterygift',
        [['msg-param-mass-gift-count', String(count)], ['msg-param-sender-count', String(count)], ['msg-param-sub-plan', '1000'], ['msg-param-community-gift-id', community]],
        `${gifter.displayName} is gifting ${count} Tier 1 Subs to the community!`,
      );
      for (let i = 0; i < count; i++) server.subGift(channel, g, `lucky_viewer_${i + 1}`, { communityGiftId: community });
      return id;
    },
    notice(target, text, msgId) {
      const t = target === '*' ? '*' : `#${target.replace(/^#/, '').toLowerCase()}`;
      const line = `${msgId ? `@msg-id=${msgId} ` : ''}:tmi.twitch.tv NOTICE ${t} :${text}`;
      if (t === '*') for (const rec of clients) sendTo(rec, line);
      else toChannel(t, line);
    },
    pushRaw(line) {
      for (const rec of clients) {
        if (!rec.registered) continue;
        if (typeof line === 'string') sendTo(rec, line);
        else sockets.get(rec.id)?.send(line, { binary: true });
      }
    },
    ping(text = 'tmi.twitch.tv') {
      for (const rec of clients) sendTo(rec, `PING :${text}`);
    },
    reconnect() {
      for (const rec of clients) sendTo(rec, ':tmi.twitch.tv RECONNECT');
    },
    drop() {
      for (const [id, ws] of sockets) {
        clients[id - 1]!.closedBy ??= 'server';
        ws.terminate();
      }
    },
    waitForJoins(channel, count = 1) {
      const chan = channel.replace(/^#/, '').toLowerCase();
      return waitFor(() => ((joins.get(chan) ?? 0) >= count ? clients.filter((c) => c.joined.includes(chan)).at(-1) : undefined));
    },
    waitForLine(re) {
      return waitFor(() => received.find((r) => re.test(r.line)));
    },
    waitForClose(id) {
      return waitFor(() => (clients[id - 1]?.closed ? clients[id - 1] : undefined));
    },
    setOptions(o) {
      opts = { ...opts, ...o };
    },
    async close() {
      for (const ws of sockets.values()) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
  return server;
}
