/**
 * The Bilibili stand-in checked with a bare client (fetch, ws, node:zlib; not the connector's codec),
 * so a test that passes against it passes against the protocol, not against a shared mistake.
 */
import { brotliDecompressSync, inflateSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { signWbi } from '../../../src/workers/live-chat/platforms/bilibili-wbi.js';
import { startBilibiliServer, type BilibiliServer } from './bilibili-server.js';

let server: BilibiliServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function packet(op: number, body: string): Buffer {
  const b = Buffer.from(body);
  const h = Buffer.alloc(16);
  h.writeUInt32BE(16 + b.length, 0);
  h.writeUInt16BE(16, 4);
  h.writeUInt16BE(1, 6);
  h.writeUInt32BE(op, 8);
  h.writeUInt32BE(1, 12);
  return Buffer.concat([h, b]);
}

function header(f: Buffer) {
  return { length: f.readUInt32BE(0), ver: f.readUInt16BE(6), op: f.readUInt32BE(8), body: f.subarray(16, f.readUInt32BE(0)) };
}

async function get(url: string): Promise<{ code: number; data: Record<string, unknown> }> {
  return (await (await fetch(url)).json()) as { code: number; data: Record<string, unknown> };
}

/** Frames as they come, one promise per frame. */
function frames(ws: WebSocket): () => Promise<Buffer> {
  const queue: Buffer[] = [];
  const waiting: ((b: Buffer) => void)[] = [];
  ws.on('message', (d: Buffer) => {
    const w = waiting.shift();
    if (w) w(d);
    else queue.push(d);
  });
  return () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiting.push(resolve)));
}

describe('bilibili stand-in', () => {
  it('answers the lookups, refuses an unsigned getDanmuInfo and an unknown room', async () => {
    server = await startBilibiliServer({ rooms: [{ roomId: 1000001, shortId: 3, ownerUid: 9 }] });
    expect((await get(`${server.endpoint}/room/v1/Room/room_init?id=3`)).data).toMatchObject({ room_id: 1000001, short_id: 3, uid: 9 });
    expect((await get(`${server.endpoint}/room/v1/Room/room_init?id=4`)).code).toBe(60004);
    expect((await get(`${server.endpoint}/xlive/web-room/v1/index/getDanmuInfo?id=1000001&type=0`)).code).toBe(-352);
    const nav = await get(`${server.endpoint}/x/web-interface/nav`);
    expect(nav.code).toBe(-101);
    const img = nav.data.wbi_img as { img_url: string; sub_url: string };
    const name = (u: string) => u.slice(u.lastIndexOf('/') + 1, u.lastIndexOf('.'));
    const query = signWbi({ id: 1000001, type: 0 }, { imgKey: name(img.img_url), subKey: name(img.sub_url) }, 1_700_000_000);
    const info = await get(`${server.endpoint}/xlive/web-room/v1/index/getDanmuInfo?${query}`);
    expect(info.code).toBe(0);
    expect(info.data.host_list).toEqual([expect.objectContaining({ host: '127.0.0.1', ws_port: server.port })]);
  });

  it('refuses an auth with a key it never issued, accepts an issued one, answers heartbeats and sends bundles', async () => {
    server = await startBilibiliServer();
    const room = server.rooms[0].roomId;

    const bad = new WebSocket(`ws://127.0.0.1:${server.port}/sub`);
    const badNext = frames(bad);
    await new Promise((r) => bad.once('open', r));
    bad.send(packet(7, JSON.stringify({ uid: 0, roomid: room, protover: 3, platform: 'web', type: 2, key: 'made-up' })));
    const refused = header(await badNext());
    expect(refused.op).toBe(8);
    expect(JSON.parse(refused.body.toString())).toEqual({ code: -101 });
    await new Promise((r) => bad.once('close', r));

    const nav = await get(`${server.endpoint}/x/web-interface/nav`);
    const img = nav.data.wbi_img as { img_url: string; sub_url: string };
    const name = (u: string) => u.slice(u.lastIndexOf('/') + 1, u.lastIndexOf('.'));
    const info = await get(`${server.endpoint}/xlive/web-room/v1/index/getDanmuInfo?${signWbi({ id: room }, { imgKey: name(img.img_url), subKey: name(img.sub_url) }, 1)}`);
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/sub`);
    const next = frames(ws);
    await new Promise((r) => ws.once('open', r));
    ws.send(packet(7, JSON.stringify({ uid: 0, roomid: room, protover: 3, platform: 'web', type: 2, key: info.data.token })));
    expect(JSON.parse(header(await next()).body.toString())).toEqual({ code: 0 });
    ws.send(packet(2, '[object Object]'));
    const beat = header(await next());
    expect(beat.op).toBe(3);
    expect(beat.body.readUInt32BE(0)).toBeGreaterThan(0);

    server.bundle([{ cmd: 'A' }, { cmd: 'B' }], 'brotli');
    const b = header(await next());
    expect([b.op, b.ver]).toEqual([5, 3]);
    const inner = brotliDecompressSync(b.body);
    const first = header(inner);
    const second = header(inner.subarray(first.length));
    expect([JSON.parse(first.body.toString()).cmd, JSON.parse(second.body.toString()).cmd]).toEqual(['A', 'B']);

    server.danmaku({ uid: 5, name: 'n', text: 'zlib line' }, 'zlib');
    const z = header(await next());
    expect(z.ver).toBe(2);
    expect(JSON.parse(header(inflateSync(z.body)).body.toString()).info[1]).toBe('zlib line');

    server.drop();
    await server.waitForNoClients();
    expect(server.received.map((p) => p.op)).toEqual([7, 7, 2]);
  });
});
