/**
 * The Twitch stand-in speaks Twitch IRC as documented, checked with a bare WebSocket client (so
 * the connector's tests do not rest on a stand-in that only agrees with the connector).
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTwitchServer, type TwitchServer } from './twitch-server.js';

class RawClient {
  readonly lines: string[] = [];
  closed = false;
  private readonly checks = new Set<() => boolean>();
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      // Every line the server sends ends in CRLF, several may share a frame.
      const text = d.toString();
      expect(text.endsWith('\r\n')).toBe(true);
      this.lines.push(...text.split('\r\n').filter(Boolean));
      this.settle();
    });
    ws.on('close', () => {
      this.closed = true;
      this.settle();
    });
  }
  static async open(url: string): Promise<RawClient> {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return new RawClient(ws);
  }
  send(...lines: string[]): void {
    for (const l of lines) this.ws.send(l);
  }
  line(re: RegExp): Promise<string> {
    return this.until(() => this.lines.find((l) => re.test(l)));
  }
  gone(): Promise<true> {
    return this.until(() => this.closed || undefined);
  }
  private until<T>(pick: () => T | undefined): Promise<T> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const v = pick();
        if (v === undefined) return false;
        resolve(v);
        return true;
      };
      if (!check()) this.checks.add(check);
    });
  }
  private settle(): void {
    for (const c of [...this.checks]) if (c()) this.checks.delete(c);
  }
}

let srv: TwitchServer | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await srv?.close();
  srv = undefined;
});

async function client(): Promise<RawClient> {
  const c = await RawClient.open(srv!.url);
  clients.push(c);
  return c;
}

describe('twitch stand-in', () => {
  it('welcomes an anonymous reader, joins, and sends tagged chat', async () => {
    srv = await startTwitchServer();
    const c = await client();
    c.send('CAP REQ :twitch.tv/tags twitch.tv/commands', 'NICK justinfan12345');
    expect(await c.line(/ CAP /)).toBe(':tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands');
    await c.line(/ 376 justinfan12345 /);
    expect(c.lines.filter((l) => / \d{3} /.test(l)).map((l) => l.split(' ')[1])).toEqual(['001', '002', '003', '004', '375', '372', '376']);
    c.send('JOIN #Chan');
    expect(await c.line(/ JOIN /)).toBe(':justinfan12345!justinfan12345@justinfan12345.tmi.twitch.tv JOIN #chan');
    await c.line(/ ROOMSTATE #chan$/);
    const id = srv.chat('chan', { login: 'al', id: '77', displayName: 'Al;ice', badges: ['moderator/1'] }, 'Kappa hi Kappa', { emotes: ['Kappa'] });
    const line = await c.line(/PRIVMSG/);
    expect(line).toMatch(/^@badge-info=;badges=moderator\/1;.*display-name=Al\\:ice;.*mod=1;.*user-id=77;.*emotes=\d+:0-4,9-13;.*id=[0-9a-f-]+ :al!al@al\.tmi\.twitch\.tv PRIVMSG #chan :Kappa hi Kappa$/);
    expect(line).toContain(`;id=${id} `);
  });

  it('sends the same lines without tags to a client that did not ask for them', async () => {
    srv = await startTwitchServer();
    const c = await client();
    c.send('NICK justinfan1', 'JOIN #chan');
    await c.line(/ JOIN #chan$/);
    srv.cheer('chan', 'bob', 100);
    expect(await c.line(/PRIVMSG/)).toBe(':bob!bob@bob.tmi.twitch.tv PRIVMSG #chan :Cheer100');
  });

  it('refuses a wrong token and a nick without PASS, then closes', async () => {
    srv = await startTwitchServer({ tokens: { right: 'bot' } });
    const a = await client();
    a.send('PASS oauth:wrong', 'NICK bot');
    expect(await a.line(/NOTICE/)).toBe(':tmi.twitch.tv NOTICE * :Login authentication failed');
    await a.gone();
    const b = await client();
    b.send('NICK bot');
    expect(await b.line(/NOTICE/)).toBe(':tmi.twitch.tv NOTICE * :Improperly formatted auth');
    await b.gone();
    const c = await client();
    c.send('PASS oauth:right', 'NICK bot', 'JOIN #chan', 'PRIVMSG #chan :hello');
    await srv.waitForLine(/^PRIVMSG #chan :hello$/);
    expect(srv.clients.map((r) => r.closedBy)).toEqual(['server', 'server', undefined]);
  });

  it('lists its caps, NAKs unknown ones, says a channel that does not exist is suspended, answers PING', async () => {
    srv = await startTwitchServer({ channels: ['real'] });
    const c = await client();
    c.send('CAP LS 302', 'CAP REQ :twitch.tv/tags example.com/nope', 'CAP END', 'NICK justinfan9', 'JOIN #ghost', 'PING :abc');
    expect(await c.line(/ CAP \* LS /)).toBe(':tmi.twitch.tv CAP * LS :twitch.tv/tags twitch.tv/commands twitch.tv/membership');
    expect(await c.line(/ CAP \* NAK /)).toBe(':tmi.twitch.tv CAP * NAK :twitch.tv/tags example.com/nope');
    expect(await c.line(/NOTICE/)).toBe(':tmi.twitch.tv NOTICE #ghost :This channel does not exist or has been suspended.');
    expect(await c.line(/PONG/)).toBe(':tmi.twitch.tv PONG tmi.twitch.tv :abc');
  });

  it('sends a community gift as its notice and one subgift per sub, naming the same gift', async () => {
    srv = await startTwitchServer();
    const c = await client();
    c.send('CAP REQ :twitch.tv/tags twitch.tv/commands', 'NICK justinfan2', 'JOIN #chan');
    await c.line(/ROOMSTATE/);
    srv.mysteryGift('chan', 'whale', 3);
    srv.resub('chan', 'loyal', 7, 'hi there');
    await c.line(/msg-id=resub/);
    const notices = c.lines.filter((l) => l.includes(' USERNOTICE '));
    expect(notices.map((l) => /msg-id=(\w+)/.exec(l)![1])).toEqual(['submysterygift', 'subgift', 'subgift', 'subgift', 'resub']);
    const giftIds = notices.slice(0, 4).map((l) => /msg-param-community-gift-id=(\d+)/.exec(l)![1]);
    expect(new Set(giftIds).size).toBe(1);
    expect(notices[0]).toContain('msg-param-mass-gift-count=3');
    expect(notices[0]).toContain('system-msg=whale\\sis\\sgifting\\s3\\sTier\\s1\\sSubs\\sto\\sthe\\scommunity!');
    expect(notices[4]).toMatch(/msg-param-cumulative-months=7;.* :tmi\.twitch\.tv USERNOTICE #chan :hi there$/);
  });

  it('drop() cuts every socket', async () => {
    srv = await startTwitchServer();
    const c = await client();
    c.send('NICK justinfan3');
    await c.line(/ 001 /);
    srv.drop();
    await c.gone();
    expect(srv.clients[0]).toMatchObject({ closed: true, closedBy: 'server' });
  });
});
