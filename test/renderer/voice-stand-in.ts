/**
 * A stand-in for the gateway's side of the studio page, for browser tests of the conversation
 * panel: serves the BUILT renderer (out/renderer) over http://127.0.0.1, answers the status polls
 * (/health, /api/services, an empty /api/models: the avatar shows its built-in model; /api/setup: no
 * first run; the control
 * API's state with the default hotkeys), and speaks the session socket protocol (`WS /api/session?token&session`)
 * like the real gateway (a wrong token: the socket is closed with 4401): it records every frame the
 * page sends, in order (JSON commands checked against the SessionCommand schema, binary mic frames
 * as bytes), and sends whatever ClientEvents a test scripts (an `audio` event as JSON metadata
 * followed by one binary PCM frame).
 * Why not the real gateway (test/renderer/voice-gateway.test.ts runs the page against it): these
 * tests feed the page what the gateway never sends (binary frames without metadata, a socket
 * dropped by a restart while upgrades are refused) and check the page's raw frames (exact commands,
 * 640-byte mic frames and their order around mic_start/mic_stop), which the gateway turns into bus
 * messages.
 */
import fastifyStatic from '@fastify/static';
import Fastify from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ConfigSchema } from '../../src/shared/config.js';
import { SessionCommand, type ClientEvent } from '../../src/shared/voice.js';

export type Received =
  | { kind: 'json'; at: number; conn: number; raw: string; cmd?: SessionCommand; invalid?: string }
  | { kind: 'binary'; at: number; conn: number; bytes: Buffer };

export interface StandInOptions {
  rendererDir: string;
  token: string;
}

export interface StandIn {
  readonly url: string;
  readonly log: Received[];
  /** Session ids of the connections made so far, in order. */
  readonly connections: string[];
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

export async function startStandIn(opts: StandInOptions): Promise<StandIn> {
  const root = path.resolve(opts.rendererDir);
  const log: Received[] = [];
  const connections: string[] = [];
  const clients = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });

  const app = Fastify();
  await app.register(fastifyStatic, { root, cacheControl: false });
  app.get('/health', async () => ({ status: 'ok', bus: { kind: 'embedded' } }));
  app.get('/api/services', async () => ({ services: [] }));
  app.get('/api/models', async () => ({ models: [], selected: '' }));
  // Not a first run: the studio stays on the stage instead of opening the setup wizard.
  app.get('/api/setup', async () => ({ firstRun: false, detected: [] }));
  // The control API's state, as the gateway answers it with the default settings (the page reads its hotkeys there).
  app.post('/api/control/state', async () => ({ ok: true, command: 'state', session: 'studio', muted: false, persona: 'Aria', hotkeys: ConfigSchema.parse({ dataDir: '-' }).hotkeys }));
  const server = app.server;

  const api: StandIn = {
    url: '',
    log,
    connections,
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
      await app.close();
    },
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const reject = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== '/api/session') return reject('404 Not Found');
    if (api.refuseUpgrades) return reject('503 Service Unavailable');
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (url.searchParams.get('token') !== opts.token) {
        ws.close(4401, 'unauthorized');
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

  await app.listen({ host: '127.0.0.1', port: 0 });
  (api as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return api;
}
