/**
 * A local stand-in for Bilibili live chat, written from the public description of the web client's
 * protocol (its own packet codec, independent of the connector's, so one cannot hide the other's bug):
 *
 * HTTP (one origin serves both api.live.bilibili.com and api.bilibili.com paths):
 *   GET /room/v1/Room/room_init?id=<short or long id>  {code:0, data:{room_id, short_id, uid, live_status,
 *       is_locked}}; unknown room: {code:60004, message:'直播间不存在'}
 *   GET /x/frontend/finger/spi  {code:0, data:{b_3, b_4}} (the buvid3/buvid4 browser ids)
 *   GET /x/web-interface/nav  with Cookie SESSDATA=<sessdata>: {code:0, data:{isLogin:true, mid, wbi_img}};
 *       else {code:-101, data:{isLogin:false, wbi_img}} (wbi_img: the WBI keys as image URLs)
 *   GET /xlive/web-room/v1/index/getDanmuInfo?id=<long id>&...&wts&w_rid  WBI-signed with this
 *       server's keys (else {code:-352}, as Bilibili answers since May 2025): {code:0, data:{token,
 *       host_list:[{host, port, wss_port, ws_port}]}} pointing at this server (a fresh token each call)
 * WebSocket /sub: packets of a 16-byte big-endian header (length u32, header length u16 = 16,
 *   version u16, operation u32, sequence u32) and a body. The first packet must be the auth (op 7)
 *   with JSON {uid, roomid: a long id, protover: 2|3, platform: 'web', type: 2, key: an issued token}
 *   (uid must be the nav mid when the client logged in): answered with op 8 {code:0}, else op 8
 *   {code:-101} and a close. Heartbeats (op 2) are answered with op 3 and a u32 popularity.
 *   Commands go out as op 5, plain JSON (version 0) or zlib (2) / brotli (3) bundles of several.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync } from 'node:zlib';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ChatConnection } from '../../../src/shared/config.js';
import { signWbi } from '../../../src/workers/live-chat/platforms/bilibili-wbi.js';

export interface BilibiliRoomFixture {
  roomId: number;
  shortId?: number;
  ownerUid?: number;
  /** 0 not broadcasting, 1 live, 2 a replay loop. */
  liveStatus?: number;
  locked?: boolean;
}

export interface BilibiliServerOptions {
  rooms?: BilibiliRoomFixture[];
  /** The SESSDATA cookie nav accepts; its viewer's uid is `viewerUid`. */
  sessdata?: string;
  viewerUid?: number;
  /** How commands are packed when a push names none (the real server: brotli with protover 3). */
  pack?: Pack;
  /** The WBI keys nav hands out and getDanmuInfo checks (default: fixed test keys). */
  wbi?: { imgKey: string; subKey: string };
}

export type Pack = 'plain' | 'zlib' | 'brotli';

export interface ClientPacket {
  /** Which WebSocket connection (1, 2, ...). */
  connection: number;
  op: number;
  ver: number;
  /** The body: parsed JSON where it is JSON, else the text. */
  body: unknown;
}

export interface HttpRecord {
  path: string;
  query: Record<string, string>;
  cookie?: string;
}

/** Sent in full to a logged-in client; an anonymous one (auth uid 0) gets uid 0 and a masked name, as Bilibili does. */
export interface DanmakuInput {
  uid?: number;
  name?: string;
  text: string;
  admin?: boolean;
  /** Guard level 1/2/3 (0 none). */
  guard?: number;
  /** The room id of the viewer's fan medal (0 none). */
  medalRoom?: number;
  /** The text is a sticker (info[0][13] set). */
  sticker?: boolean;
  /** id_str in info[0][15].extra (omitted: the packet has none). */
  idStr?: string;
  /** Sent, ms since the epoch. */
  ts?: number;
  /** The uid hash (info[0][7]). */
  uidHash?: string;
}

export interface GiftInput {
  uid: number;
  name: string;
  gift: string;
  num?: number;
  /** Per unit, in gold or silver. */
  price?: number;
  coin?: 'gold' | 'silver';
  tid?: string;
  timestamp?: number;
}

export interface SuperChatInput {
  id: number;
  uid: number;
  name: string;
  message: string;
  /** CNY. */
  price: number;
  guard?: number;
  startTime?: number;
}

export interface GuardInput {
  uid: number;
  name: string;
  /** 1 总督, 2 提督, 3 舰长. */
  level: number;
  num?: number;
  /** Gold per unit. */
  price?: number;
  startTime?: number;
}

type Obj = Record<string, unknown>;

export interface BilibiliServer {
  /** The API origin, for ChatConnection.endpoint. */
  endpoint: string;
  port: number;
  rooms: BilibiliRoomFixture[];
  /** Every packet clients sent, in order. */
  received: ClientPacket[];
  http: HttpRecord[];
  /** Connections authenticated so far (1, 2, ...) and those open now. */
  authenticated: number[];
  open(): number;
  /** false: heartbeats go unanswered (a half-dead server). */
  answerHeartbeats: boolean;
  /** What getDanmuInfo answers instead of success (e.g. {code:-352, message:'-352'}). */
  danmuInfoFailure: { code: number; message: string } | undefined;
  /** true: every auth packet is refused (op 8 {code:-101}, then a close), as for a stale key. */
  refuseAuth: boolean;
  /** true: auth packets are recorded and never answered (a server that hangs after the handshake). */
  ignoreAuth: boolean;
  /** HTTP paths recorded and never answered (a hung API). */
  stallPaths: Set<string>;
  /** Resolves when `n` HTTP requests have come in all. */
  waitForHttp(n: number): Promise<void>;
  /** A ChatConnection for this stand-in (room: the first room's long id). */
  connection(id?: string, channel?: string): ChatConnection;
  /** Resolves with the first packet (already received or to come) that matches. */
  waitForPacket(match: (p: ClientPacket) => boolean): Promise<ClientPacket>;
  /** Resolves when `n` connections have authenticated in all. */
  waitForAuth(n: number): Promise<void>;
  /** Resolves when no client socket is open. */
  waitForNoClients(): Promise<void>;
  danmaku(d: DanmakuInput, pack?: Pack): Obj;
  gift(g: GiftInput, pack?: Pack): Obj;
  superChat(s: SuperChatInput, pack?: Pack): Obj;
  guardBuy(g: GuardInput, pack?: Pack): Obj;
  /** Any command object (LIVE, PREPARING, an unknown cmd...). */
  command(cmd: Obj, pack?: Pack): void;
  /** Several commands in one zlib or brotli bundle. */
  bundle(cmds: Obj[], pack: 'zlib' | 'brotli'): void;
  /** Bytes as they are, in one binary frame (malformed packets). */
  pushRaw(bytes: Buffer): void;
  /** A text frame (the real server never sends one). */
  pushText(text: string): void;
  /** One packet with the given header fields and body, in one frame. */
  packet(op: number, ver: number, body: Buffer | string): Buffer;
  /** Cuts every client socket without a close frame (a network drop). */
  drop(): void;
  close(): Promise<void>;
}

function header(length: number, ver: number, op: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32BE(length, 0);
  h.writeUInt16BE(16, 4);
  h.writeUInt16BE(ver, 6);
  h.writeUInt32BE(op, 8);
  h.writeUInt32BE(0, 12);
  return h;
}

function pkt(op: number, ver: number, body: Buffer | string): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  return Buffer.concat([header(16 + b.length, ver, op), b]);
}

function packCommands(cmds: Obj[], pack: Pack): Buffer {
  const plain = cmds.map((c) => pkt(5, 0, JSON.stringify(c)));
  if (pack === 'plain') return Buffer.concat(plain);
  const inner = Buffer.concat(plain);
  return pkt(5, pack === 'zlib' ? 2 : 3, pack === 'zlib' ? deflateSync(inner) : brotliCompressSync(inner));
}

function readPackets(frame: Buffer): { op: number; ver: number; body: Buffer }[] {
  const out: { op: number; ver: number; body: Buffer }[] = [];
  for (let at = 0; at + 16 <= frame.length; ) {
    const len = frame.readUInt32BE(at);
    if (len < 16 || at + len > frame.length) break;
    out.push({ ver: frame.readUInt16BE(at + 6), op: frame.readUInt32BE(at + 8), body: frame.subarray(at + 16, at + len) });
    at += len;
  }
  return out;
}

export async function startBilibiliServer(opts: BilibiliServerOptions = {}): Promise<BilibiliServer> {
  const rooms = opts.rooms ?? [{ roomId: 21452505, shortId: 5, ownerUid: 1000, liveStatus: 1 }];
  const defaultPack: Pack = opts.pack ?? 'brotli';
  const events = new EventEmitter();
  const tokens = new Set<string>();
  const loggedIn = new Set<string>();
  let tokenSeq = 0;
  let connSeq = 0;
  const sockets = new Map<number, WebSocket>();
  /** Authenticated sockets: true for a logged-in viewer (uid > 0), who sees names in full. */
  const authed = new Map<WebSocket, boolean>();

  const findRoom = (id: number) => rooms.find((r) => r.roomId === id || (r.shortId && r.shortId === id));
  const json = (res: http.ServerResponse, body: unknown) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const sessdataOf = (cookie: string | undefined) => /(?:^|;\s*)SESSDATA=([^;]+)/.exec(cookie ?? '')?.[1];
  const wbi = opts.wbi ?? { imgKey: '0123456789abcdef0123456789abcdef', subKey: 'fedcba9876543210fedcba9876543210' };
  const wbiImg = { img_url: `https://i0.hdslb.com/bfs/wbi/${wbi.imgKey}.png`, sub_url: `https://i0.hdslb.com/bfs/wbi/${wbi.subKey}.png` };
  const signed = (query: Record<string, string>) => {
    const { w_rid: wRid, wts, ...rest } = query;
    return !!wRid && !!wts && signWbi(rest, wbi, Number(wts)).endsWith(`&w_rid=${wRid}`);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams);
    srv.http.push({ path: url.pathname, query, cookie: req.headers.cookie });
    events.emit('change');
    if (srv.stallPaths.has(url.pathname)) return;
    const id = Number(query.id);
    if (url.pathname === '/room/v1/Room/room_init') {
      const r = findRoom(id);
      if (!r) return json(res, { code: 60004, msg: '直播间不存在', message: '直播间不存在', data: null });
      return json(res, {
        code: 0,
        msg: 'ok',
        message: 'ok',
        data: { room_id: r.roomId, short_id: r.shortId ?? 0, uid: r.ownerUid ?? 0, live_status: r.liveStatus ?? 1, is_locked: !!r.locked, is_hidden: false, encrypted: false },
      });
    }
    if (url.pathname === '/x/frontend/finger/spi') {
      return json(res, { code: 0, message: 'ok', data: { b_3: 'B3B3B3B3-1111-2222-3333-444444444444infoc', b_4: 'B4B4B4B4-5555-6666-7777-888888888888-025120400-abc+def==' } });
    }
    if (url.pathname === '/x/web-interface/nav') {
      const s = sessdataOf(req.headers.cookie);
      if (!opts.sessdata || s !== opts.sessdata) return json(res, { code: -101, message: '账号未登录', ttl: 1, data: { isLogin: false, wbi_img: wbiImg } });
      return json(res, { code: 0, message: '0', ttl: 1, data: { isLogin: true, mid: opts.viewerUid ?? 0, uname: 'viewer', wbi_img: wbiImg } });
    }
    if (url.pathname === '/xlive/web-room/v1/index/getDanmuInfo') {
      if (srv.danmuInfoFailure) return json(res, { ...srv.danmuInfoFailure, ttl: 1, data: null });
      if (!signed(query)) return json(res, { code: -352, message: '-352', ttl: 1, data: null });
      const r = rooms.find((x) => x.roomId === id);
      if (!r) return json(res, { code: 1, message: '房间不存在', ttl: 1, data: null });
      const token = `tok-${++tokenSeq}-${r.roomId}`;
      tokens.add(token);
      if (opts.sessdata && sessdataOf(req.headers.cookie) === opts.sessdata) loggedIn.add(token);
      const { port } = server.address() as AddressInfo;
      return json(res, { code: 0, message: '0', ttl: 1, data: { group: 'live', token, host_list: [{ host: '127.0.0.1', port, wss_port: port, ws_port: port }] } });
    }
    res.writeHead(404).end();
  });

  const wss = new WebSocketServer({ server, path: '/sub' });
  wss.on('connection', (ws) => {
    const connection = ++connSeq;
    sockets.set(connection, ws);
    ws.on('close', () => {
      sockets.delete(connection);
      authed.delete(ws);
      events.emit('change');
    });
    ws.on('message', (data: Buffer) => {
      for (const p of readPackets(data)) {
        let body: unknown = p.body.toString('utf8');
        try {
          body = JSON.parse(body as string);
        } catch {
          // not JSON (a heartbeat's "[object Object]"): kept as text
        }
        const rec: ClientPacket = { connection, op: p.op, ver: p.ver, body };
        srv.received.push(rec);
        events.emit('packet', rec);
        if (!authed.has(ws)) {
          if (srv.ignoreAuth) continue;
          const b = (typeof body === 'object' && body !== null ? body : {}) as Obj;
          const key = String(b.key ?? '');
          const ok =
            !srv.refuseAuth &&
            p.op === 7 &&
            tokens.has(key) &&
            rooms.some((r) => r.roomId === b.roomid) &&
            (b.protover === 2 || b.protover === 3) &&
            b.platform === 'web' &&
            b.type === 2 &&
            typeof b.uid === 'number' &&
            (!loggedIn.has(key) || b.uid === opts.viewerUid);
          ws.send(pkt(8, 1, JSON.stringify({ code: ok ? 0 : -101 })));
          if (!ok) {
            ws.close(1008, 'auth refused');
            return;
          }
          authed.set(ws, typeof b.uid === 'number' && b.uid > 0);
          srv.authenticated.push(connection);
          events.emit('change');
          continue;
        }
        if (p.op === 2 && srv.answerHeartbeats) {
          const pop = Buffer.alloc(4);
          pop.writeUInt32BE(12345);
          ws.send(pkt(3, 1, pop));
        }
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const broadcast = (bytes: Buffer) => {
    for (const ws of authed.keys()) ws.send(bytes, { binary: true });
  };
  const send = (cmd: Obj, pack: Pack | undefined) => {
    broadcast(packCommands([cmd], pack ?? defaultPack));
    return cmd;
  };
  const until = (done: () => boolean) =>
    new Promise<void>((resolve) => {
      if (done()) return resolve();
      const on = () => {
        if (!done()) return;
        events.off('change', on);
        resolve();
      };
      events.on('change', on);
    });
  const now = () => Date.now();

  const srv: BilibiliServer = {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    rooms,
    received: [],
    http: [],
    authenticated: [],
    open: () => sockets.size,
    connection: (id = 'bilibili', channel = String(rooms[0].roomId)) => ({ id, platform: 'bilibili', channel, enabled: true, postReplies: false, endpoint: srv.endpoint }),
    answerHeartbeats: true,
    danmuInfoFailure: undefined,
    refuseAuth: false,
    ignoreAuth: false,
    stallPaths: new Set(),
    waitForHttp: (n) => until(() => srv.http.length >= n),
    waitForPacket: (match) =>
      new Promise((resolve) => {
        const seen = srv.received.find(match);
        if (seen) return resolve(seen);
        const on = (p: ClientPacket) => {
          if (!match(p)) return;
          events.off('packet', on);
          resolve(p);
        };
        events.on('packet', on);
      }),
    waitForAuth: (n) => until(() => srv.authenticated.length >= n),
    waitForNoClients: () => until(() => sockets.size === 0),
    danmaku: (d, pack) => {
      const ts = d.ts ?? now();
      const meta: unknown[] = [0, 1, 25, 16777215, ts, Math.floor(ts / 1000), 0, d.uidHash ?? 'c5c630b1', 0, 0, 0, '', 0, d.sticker ? { emoticon_unique: `room_${d.text}`, url: 'http://i0.hdslb.com/x.png', width: 150, height: 60 } : '{}', '{}'];
      meta.push(d.idStr ? { mode: 0, extra: JSON.stringify({ id_str: d.idStr, content: d.text }) } : { mode: 0, extra: '{}' });
      const cmd = (uid: number, name: string) => ({
        cmd: 'DANMU_MSG:4:0:2:2:2:0',
        info: [
          meta,
          d.text,
          [uid, name, d.admin ? 1 : 0, 0, 0, 10000, 1, ''],
          d.medalRoom ? [12, '粉丝牌', '主播', d.medalRoom, 6067854, '', 0, 6067854, 6067854, 6067854, d.guard ?? 0, 1, 1000] : [],
          [11, 0, 6406234, '>50000'],
          ['', ''],
          0,
          d.guard ?? 0,
          null,
          { ts: Math.floor(ts / 1000), ct: 'A1B2C3D4' },
          0,
          0,
          null,
          null,
          0,
          105,
        ],
      });
      // A viewer who is not logged in gets uid 0 and the name cut to its first character + ***.
      const full = cmd(d.uid ?? 0, d.name ?? '');
      const masked = cmd(0, d.name ? `${[...d.name][0]}***` : '');
      const p = pack ?? defaultPack;
      for (const [ws, loggedIn] of authed) ws.send(packCommands([loggedIn ? full : masked], p), { binary: true });
      return full;
    },
    gift: (g, pack) => {
      const num = g.num ?? 1;
      const price = g.price ?? 100;
      const ts = g.timestamp ?? Math.floor(now() / 1000);
      return send(
        {
          cmd: 'SEND_GIFT',
          data: {
            uid: g.uid,
            uname: g.name,
            giftName: g.gift,
            giftId: 1,
            num,
            price,
            total_coin: price * num,
            coin_type: g.coin ?? 'gold',
            action: '投喂',
            timestamp: ts,
            rnd: String(ts),
            tid: g.tid ?? `${ts}${g.uid}`,
            guard_level: 0,
            medal_info: { anchor_roomid: 0, medal_level: 0 },
          },
        },
        pack,
      );
    },
    superChat: (s, pack) =>
      send(
        {
          cmd: 'SUPER_CHAT_MESSAGE',
          data: {
            id: s.id,
            uid: s.uid,
            price: s.price,
            message: s.message,
            start_time: s.startTime ?? Math.floor(now() / 1000),
            end_time: (s.startTime ?? Math.floor(now() / 1000)) + 60,
            time: 60,
            user_info: { uname: s.name, guard_level: s.guard ?? 0, face: 'http://i0.hdslb.com/face.jpg' },
            medal_info: { anchor_roomid: 0, medal_level: 0 },
          },
        },
        pack,
      ),
    guardBuy: (g, pack) => {
      const start = g.startTime ?? Math.floor(now() / 1000);
      return send(
        {
          cmd: 'GUARD_BUY',
          data: { uid: g.uid, username: g.name, guard_level: g.level, num: g.num ?? 1, price: g.price ?? 198000, gift_id: 10003, gift_name: ({ 1: '总督', 2: '提督', 3: '舰长' } as Record<number, string>)[g.level] ?? '', start_time: start, end_time: start },
        },
        pack,
      );
    },
    command: (cmd, pack) => void send(cmd, pack),
    bundle: (cmds, pack) => broadcast(packCommands(cmds, pack)),
    pushRaw: (bytes) => broadcast(bytes),
    pushText: (text) => {
      for (const ws of authed.keys()) ws.send(text, { binary: false });
    },
    packet: pkt,
    drop: () => {
      for (const ws of sockets.values()) ws.terminate();
    },
    close: async () => {
      for (const ws of sockets.values()) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return srv;
}
