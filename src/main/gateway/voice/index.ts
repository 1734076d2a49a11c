/**
 * The gateway's voice endpoints, as one fastify plugin: the seed's `/ws/input`,
 * `/ws/output/{task_id}`, `POST /api/asr`, `POST /control/stop`, and the studio's `/api/session`.
 * They reach the pipeline only through the bus: InputTasks to fav:input, MicFrames on fav:mic,
 * ControlEvents on fav:control, playback_done on fav:events; and one subscription on fav:deliver
 * for the whole gateway, routed by session and task (delivery.ts).
 * Access: the session API needs the token for `control` sockets; `view` sockets (read-only) and the
 * seed endpoints take it, or let in programs on this machine without it (access.ts says why).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Channels } from '../../../shared/bus.js';
import { StudioPaths } from '../../../shared/renderer-api.js';
import { STUDIO_SESSION, parseSessionAccess } from '../../../shared/voice.js';
import { tokenFromRequest, tokensEqual } from '../auth.js';
import type { ConnectionRegistry } from '../connections.js';
import { SEED_UNAUTHORIZED, seedAccessAllowed } from './access.js';
import { registerAsrRoute } from './asr-http.js';
import { VoiceBus } from './bus-link.js';
import { DeliveryRouter } from './delivery.js';
import { controlEvent, newTaskId } from './messages.js';
import { resolveVoiceOptions, SESSION_ID, type VoiceOptions } from './options.js';
import { SeedInputConnection, UploadBudget } from './seed-input.js';
import { SeedTaskStore } from './seed-tasks.js';
import { SessionHub, type TurnObserver } from './session-socket.js';
import { registerControlRoutes } from '../control-routes.js';

export type { VoiceOptions } from './options.js';

/** Close reasons are at most 123 bytes. */
const VIEW_UNAUTHORIZED = 'unauthorized: a view socket without ?token= is only for programs on this machine, not other sites';

const StopBody = z.object({ sessionId: z.string().regex(SESSION_ID, 'expected a session id') });

/** Close codes: 4401 no or wrong token, 4400 a bad query, 4404 an unknown task, 4409 taken, 1013 full. */
const sessionOf = (req: FastifyRequest, fallback: string): string | undefined => {
  const q = req.query as Record<string, unknown> | undefined;
  const s = q?.session;
  if (s === undefined || s === '') return fallback;
  return typeof s === 'string' && SESSION_ID.test(s) ? s : undefined;
};

/** `turns`: told of every turn_end delivered and every `heard` report (the manager's latency chart). */
export function voicePlugin(options: VoiceOptions, token: string, connections: ConnectionRegistry, turns?: TurnObserver) {
  return async function voice(app: FastifyInstance): Promise<void> {
    const o = resolveVoiceOptions(options);
    const router = new DeliveryRouter(o.log);
    const bus = await VoiceBus.open(o.busUrl, (raw) => router.dispatch(raw), o.log);
    const seedTasks = new SeedTaskStore(router, o);
    const sessions = new SessionHub(router, bus, o, turns);
    if (turns) router.watch((d) => void (d.event.type === 'turn_end' && turns.turnEnd(d.event)));
    const uploads = new UploadBudget(o.maxPendingUploadBytes);
    app.addHook('onClose', async () => {
      seedTasks.close();
      sessions.close();
      await bus.close();
    });

    const seedError = (socket: { send(d: string): void; close(c: number, r: string): void }, code: number, error: string) => {
      socket.send(JSON.stringify({ status: 'error', error }));
      socket.close(code, error.slice(0, 120));
    };

    app.get(StudioPaths.seedInput, { websocket: true }, (socket, req) => {
      if (!seedAccessAllowed(req, token)) return seedError(socket, 4401, SEED_UNAUTHORIZED);
      const taskId = newTaskId();
      // As in the seed, a task is its own session (so /control/stop {"sessionId": task_id} stops
      // it, and uploads of different clients do not queue behind each other), unless the client
      // names a session with ?session= to share one conversation.
      const session = sessionOf(req, taskId);
      if (!session) return seedError(socket, 4400, 'invalid ?session=: letters, digits, _ . : - (at most 128)');
      if (seedTasks.full) return seedError(socket, 1013, `too many tasks waiting (${o.maxSeedTasks}): try again shortly`);
      const forget = connections.add(StudioPaths.seedInput, req.ip);
      socket.on('close', forget);
      seedTasks.create(taskId, session);
      new SeedInputConnection(socket, taskId, session, bus, seedTasks, o, uploads);
    });

    app.get(StudioPaths.seedOutput, { websocket: true }, (socket, req) => {
      if (!seedAccessAllowed(req, token)) return seedError(socket, 4401, SEED_UNAUTHORIZED);
      const { taskId } = req.params as { taskId: string };
      const result = seedTasks.attach(taskId, socket);
      if (result === 'unknown') return seedError(socket, 4404, `unknown task_id ${taskId}: it was never assigned by /ws/input, or its output expired`);
      if (result === 'taken') return seedError(socket, 4409, `task ${taskId} already has an output socket`);
      const forget = connections.add(`/ws/output/${taskId}`, req.ip);
      socket.on('close', forget);
    });

    registerAsrRoute(app, token, bus, router, o);
    // The control API (Stream Deck-style tools) drives the same sessions: it shares the bus and the router.
    registerControlRoutes(app, token, {
      bus,
      router,
      deliver: (event) => router.dispatch(JSON.stringify(event)),
      socketCounts: (id) => sessions.socketCounts(id),
      // A deck drives the studio page and the overlay: their session unless a command names another.
      defaultSession: STUDIO_SESSION,
      maxTextChars: o.input.maxTextChars,
    });

    app.post(StudioPaths.controlStop, async (req, reply) => {
      if (!seedAccessAllowed(req, token)) return reply.code(401).send({ error: SEED_UNAUTHORIZED });
      const body = StopBody.safeParse(req.body ?? {});
      if (!body.success) return reply.code(400).send({ error: 'sessionId is required: {"sessionId":"<id>"}' });
      // A seed task id stops that task's turn; in a session the client named, only that turn
      // (a cancel of one turn id), not the other clients' turns of the session.
      const id = body.data.sessionId;
      const taskSession = seedTasks.sessionOf(id);
      const stop = taskSession && taskSession !== id ? controlEvent('cancel', taskSession, 'control/stop', id) : controlEvent('stop', id, 'control/stop');
      try {
        await bus.publish(Channels.control, stop);
      } catch (err) {
        return reply.code(503).send({ error: `the pipeline is unreachable (bus: ${(err as Error).message})` });
      }
      return { ok: true };
    });

    app.get(StudioPaths.session, { websocket: true }, (socket, req) => {
      const access = parseSessionAccess((req.query ?? {}) as Record<string, unknown>);
      if ('error' in access) return socket.close(4400, access.error);
      // A view socket is read-only: like the seed endpoints, it needs no token on this machine.
      const allowed = access.role === 'view' ? seedAccessAllowed(req, token) : tokensEqual(tokenFromRequest(req), token);
      if (!allowed) return socket.close(4401, access.role === 'view' ? VIEW_UNAUTHORIZED : 'unauthorized: ?token=<studio token> is required');
      const session = sessionOf(req, o.defaultSession);
      if (!session) return socket.close(4400, 'invalid ?session=: letters, digits, _ . : - (at most 128)');
      const forget = connections.add(`/api/session?session=${session}&role=${access.role}`, req.ip);
      socket.on('close', forget);
      sessions.join(session, socket, access);
    });
  };
}
