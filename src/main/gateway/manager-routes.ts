/**
 * The manager's routes (src/shared/manager-api.ts): services with the CPU and memory of their
 * processes, stop and start of one service, the bus's queue and stream lengths, and the timing marks
 * of the last turns. Every route needs the studio token, reads included: the services carry each
 * process's last error and stderr lines, the turns carry session ids, and the page has the token
 * anyway. (The read-only service list the overlay and status poll use stays at GET /api/services.)
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ManagerPaths, type BusLengthsResponse, type ManagerServicesResponse, type TurnTimingsResponse } from '../../shared/manager-api.js';
import { requireToken } from './auth.js';
import { readBusLengths, type BusReader } from './bus-lengths.js';
import { samplePid, withProcessStats, type PidSampler } from './process-stats.js';
import type { TurnTimings } from './turn-timings.js';
import type { ServicesSource } from './types.js';

export interface ManagerRoutesOptions {
  token: string;
  services: ServicesSource;
  timings: TurnTimings;
  /** A core bus connection for the lengths; absent: the bus route says so. */
  bus?: BusReader;
  sample?: PidSampler;
}

export function managerPlugin(o: ManagerRoutesOptions) {
  return async function manager(app: FastifyInstance): Promise<void> {
    const auth = requireToken(o.token);
    const sample = o.sample ?? samplePid;

    app.get(ManagerPaths.services, { preHandler: auth }, async (): Promise<ManagerServicesResponse> => ({
      services: await withProcessStats(o.services.status(), sample),
      control: typeof o.services.stopService === 'function' && typeof o.services.startService === 'function',
    }));

    const known = (name: string, reply: FastifyReply): boolean => {
      if (o.services.status().some((s) => s.name === name)) return true;
      void reply.code(404).send({ error: `no service named '${name}'; the services are: ${o.services.status().map((s) => s.name).join(', ')}` });
      return false;
    };
    const noControl = (reply: FastifyReply) =>
      reply.code(501).send({ error: 'this core cannot stop or start single services (its supervisor is older): restart the service instead' });

    app.post(ManagerPaths.serviceStop, { preHandler: auth }, async (req, reply) => {
      const { name } = req.params as { name: string };
      if (!known(name, reply)) return reply;
      if (!o.services.stopService) return noControl(reply);
      await o.services.stopService(name);
      return { ok: true, service: name };
    });

    app.post(ManagerPaths.serviceStart, { preHandler: auth }, async (req, reply) => {
      const { name } = req.params as { name: string };
      if (!known(name, reply)) return reply;
      if (!o.services.startService) return noControl(reply);
      await o.services.startService(name);
      return { ok: true, service: name };
    });

    app.get(ManagerPaths.bus, { preHandler: auth }, async (_req, reply): Promise<BusLengthsResponse> => {
      if (!o.bus) return reply.code(503).send({ lengths: [], error: 'this gateway has no bus connection for the manager' });
      try {
        return { lengths: await readBusLengths(o.bus) };
      } catch (err) {
        return reply.code(503).send({ lengths: [], error: `the bus did not answer: ${(err as Error).message}` });
      }
    });

    app.get(ManagerPaths.turns, { preHandler: auth }, async (): Promise<TurnTimingsResponse> => ({ turns: o.timings.list() }));
  };
}
