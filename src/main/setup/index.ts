/**
 * The first run: whether settings exist yet, and which local LLM servers answer. What the studio's
 * setup page asks for (GET /api/setup).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { SetupState } from '../../shared/settings-api.js';
import { SETTINGS_FILE } from '../config/load-config.js';
import { detectLocalLlms, type ProbeOptions, type ProbeTarget } from './detect-llm.js';

export { defaultProbeTargets, detectLocalLlms, probeLlm, DEFAULT_PROBE_TIMEOUT_MS, type ProbeOutcome, type ProbeTarget } from './detect-llm.js';

/** True until settings.json exists in the data dir (the settings API writes it on the first save). */
export function isFirstRun(dataDir: string): boolean {
  return !existsSync(path.join(dataDir, SETTINGS_FILE));
}

export async function setupState(dataDir: string, detect: false | { targets?: readonly ProbeTarget[] } & ProbeOptions): Promise<SetupState> {
  const firstRun = isFirstRun(dataDir);
  if (detect === false) return { firstRun, detected: [] };
  const { detected, notFound } = await detectLocalLlms(detect.targets, detect);
  return { firstRun, detected, notFound: notFound.map(({ preset, baseUrl, code, reason }) => ({ preset, baseUrl, code, reason })) };
}
