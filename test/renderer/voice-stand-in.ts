/**
 * A stand-in for the gateway's side of the studio page, for browser tests of the conversation
 * panel: serves the BUILT renderer (out/renderer) over http://127.0.0.1, answers the status polls
 * (/health, /api/services), and speaks the session socket protocol (`WS /api/session?token&session`)
 * like the real gateway: it records every frame the page sends, in order (JSON commands checked
 * against the SessionCommand schema, binary mic frames as bytes), and sends whatever ClientEvents a
 * test scripts (an `audio` event as JSON metadata followed by one binary PCM frame).
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { SessionCommand, type ClientEvent } from '../../src/shared/voice.js';

export type Received =
  | { kind: 'json'; at: number; conn: number; raw: string; cmd?: SessionCommand; invalid?: string }
  | { kind: 'binary'; at: number; conn: number; bytes: Buffer };

export interface StandInOptions {
  rendererDir: string;
  token: string;
  /** How a wrong token is answered: an HTTP 401 to the upgrade, or an accepted socket closed with this code. */
  refuseWith?: 'http-401' | number;
}

export interface StandIn {
  readonly url: string;
  readonly log: Received[];
  /** Session ids of the connections made so far, in order. */
  readonly connections: string[];
  readonly open: number;
  /** While true, upgrades are answered 503 (the core is "down"). */
  refuseUpgrades: boolean;
  send(event: ClientEvent): void;
  sendAudio(meta: Extract<ClientEvent, { type: 'audio' }>, pcm: Buffer): void;
  /** Sends a raw text frame (for protocol-error tests). */
  sendRaw(data: string | Buffer): void;
  /** Closes every client socket (as a restarting core would). */
  dropClients(code?: number): void;
  commands(): SessionCommand[];
  waitFor<T>(pick: () => T | undefined | false, timeoutMs?: number, what?: string): Promise<T>;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

async function serveFile(root: string, urlPath: string, res: ServerResponse): Promise<void> {
  const rel = decodeURIComponent(urlPath === '/' ? '/index.html' : urlPath);
  const file = path.resolve(root, '.' + rel);
  if (!file.startsWith(root + path.sep)) {
    res.writeHead(403).end();
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(body);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }
}

export async function startStandIn(opts: StandInOptions): Promise<StandIn> {
  const root = path.resolve(opts.rendererDir);
  const log: Received[] = [];
  const connections: string[] = [];
  const clients = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', bus: { kind: 'embedded' } }));
    } else if (url.pathname === '/api/services') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ services: [] }));
    } else {
      void serveFile(root, url.pathname, res);
    }
  });

  const api: StandIn = {
    url: '',
    log,
    connections,
    get open() {
      return clients.size;
    },
    refuseUpgrades: false,
    send(event) {
      for (const ws of clients) ws.send(JSON.stringify(event));
    },
    sendAudio(meta, pcm) {
      for (const ws of clients) {
        ws.send(JSON.stringify(meta));
        ws.send(pcm);
      }
    },
    sendRaw(data) {
      for (const ws of clients) ws.send(data);
    },
    dropClients(code = 1012) {
      for (const ws of clients) ws.close(code, 'stand-in restarts');
    },
    commands() {
      return log.flatMap((r) => (r.kind === 'json' && r.cmd ? [r.cmd] : []));
    },
    async waitFor(pick, timeoutMs = 5000, what = 'condition') {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const v = pick();
        if (v !== undefined && v !== false) return v as never;
        if (Date.now() > until) throw new Error(`stand-in: timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      for (const ws of clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const reject = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== '/api/session') return reject('404 Not Found');
    if (api.refuseUpgrades) return reject('503 Service Unavailable');
    const tokenOk = url.searchParams.get('token') === opts.token;
    if (!tokenOk && (opts.refuseWith ?? 'http-401') === 'http-401') return reject('401 Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (!tokenOk) {
        ws.close(opts.refuseWith as number, 'unauthorized');
        return;
      }
      const conn = connections.length;
      connections.push(url.searchParams.get('session') ?? '');
      clients.add(ws);
      ws.on('close', () => clients.delete(ws));
      ws.on('message', (data, isBinary) => {
        const at = performance.now();
        const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
        if (isBinary) {
          log.push({ kind: 'binary', at, conn, bytes });
          return;
        }
        const raw = bytes.toString('utf8');
        let parsed: ReturnType<typeof SessionCommand.safeParse> | undefined;
        try {
          parsed = SessionCommand.safeParse(JSON.parse(raw));
        } catch {
          parsed = undefined;
        }
        if (parsed?.success) log.push({ kind: 'json', at, conn, raw, cmd: parsed.data });
        else log.push({ kind: 'json', at, conn, raw, invalid: parsed ? parsed.error.message : 'not JSON' });
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (api as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return api;
}
