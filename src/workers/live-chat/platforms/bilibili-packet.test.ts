import { brotliCompressSync, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodePacket, HEADER_BYTES, Op, Ver } from './bilibili-packet.js';

const cmd = (o: object) => encodePacket(Op.command, o, Ver.json);

function bundle(ver: 2 | 3, ...packets: Buffer[]): Buffer {
  const inner = Buffer.concat(packets);
  return encodePacket(Op.command, ver === 2 ? deflateSync(inner) : brotliCompressSync(inner), ver);
}

describe('bilibili packet codec', () => {
  it('writes the 16-byte big-endian header the server reads', () => {
    const p = encodePacket(Op.auth, { roomid: 7 }, Ver.int, 9);
    const body = '{"roomid":7}';
    expect(p.readUInt32BE(0)).toBe(HEADER_BYTES + body.length);
    expect(p.readUInt16BE(4)).toBe(16);
    expect(p.readUInt16BE(6)).toBe(1);
    expect(p.readUInt32BE(8)).toBe(7);
    expect(p.readUInt32BE(12)).toBe(9);
    expect(p.subarray(16).toString()).toBe(body);
  });

  it('splits several packets of one frame and opens zlib and brotli bundles in order', () => {
    const pop = Buffer.alloc(4);
    pop.writeUInt32BE(4242);
    const frame = Buffer.concat([
      encodePacket(Op.heartbeatReply, pop, Ver.int),
      bundle(2, cmd({ n: 1 }), cmd({ n: 2 })),
      bundle(3, cmd({ n: 3 }), cmd({ n: 4 }), cmd({ n: 5 })),
      cmd({ n: 6 }),
    ]);
    const { packets, errors } = decodeFrame(frame);
    expect(errors).toEqual([]);
    expect(packets[0]).toMatchObject({ op: Op.heartbeatReply });
    expect(packets[0].body.readUInt32BE(0)).toBe(4242);
    expect(packets.slice(1).map((p) => JSON.parse(p.body.toString()).n)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('skips a bad zlib or brotli body and keeps the packets after it', () => {
    const badZlib = encodePacket(Op.command, Buffer.from('not zlib at all'), Ver.zlib);
    const badBrotli = encodePacket(Op.command, Buffer.from([0xff, 0xff, 0xff, 0xff]), Ver.brotli);
    const { packets, errors } = decodeFrame(Buffer.concat([badZlib, cmd({ n: 1 }), badBrotli, cmd({ n: 2 })]));
    expect(errors.map((e) => e.what)).toEqual([expect.stringMatching(/^bad zlib bundle/), expect.stringMatching(/^bad brotli bundle/)]);
    expect(packets.map((p) => JSON.parse(p.body.toString()).n)).toEqual([1, 2]);
  });

  it('reports a zero, too short or too long length once and drops the rest of that frame only', () => {
    for (const length of [0, 8, 10_000]) {
      const bad = cmd({ n: 0 });
      bad.writeUInt32BE(length, 0);
      const { packets, errors } = decodeFrame(Buffer.concat([cmd({ n: 1 }), bad, cmd({ n: 2 })]));
      expect(packets.map((p) => JSON.parse(p.body.toString()).n)).toEqual([1]);
      expect(errors).toHaveLength(1);
      expect(errors[0].what).toMatch(new RegExp(`^bad packet length ${length}`));
    }
  });

  it('reports a truncated header, and a bundle inside a bundle', () => {
    expect(decodeFrame(Buffer.concat([cmd({ n: 1 }), Buffer.alloc(5)])).errors[0].what).toMatch(/truncated packet: 5 bytes/);
    const nested = bundle(2, bundle(2, cmd({ n: 1 })), cmd({ n: 2 }));
    const { packets, errors } = decodeFrame(nested);
    expect(errors[0].what).toMatch(/inside a compressed bundle/);
    expect(packets.map((p) => JSON.parse(p.body.toString()).n)).toEqual([2]);
  });

  it('refuses a bundle that inflates past the cap', () => {
    const big = encodePacket(Op.command, 'x'.repeat(10_000), Ver.json);
    const { packets, errors } = decodeFrame(bundle(2, big), 1000);
    expect(packets).toEqual([]);
    expect(errors[0].what).toMatch(/^bad zlib bundle/);
  });
});
