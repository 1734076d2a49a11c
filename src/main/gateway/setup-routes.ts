/**
 * GET /api/setup (token): SetupState for the studio's first-run page: whether settings exist yet
 * and the local LLM servers that answer, with their models. `?detect=0` answers firstRun alone
 * without probing (the studio asks that at every start to decide whether to open the setup page).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SettingsPaths, type SetupState } from '../../shared/settings-api.js';
import { setupState, type ProbeTarget } from '../setup/index.js';
import { requireToken } from './auth.js';

export interface SetupRoutesOptions {
  /** Where settings.json is (or will be) kept. */
  dataDir: string;
  /** The servers to probe; default: Ollama, LM Studio and llama.cpp at their presets' URLs. */
  probeTargets?: readonly ProbeTarget[];
  probeTimeoutMs?: number;
}

const SetupQuery = z.object({ detect: z.enum(['0', '1', 'false', 'true']).default('1') });

/**
 * Without options (a gateway that keeps no settings, as in tests of other parts) the route still
 * answers, with no first run: the studio page asks at every start and must not get a 404.
 */
export function setupPlugin(opts: SetupRoutesOptions | undefined, token: string) {
  const auth = requireToken(token);
  return async (app: FastifyInstance): Promise<void> => {
    app.get(SettingsPaths.setup, { preHandler: auth }, async (req, reply): Promise<SetupState> => {
      const q = SetupQuery.safeParse(req.query ?? {});
      if (!q.success) return reply.code(400).send({ error: 'detect must be 0 or 1 (e.g. /api/setup?detect=0)' });
      if (!opts) return { firstRun: false, detected: [] };
      const detect = q.data.detect === '1' || q.data.detect === 'true';
      return setupState(opts.dataDir, detect ? { targets: opts.probeTargets, timeoutMs: opts.probeTimeoutMs } : false);
    });
  };
}
