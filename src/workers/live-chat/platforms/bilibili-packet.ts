/**
 * The Bilibili danmaku packet format (the WebSocket `/sub` protocol): every packet is a 16-byte
 * big-endian header followed by its body, and one WebSocket frame may carry several packets.
 *
 *   offset 0  u32  packet length (header + body)
 *   offset 4  u16  header length (16)
 *   offset 6  u16  protocol version: 0 JSON, 1 heartbeat/int, 2 zlib bundle, 3 brotli bundle
 *   offset 8  u32  operation: 2 heartbeat, 3 heartbeat reply, 5 command, 7 auth, 8 auth reply
 *   offset 12 u32  sequence
 *
 * A version 2/3 body is the compressed concatenation of further packets (the server bundles several
 * commands into one). Decoding never throws: what cannot be read is returned as an error and the
 * rest of the frame is still used where the lengths allow it (a bad length loses the rest of that
 * frame only, since nothing after it can be found). Written here rather than taken from
 * bilibili-live-ws because its decoder loops forever on a zero length and rejects a whole frame on
 * one bad body, from inside an event listener where nothing can catch it.
 */
import { brotliDecompressSync, inflateSync } from 'node:zlib';

export const HEADER_BYTES = 16;

export const Op = { heartbeat: 2, heartbeatReply: 3, command: 5, auth: 7, authReply: 8 } as const;
export const Ver = { json: 0, int: 1, zlib: 2, brotli: 3 } as const;

/** A bundle inflating past this is refused (a zip bomb must not take the worker's memory). */
export const MAX_INFLATED_BYTES = 8 * 1024 * 1024;

export interface Packet {
  ver: number;
  op: number;
  seq: number;
  body: Buffer;
}

export interface PacketError {
  what: string;
  /** The start of the offending bytes, hex, for the log. */
  sample: string;
}

export interface DecodedFrame {
  packets: Packet[];
  errors: PacketError[];
}

/** One packet; `body` as bytes, a string, or a value sent as JSON. */
export function encodePacket(op: number, body: Buffer | string | object = '', ver: number = Ver.int, seq = 1): Buffer {
  const payload = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const head = Buffer.alloc(HEADER_BYTES);
  head.writeUInt32BE(HEADER_BYTES + payload.length, 0);
  head.writeUInt16BE(HEADER_BYTES, 4);
  head.writeUInt16BE(ver, 6);
  head.writeUInt32BE(op, 8);
  head.writeUInt32BE(seq, 12);
  return Buffer.concat([head, payload]);
}

function sample(buf: Buffer, from: number): string {
  return buf.subarray(from, from + 24).toString('hex');
}

/** Splits a frame into packets, opening zlib/brotli bundles (one level deep, as the server sends them). */
export function decodeFrame(frame: Buffer, maxInflated = MAX_INFLATED_BYTES): DecodedFrame {
  const out: DecodedFrame = { packets: [], errors: [] };
  split(frame, out, maxInflated, true);
  return out;
}

function split(buf: Buffer, out: DecodedFrame, maxInflated: number, outer: boolean): void {
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at < HEADER_BYTES) {
      out.errors.push({ what: `truncated packet: ${buf.length - at} bytes left, a header needs ${HEADER_BYTES}`, sample: sample(buf, at) });
      return;
    }
    const length = buf.readUInt32BE(at);
    const headerLength = buf.readUInt16BE(at + 4);
    if (headerLength < HEADER_BYTES || length < headerLength || at + length > buf.length) {
      out.errors.push({
        what: `bad packet length ${length} (header ${headerLength}) at byte ${at} of ${buf.length}: the rest of the frame is skipped`,
        sample: sample(buf, at),
      });
      return;
    }
    const ver = buf.readUInt16BE(at + 6);
    const op = buf.readUInt32BE(at + 8);
    const seq = buf.readUInt32BE(at + 12);
    const body = buf.subarray(at + headerLength, at + length);
    at += length;
    if (ver === Ver.zlib || ver === Ver.brotli) {
      if (!outer) {
        out.errors.push({ what: 'a compressed bundle inside a compressed bundle', sample: sample(body, 0) });
        continue;
      }
      let inner: Buffer;
      try {
        inner = ver === Ver.zlib ? inflateSync(body, { maxOutputLength: maxInflated }) : brotliDecompressSync(body, { maxOutputLength: maxInflated });
      } catch (err) {
        const name = ver === Ver.zlib ? 'zlib' : 'brotli';
        out.errors.push({ what: `bad ${name} bundle (${(err as Error).message})`, sample: sample(body, 0) });
        continue;
      }
      split(inner, out, maxInflated, false);
      continue;
    }
    out.packets.push({ ver, op, seq, body });
  }
}
