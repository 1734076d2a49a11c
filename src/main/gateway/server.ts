/**
 * The gateway: HTTP + WebSocket on 127.0.0.1:8000 by default. This issue's part is the core's own
 * surface: seed-compatible `GET /health` and `GET /connections`, the service list and control, log
 * tail and live log stream, and the built studio page. The voice endpoints (the seed's `/ws/input`,
 * `/ws/output/{task_id}`, `/api/asr`, `/control/stop`, and the studio's `/api/session`) live in voice/.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import { z } from 'zod';
import { StudioPaths } from '../../shared/renderer-api.js';
import type { HealthBody } from '../../shared/studio-status.js';
import { requireToken, tokenFromRequest, tokensEqual } from './auth.js';
import { ChatFeed } from './chat-feed.js';
import { chatPlugin } from './chat-routes.js';
import { ConnectionRegistry } from './connections.js';
import { hostGuard } from './host-guard.js';
import { isOverlayFile, registerOverlayRoutes } from './overlay-routes.js';
import { managerPlugin } from './manager-routes.js';
import { memoryPlugin } from './memory-routes.js';
import { modelsPlugin } from './models-routes.js';
import { setupPlugin } from './setup-routes.js';
import { settingsPlugin } from './settings-routes.js';
import { speechPlugin } from './speech-routes.js';
import { statusPage } from './status-page.js';
import { TurnTimings } from './turn-timings.js';
import type { GatewayDeps } from './types.js';
import { voicePlugin } from './voice/index.js';

export interface GatewayOptions {
  host: string;
  port: number;
  /** Host names answered besides loopback ones and `host` (config `gateway.allowedHosts`). */
  allowedHosts?: readonly string[];
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly connections: ConnectionRegistry;
  close(): Promise<void>;
}

const LogQuery = z.object({
  service: z.string().optional(),
  n: z.coerce.number().int().min(1).max(5000).default(200),
  token: z.string().optional(),
});

/**
 * A plain GET on a WebSocket route answers 426 with a JSON body saying what the route is, instead of
 * @fastify/websocket's empty 404. Must be added before that plugin registers its own onRoute hook:
 * a route with a `wsHandler` keeps its `handler` for requests that are not upgrades.
 */
function answerPlainGetsOnWebSocketRoutes(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!route.websocket || route.wsHandler) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes('GET')) return;
    route.wsHandler = route.handler as unknown as NonNullable<typeof route.wsHandler>;
    route.websocket = false;
    route.handler = async (req, reply) =>
      reply
        .code(426)
        .header('upgrade', 'websocket')
        .header('connection', 'Upgrade')
        .send({ error: `${req.url.split('?')[0]} is a WebSocket endpoint: connect with a WebSocket client (ws://), not a plain HTTP request` });
  });
}

export function buildGateway(deps: GatewayDeps, opts: Pick<GatewayOptions, 'host' | 'allowedHosts'> = { host: '127.0.0.1' }): { app: FastifyInstance; connections: ConnectionRegistry } {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
  const connections = new ConnectionRegistry();
  const auth = requireToken(deps.token);
  const started = Date.now();
  const chat = deps.chat ? new ChatFeed(deps.chat) : undefined;
  if (chat) {
    app.addHook('onClose', async () => chat.close());
    // Subscribed from the start, so the panel opened later still shows what came before.
    chat.start().catch((err: Error) => deps.chat?.log?.('warn', `chat feed: not subscribed yet (${err.message}); retried on the next request`));
  }

  // Before anything else, upgrades included: a request for a host we do not serve gets nothing.
  app.addHook('onRequest', hostGuard({ bindHost: opts.host, allowedHosts: opts.allowedHosts }));
  answerPlainGetsOnWebSocketRoutes(app);
  app.register(fastifyWebsocket, { options: { maxPayload: 16 * 1024 * 1024 } });

  app.get(StudioPaths.health, async (): Promise<HealthBody> => {
    const services = deps.services.status();
    const [busOk, liveChat] = await Promise.all([deps.bus.ping().catch(() => false), chat ? chat.statuses() : []]);
    const ready = services.filter((s) => s.state === 'ready').length;
    const failed = services.filter((s) => s.state === 'failed').map((s) => s.name);
    const notices = services.filter((s) => s.notice).map((s) => [s.name, s.notice as string]);
    const status = busOk && ready === services.length ? 'ok' : failed.length > 0 || !busOk ? 'error' : 'degraded';
    return {
      status,
      version: deps.version,
      uptime_s: Math.round((Date.now() - started) / 1000),
      bus: { kind: deps.bus.kind, url: deps.bus.url, status: busOk ? 'ok' : 'unreachable' },
      services: Object.fromEntries(services.map((s) => [s.name, s.state])),
      ready: `${ready}/${services.length}`,
      ...(failed.length > 0 ? { failed } : {}),
      ...(notices.length > 0 ? { notices: Object.fromEntries(notices) } : {}),
      connections: connections.size,
      liveChat,
    };
  });

  app.get(StudioPaths.services, async () => ({ services: deps.services.status() }));

  app.post(StudioPaths.serviceRestart, { preHandler: auth }, async (req, reply) => {
    const { name } = req.params as { name: string };
    if (!deps.services.status().some((s) => s.name === name)) {
      return reply.code(404).send({ error: `no service named '${name}'` });
    }
    await deps.services.restart(name);
    return { ok: true, service: name };
  });

  app.get(StudioPaths.connections, async () => ({ total_connections: connections.size, connections: connections.list() }));

  app.get(StudioPaths.config, { preHandler: auth }, async () => ({ config: deps.config?.() ?? null }));

  app.get(StudioPaths.logs, { preHandler: auth }, async (req, reply) => {
    const q = LogQuery.safeParse(req.query);
    if (!q.success) return reply.code(400).send({ error: q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    return { records: deps.logs.tail(q.data.n, q.data.service) };
  });

  app.register(async (scoped) => {
    // Live log stream: one JSON record per text frame. Token in the query (browsers can't set headers).
    scoped.get(StudioPaths.logStream, { websocket: true }, (socket, req) => {
      if (!tokensEqual(tokenFromRequest(req), deps.token)) {
        socket.close(4401, 'unauthorized');
        return;
      }
      const q = LogQuery.safeParse(req.query);
      const service = q.success ? q.data.service : undefined;
      const forget = connections.add(StudioPaths.logStream, req.ip);
      const unsubscribe = deps.logs.subscribe((record) => {
        if (service && record.service !== service) return;
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(record));
      });
      socket.on('close', () => {
        unsubscribe();
        forget();
      });
    });
  });

  // The last turns' timing marks: fed by the voice endpoints, read by the manager.
  const timings = new TurnTimings();
  if (deps.voice) app.register(voicePlugin(deps.voice, deps.token, connections, timings));
  app.register(managerPlugin({ token: deps.token, services: deps.services, timings, bus: deps.bus?.reader }));
  if (deps.models) app.register(modelsPlugin(deps.models, deps.token));
  app.register(setupPlugin(deps.setup, deps.token));
  if (deps.settings) app.register(settingsPlugin(deps.settings, deps.token, deps.services));
  if (deps.speech) app.register(speechPlugin(deps.speech, deps.token));
  if (chat) app.register(chatPlugin(chat, deps.token, connections, deps.settings?.service));
  // The memory view; each turn's recall status joins its timings for the manager.
  if (deps.memory) app.register(memoryPlugin(deps.memory, deps.token, timings));

  const rendererDir = deps.rendererDir;
  registerOverlayRoutes(app, rendererDir, deps.token);
  if (rendererDir && existsSync(path.join(rendererDir, 'index.html'))) {
    app.register(fastifyStatic, { root: rendererDir, prefix: StudioPaths.page, index: ['index.html'], allowedPath: (p) => !isOverlayFile(p) });
  } else {
    app.get(StudioPaths.page, async (_req, reply) => reply.type('text/html; charset=utf-8').send(statusPage(deps, rendererDir)));
  }

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: `not found: ${req.method} ${req.url.split('?')[0]}` });
  });
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const code = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    reply.code(code).send({ error: err.message });
  });

  return { app, connections };
}

export async function startGateway(deps: GatewayDeps, opts: GatewayOptions): Promise<Gateway> {
  const { app, connections } = buildGateway(deps, opts);
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    await app.close().catch(() => {});
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      throw new Error(`port ${opts.port} on ${opts.host} is in use: stop the other program or choose another with --port`, { cause: err });
    }
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    connections,
    close: async () => {
      await app.close();
    },
  };
}
