/**
 * A local stand-in for Microsoft Edge's read-aloud TTS WebSocket
 * (wss://speech.platform.bing.com/consumer/speech/synthesize/readaloud/edge/v1), checking what a
 * client sends the way the service does and answering with real MP3 speech:
 *
 * Handshake (else HTTP 403 with a Date header, as the service does for a bad token):
 *   query TrustedClientToken = the Edge client token, Sec-MS-GEC = SHA-256 of (the server's
 *   Windows file time rounded down to 5 min + token), upper-case hex (the previous window is also
 *   accepted), Sec-MS-GEC-Version = 1-<chromium version>, ConnectionId = 32 hex; headers Origin =
 *   Edge's read-aloud extension, a User-Agent with Edg/.
 * Frames (a violation closes the socket with 1007 and the reason):
 *   text `X-Timestamp`, `Content-Type:application/json; charset=utf-8`, `Path:speech.config` with
 *   { context.synthesis.audio.outputFormat } (an MP3 format this stand-in has) before any ssml;
 *   text `X-RequestId` (32 hex), `Content-Type:application/ssml+xml`, `X-Timestamp`, `Path:ssml`
 *   with a well-formed <speak version='1.0' xmlns=... xml:lang=..><voice name='..'><prosody ...>
 *   text</prosody></voice></speak> (text with no raw '<' or unescaped '&').
 * Answer per ssml: turn.start, response, binary audio frames (2-byte big-endian header length,
 * headers X-RequestId / Content-Type:audio/mpeg / X-StreamId / Path:audio, MP3 bytes cut at arbitrary
 * points), audio.metadata word boundaries (100 ns units), an empty audio frame without Content-Type,
 * turn.end. An unknown voice gets turn.start/response/turn.end and no audio. Several turns may
 * share one connection.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';

export const EDGE_PATH = '/consumer/speech/synthesize/readaloud/edge/v1';
const TRUSTED_CLIENT_TOKEN = '6A5AA1D4EAFF4E9FB37E23D68491D6F4';
const ORIGIN = 'chrome-extension://jdiccldimpdaibmpdkjnbmckianbfold';
const FORMATS = ['audio-24khz-48kbitrate-mono-mp3', 'audio-24khz-96kbitrate-mono-mp3'];
export const EDGE_FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'tts', 'edge-speech-24k-48kbps.mp3');

export interface EdgeServerOptions {
  /** Voices the service knows (short names; the long form is accepted too). */
  voices?: string[];
  /** MP3 bytes to answer every sentence with (default: the committed fixture of real speech). */
  mp3?: Buffer;
  /** Bytes per audio frame (default 3000: not aligned with MP3 frames). */
  frameBytes?: number;
  /** Delay before turn.start, and between audio frames. */
  firstByteDelayMs?: number;
  frameIntervalMs?: number;
  /** The server's clock runs this far ahead of the real one (tests the client's skew correction). */
  clockSkewMs?: number;
  /** Close the socket (code 1011) after this many audio frames of a turn. */
  dropAfterFrames?: number;
  /** Close a connection once it has served this many turns (the service may drop idle connections). */
  closeAfterTurns?: number;
}

export interface EdgeTurn {
  connection: number;
  requestId: string;
  ssml: string;
  voice: string;
  rate: string;
  text: string;
  framesSent: number;
  completed: boolean;
}

export interface EdgeConnectionRecord {
  id: number;
  url: string;
  headers: http.IncomingHttpHeaders;
  configs: number;
  closedBy?: 'client' | 'server';
  closeCode?: number;
  closeReason?: string;
}

export interface EdgeServer {
  /** The base URL (no query), for settings.tts.edge.url. */
  url: string;
  port: number;
  turns: EdgeTurn[];
  connections: EdgeConnectionRecord[];
  /** Handshakes refused with 403, and why. */
  refused: Array<{ reason: string; url: string }>;
  setOptions(o: Partial<EdgeServerOptions>): void;
  close(): Promise<void>;
}

/** The token the service expects at a given (server) time. */
export function expectedGec(serverNowMs: number, windowsBack = 0): string {
  let ticks = (BigInt(Math.floor(serverNowMs / 1000)) + 11_644_473_600n) * 10_000_000n;
  ticks -= ticks % 3_000_000_000n;
  ticks -= BigInt(windowsBack) * 3_000_000_000n;
  return createHash('sha256').update(`${ticks}${TRUSTED_CLIENT_TOKEN}`, 'ascii').digest('hex').toUpperCase();
}

function headersOf(block: string): Map<string, string> {
  const h = new Map<string, string>();
  for (const line of block.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) h.set(line.slice(0, i), line.slice(i + 1));
  }
  return h;
}

const SPEAK_RE =
  /^<speak version='1\.0' xmlns='http:\/\/www\.w3\.org\/2001\/10\/synthesis' xml:lang='([a-zA-Z-]+)'><voice name='([^'<>&]+)'><prosody pitch='([+-]\d+Hz)' rate='([+-]\d+%)' volume='([+-]\d+%)'>([\s\S]*)<\/prosody><\/voice><\/speak>$/;

function longVoiceName(short: string): string {
  const m = /^([a-z]{2,3})-([A-Z]{2})-(.+Neural)$/.exec(short);
  return m ? `Microsoft Server Speech Text to Speech Voice (${m[1]}-${m[2]}, ${m[3]})` : short;
}

function unescapeXml(t: string): string {
  return t.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e]!);
}

export async function startEdgeTtsServer(initial: EdgeServerOptions = {}): Promise<EdgeServer> {
  let opts: EdgeServerOptions = { ...initial };
  const fixture = readFileSync(EDGE_FIXTURE);
  const turns: EdgeTurn[] = [];
  const connections: EdgeConnectionRecord[] = [];
  const refused: EdgeServer['refused'] = [];
  const sockets = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true });

  const server = http.createServer((_req, res) => {
    res.writeHead(404).end();
  });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = url.searchParams;
    const serverNow = Date.now() + (opts.clockSkewMs ?? 0);
    const gec = q.get('Sec-MS-GEC') ?? '';
    let reason: string | undefined;
    if (url.pathname !== EDGE_PATH) reason = `path ${url.pathname}`;
    else if (q.get('TrustedClientToken') !== TRUSTED_CLIENT_TOKEN) reason = 'TrustedClientToken';
    else if (gec !== expectedGec(serverNow) && gec !== expectedGec(serverNow, 1)) reason = 'Sec-MS-GEC';
    else if (!/^1-\d+\.\d+\.\d+\.\d+$/.test(q.get('Sec-MS-GEC-Version') ?? '')) reason = 'Sec-MS-GEC-Version';
    else if (!/^[0-9a-f]{32}$/.test(q.get('ConnectionId') ?? '')) reason = 'ConnectionId';
    else if (req.headers.origin !== ORIGIN) reason = 'Origin';
    else if (!/Edg\/\d+/.test(req.headers['user-agent'] ?? '')) reason = 'User-Agent';
    if (reason) {
      refused.push({ reason, url: req.url ?? '' });
      socket.end(`HTTP/1.1 403 Forbidden\r\nDate: ${new Date(serverNow).toUTCString()}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, req));
  });

  function serve(ws: WebSocket, req: http.IncomingMessage): void {
    sockets.add(ws);
    const rec: EdgeConnectionRecord = { id: connections.length, url: req.url ?? '', headers: req.headers, configs: 0 };
    connections.push(rec);
    let configured = false;
    let served = 0;
    let busy = false;
    const timers = new Set<NodeJS.Timeout>();
    const later = (ms: number | undefined, fn: () => void) => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms ?? 0);
      timers.add(t);
    };
    const reject = (why: string) => {
      rec.closedBy = 'server';
      rec.closeCode = 1007;
      rec.closeReason = why;
      ws.close(1007, why.slice(0, 120));
    };
    ws.on('close', (code, reason) => {
      for (const t of timers) clearTimeout(t);
      sockets.delete(ws);
      rec.closedBy ??= 'client';
      rec.closeCode ??= code;
      rec.closeReason ??= reason.toString();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return reject('binary frames are not accepted from the client');
      const text = data.toString('utf8');
      const sep = text.indexOf('\r\n\r\n');
      if (sep < 0) return reject('a frame without a header block');
      const h = headersOf(text.slice(0, sep));
      const body = text.slice(sep + 4);
      const path = h.get('Path');
      if (!h.get('X-Timestamp')) return reject('X-Timestamp missing');
      if (path === 'speech.config') {
        if (h.get('Content-Type') !== 'application/json; charset=utf-8') return reject('speech.config Content-Type');
        let fmt: unknown;
        try {
          fmt = (JSON.parse(body) as { context?: { synthesis?: { audio?: { outputFormat?: unknown } } } }).context?.synthesis?.audio?.outputFormat;
        } catch {
          return reject('speech.config is not JSON');
        }
        if (typeof fmt !== 'string' || !FORMATS.includes(fmt)) return reject(`unsupported outputFormat ${String(fmt)}`);
        configured = true;
        rec.configs++;
        return;
      }
      if (path !== 'ssml') return reject(`unknown Path ${path ?? '(none)'}`);
      if (!configured) return reject('ssml before speech.config');
      if (busy) return reject('ssml while a turn is in progress');
      const requestId = h.get('X-RequestId') ?? '';
      if (!/^[0-9a-f]{32}$/.test(requestId)) return reject('X-RequestId');
      if (h.get('Content-Type') !== 'application/ssml+xml') return reject('ssml Content-Type');
      const m = SPEAK_RE.exec(body);
      if (!m) return reject('malformed SSML');
      const inner = m[6]!;
      if (/</.test(inner) || /&(?!(amp|lt|gt|quot|apos);)/.test(inner)) return reject('invalid XML in the SSML text');
      const turn: EdgeTurn = { connection: rec.id, requestId, ssml: body, voice: m[2]!, rate: m[4]!, text: unescapeXml(inner), framesSent: 0, completed: false };
      turns.push(turn);
      busy = true;
      speakTurn(ws, turn, () => {
        busy = false;
        served++;
        if (opts.closeAfterTurns !== undefined && served >= opts.closeAfterTurns) {
          rec.closedBy = 'server';
          ws.close(1000, 'bye');
        }
      }, later, rec);
    });
  }

  function speakTurn(ws: WebSocket, turn: EdgeTurn, done: () => void, later: (ms: number | undefined, fn: () => void) => void, rec: EdgeConnectionRecord): void {
    const o = opts;
    const voices = (o.voices ?? ['en-US-AriaNeural', 'en-US-GuyNeural', 'zh-CN-XiaoxiaoNeural']).flatMap((v) => [v, longVoiceName(v)]);
    const known = voices.includes(turn.voice);
    const streamId = randomUUID().replace(/-/g, '').toUpperCase();
    const textFrame = (path: string, body: string) =>
      ws.send(`X-RequestId:${turn.requestId}\r\nContent-Type:application/json; charset=utf-8\r\nPath:${path}\r\n\r\n${body}`);
    const audioFrame = (bytes: Buffer | undefined) => {
      const head = Buffer.from(
        bytes ? `X-RequestId:${turn.requestId}\r\nContent-Type:audio/mpeg\r\nX-StreamId:${streamId}\r\nPath:audio\r\n` : `X-RequestId:${turn.requestId}\r\nX-StreamId:${streamId}\r\nPath:audio\r\n`,
      );
      const len = Buffer.alloc(2);
      len.writeUInt16BE(head.length);
      ws.send(Buffer.concat([len, head, bytes ?? Buffer.alloc(0)]));
    };
    later(o.firstByteDelayMs, () => {
      if (ws.readyState !== ws.OPEN) return;
      textFrame('turn.start', JSON.stringify({ context: { serviceTag: streamId } }));
      textFrame('response', JSON.stringify({ context: { serviceTag: streamId }, audio: { type: 'inline', streamId } }));
      if (!known) {
        textFrame('turn.end', '{}');
        turn.completed = true;
        return done();
      }
      const mp3 = o.mp3 ?? fixture;
      const size = o.frameBytes ?? 3000;
      const words = turn.text.split(/\s+/).filter(Boolean);
      let off = 0;
      const step = () => {
        if (ws.readyState !== ws.OPEN) return;
        if (o.dropAfterFrames !== undefined && turn.framesSent >= o.dropAfterFrames) {
          rec.closedBy = 'server';
          rec.closeCode = 1011;
          return ws.close(1011, 'Internal server error');
        }
        if (off < mp3.length) {
          audioFrame(mp3.subarray(off, off + size));
          const w = words[turn.framesSent];
          if (w) {
            const offset = 1_000_000 + turn.framesSent * 3_000_000;
            textFrame('audio.metadata', JSON.stringify({ Metadata: [{ Type: 'WordBoundary', Data: { Offset: offset, Duration: 2_500_000, text: { Text: w, Length: w.length, BoundaryType: 'WordBoundary' } } }] }));
          }
          off += size;
          turn.framesSent++;
          return later(o.frameIntervalMs, step);
        }
        audioFrame(undefined);
        textFrame('turn.end', '{}');
        turn.completed = true;
        done();
      };
      step();
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}${EDGE_PATH}`,
    port,
    turns,
    connections,
    refused,
    setOptions(o) {
      opts = { ...opts, ...o };
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
