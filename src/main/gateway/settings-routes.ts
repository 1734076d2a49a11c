/**
 * The studio's settings over HTTP (SettingsPaths, token-guarded): read and save the settings, probe
 * an LLM endpoint (its model list, a short streamed prompt), probe a Redis URL, and restart the
 * services a save named. Validation and the file live in the settings service; this file only
 * translates between it and HTTP.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { isServiceName } from '../../shared/bus.js';
import type { LlmProbe } from '../../shared/settings-api.js';
import { SettingsPaths } from '../../shared/settings-api.js';
import { ConfigError } from '../config/load-config.js';
import { listModels, llmTarget, probeBus, SettingsRejected, testLlm, type LlmProbeOptions, type SettingsService } from '../settings/index.js';
import { requireToken } from './auth.js';
import type { ServicesSource } from './types.js';

export interface SettingsRoutesOptions {
  service: SettingsService;
  /** LLM probe limits (tests shorten the timeout). */
  llm?: LlmProbeOptions;
  /** Redis probe connect timeout, ms (default 3000). */
  busTimeoutMs?: number;
}

const Probe = z.object({
  preset: z.string().optional(),
  baseUrl: z.string().optional(),
  model: z.string().optional(),
  apiKey: z.string().optional(),
});
const BusBody = z.object({ redisUrl: z.string() });
const RestartBody = z.object({ services: z.array(z.string()).min(1) });

function issues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
}

export function settingsPlugin(opts: SettingsRoutesOptions, token: string, services: ServicesSource) {
  const auth = requireToken(token);
  const { service } = opts;

  return async (app: FastifyInstance): Promise<void> => {
    app.get(SettingsPaths.settings, { preHandler: auth }, async () => service.view());

    app.put(SettingsPaths.settings, { preHandler: auth }, async (req, reply) => {
      try {
        return await service.save(req.body);
      } catch (err) {
        if (err instanceof SettingsRejected) return reply.code(400).send(err.body());
        // The file is in the way (a folder, no permission): what to do is in the message.
        if (err instanceof ConfigError) return reply.code(500).send({ error: err.message, issues: [] });
        throw err;
      }
    });

    app.post(SettingsPaths.llmModels, { preHandler: auth }, async (req, reply) => {
      const body = Probe.safeParse(req.body ?? {});
      if (!body.success) return reply.code(400).send({ error: `expected {preset?, baseUrl?, model?, apiKey?}: ${issues(body.error)}` });
      return listModels(llmTarget(body.data as LlmProbe, service.current().llm), opts.llm);
    });

    app.post(SettingsPaths.llmTest, { preHandler: auth }, async (req, reply) => {
      const body = Probe.safeParse(req.body ?? {});
      if (!body.success) return reply.code(400).send({ error: `expected {preset?, baseUrl?, model?, apiKey?}: ${issues(body.error)}` });
      return testLlm(llmTarget(body.data as LlmProbe, service.current().llm), opts.llm);
    });

    app.post(SettingsPaths.busTest, { preHandler: auth }, async (req, reply) => {
      const body = BusBody.safeParse(req.body);
      if (!body.success) return reply.code(400).send({ error: `expected {"redisUrl": "redis://host:port"}: ${issues(body.error)}` });
      return probeBus(body.data.redisUrl, opts.busTimeoutMs);
    });

    app.post(SettingsPaths.restart, { preHandler: auth }, async (req, reply) => {
      const body = RestartBody.safeParse(req.body);
      if (!body.success) return reply.code(400).send({ error: `expected {"services": ["chat-ai", ...]}: ${issues(body.error)}` });
      const known = new Set(services.status().map((s) => s.name));
      const unknown = body.data.services.filter((n) => !isServiceName(n) || !known.has(n));
      if (unknown.length > 0) return reply.code(404).send({ error: `no service named ${unknown.map((n) => `'${n}'`).join(', ')}` });
      const names = [...new Set(body.data.services)];
      await Promise.all(names.map((n) => services.restart(n)));
      return { ok: true, restarted: names };
    });
  };
}
