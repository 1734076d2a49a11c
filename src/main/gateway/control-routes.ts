/**
 * The local control API for Stream Deck-style tools (commands in control/commands.ts):
 *   POST /api/control/<command>   JSON body with the command's arguments (optional `session`),
 *                                 answers { ok: true, command, session, ... } or
 *                                 { ok: false, code, error } with a 4xx/5xx status
 *   GET  /api/control/state       the same as POST /api/control/state
 *   WS   /api/control?token=&session=
 *                                 up: { "command": "say", "text": "hi", "id": 1 } per text frame;
 *                                 down: { type: 'result', id, ...answer } for each, and pushed
 *                                 { type: 'state', ... } at connect and on every change (mute,
 *                                 persona), { type: 'event', event } for the session's turn_state,
 *                                 emotion, stop, turn_end and error events.
 * Guarded twice: the studio token (Authorization: Bearer, X-Fav-Token or ?token=) and a loopback
 * peer, whatever address the gateway is bound to (a deck runs on the streamer's machine). The
 * gateway's host guard already refused other Host names before this.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { tokenFromRequest, tokensEqual } from './auth.js';
import { ControlCenter, ControlError, ControlErrorCodes, type ControlDeps, type ControlState } from './control/commands.js';
import type { DeliveryRouter } from './voice/delivery.js';
import { isLoopbackAddress } from './voice/access.js';
import { SESSION_ID } from './voice/options.js';

export const CONTROL_PATH = '/api/control';

/** Session events a deck cares about (audio and text deltas stay with the players). */
const FORWARDED = new Set(['turn_state', 'emotion', 'stop', 'turn_end', 'error', 'mic_mute']);
const MAX_FRAME_BYTES = 64 * 1024;
/** What the body parser hands on for a body that is not JSON. */
const BAD_JSON = Symbol('bad JSON');

type Refusal = { status: number; code: string; error: string };

function refusal(req: FastifyRequest, token: string): Refusal | undefined {
  if (!isLoopbackAddress(req.socket.remoteAddress)) {
    return { status: 403, code: ControlErrorCodes.notLoopback, error: 'the control API answers programs on this machine only (a loopback address)' };
  }
  if (!tokensEqual(tokenFromRequest(req), token)) {
    return { status: 401, code: ControlErrorCodes.unauthorized, error: 'unauthorized: send the studio token (Authorization: Bearer <token>, X-Fav-Token: <token> or ?token=); it is in <data dir>/gateway-token' };
  }
  return undefined;
}

function fail(reply: FastifyReply, err: unknown) {
  if (err instanceof ControlError) return reply.code(err.status).send({ ok: false, code: err.code, error: err.message });
  return reply.code(500).send({ ok: false, code: 'internal', error: (err as Error).message });
}

export function registerControlRoutes(app: FastifyInstance, token: string, deps: ControlDeps & { router: DeliveryRouter }): ControlCenter {
  const center = new ControlCenter(deps);

  const http = async (req: FastifyRequest, reply: FastifyReply, command: string, body: unknown) => {
    const no = refusal(req, token);
    if (no) return reply.code(no.status).send({ ok: false, code: no.code, error: no.error });
    const q = req.query as Record<string, unknown>;
    const args = body && typeof body === 'object' && !Array.isArray(body) ? { ...(body as object) } : body === undefined || body === null || body === '' ? {} : body;
    if (typeof q.session === 'string' && args && typeof args === 'object' && !('session' in args)) (args as Record<string, unknown>).session = q.session;
    try {
      return await center.run(command, args);
    } catch (err) {
      return fail(reply, err);
    }
  };

  // In a context of their own: deck tools often send `Content-Type: application/json` with no body,
  // which fastify's own parser refuses; here that is a command without arguments, and bad JSON is
  // answered in the API's own form.
  app.register(async (scoped) => {
    scoped.removeContentTypeParser('application/json');
    scoped.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
      const text = String(body).trim();
      if (text === '') return done(null, {});
      try {
        done(null, JSON.parse(text));
      } catch {
        done(null, BAD_JSON);
      }
    });
    scoped.post(`${CONTROL_PATH}/:command`, async (req, reply) => {
      if (req.body === BAD_JSON) {
        const no = refusal(req, token);
        if (no) return reply.code(no.status).send({ ok: false, code: no.code, error: no.error });
        return reply.code(400).send({ ok: false, code: ControlErrorCodes.badArguments, error: 'invalid JSON body: send e.g. {"text":"hello"}, or no body' });
      }
      return http(req, reply, (req.params as { command: string }).command, req.body);
    });
    scoped.get(`${CONTROL_PATH}/state`, async (req, reply) => http(req, reply, 'state', {}));
  });

  app.get(CONTROL_PATH, { websocket: true }, (socket, req) => {
    const no = refusal(req, token);
    if (no) return socket.close(no.status === 403 ? 4403 : 4401, no.error.slice(0, 120));
    const q = (req.query ?? {}) as Record<string, unknown>;
    const session = typeof q.session === 'string' && q.session !== '' ? q.session : deps.defaultSession;
    if (!SESSION_ID.test(session)) return socket.close(4400, 'invalid ?session=: letters, digits, _ . : - (at most 128)');
    new ControlSocket(socket, session, center, deps.router);
  });

  return center;
}

class ControlSocket {
  private readonly cleanups: Array<() => void> = [];

  constructor(
    private readonly socket: WebSocket,
    private readonly session: string,
    private readonly center: ControlCenter,
    router: DeliveryRouter,
  ) {
    this.cleanups.push(
      center.onChange((s) => {
        if (s.session === session) this.send({ type: 'state', ...s });
      }),
      router.onSession(session, (d) => {
        if (FORWARDED.has(d.event.type)) this.send({ type: 'event', event: d.event });
      }),
    );
    socket.on('message', (data, isBinary) => void this.onMessage(data as Buffer, isBinary));
    socket.on('close', () => this.cleanups.forEach((c) => c()));
    center.state(session).then(
      (s: ControlState) => this.send({ type: 'state', ...s }),
      () => {},
    );
  }

  private async onMessage(data: Buffer, isBinary: boolean): Promise<void> {
    let id: unknown;
    try {
      if (isBinary || data.byteLength > MAX_FRAME_BYTES) throw new ControlError(ControlErrorCodes.badArguments, 400, `send one JSON command per text frame (at most ${MAX_FRAME_BYTES} bytes)`);
      let msg: unknown;
      try {
        msg = JSON.parse(data.toString('utf8'));
      } catch {
        throw new ControlError(ControlErrorCodes.badArguments, 400, 'invalid JSON: send e.g. {"command":"say","text":"hello"}');
      }
      if (!msg || typeof msg !== 'object' || Array.isArray(msg)) throw new ControlError(ControlErrorCodes.badArguments, 400, 'send a JSON object, e.g. {"command":"mute"}');
      const { command, id: given, ...args } = msg as Record<string, unknown>;
      id = given;
      if (typeof command !== 'string') throw new ControlError(ControlErrorCodes.badArguments, 400, 'missing "command": e.g. {"command":"stop"}');
      const result = await this.center.run(command, { session: this.session, ...args });
      this.send({ type: 'result', ...(id !== undefined ? { id } : {}), ...result });
    } catch (err) {
      const e = err instanceof ControlError ? err : new ControlError('internal', 500, (err as Error).message);
      this.send({ type: 'result', ...(id !== undefined ? { id } : {}), ok: false, code: e.code, error: e.message });
    }
  }

  private send(msg: unknown): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(msg));
  }
}
