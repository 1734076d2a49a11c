/**
 * `fav doctor`: checks what the app needs on this machine and prints, for anything missing, the fix.
 * Required checks failing => exit 1; optional ones are warnings (the app runs without them, with less).
 */
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { resolveLlm } from '../../shared/config.js';
import { loadConfig } from '../config/load-config.js';
import { portFree } from '../net-util.js';
import { electronBinary, RENDERER_DIR } from '../paths.js';

export type CheckLevel = 'ok' | 'warn' | 'fail';
export interface Check {
  name: string;
  level: CheckLevel;
  detail: string;
  fix?: string;
}

export function which(bin: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, bin);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function llmReachable(baseUrl: string, apiKey?: string): Promise<{ ok: boolean; detail: string }> {
  const url = `${baseUrl.replace(/\/+$/, '')}/models`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2500), headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} });
    if (res.status === 401 || res.status === 403) return { ok: false, detail: `${url} answered ${res.status}: the API key is missing or wrong` };
    if (!res.ok) return { ok: false, detail: `${url} answered HTTP ${res.status}` };
    const body = (await res.json().catch(() => null)) as { data?: Array<{ id?: string }> } | null;
    const models = body?.data?.map((m) => m.id).filter(Boolean) ?? [];
    return { ok: true, detail: `${url} answers (${models.length} models${models.length ? `: ${models.slice(0, 5).join(', ')}` : ''})` };
  } catch (err) {
    return { ok: false, detail: `${url} unreachable (${(err as Error).message})` };
  }
}

export async function runChecks(opts: { port?: number } = {}): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);

  const [major, minor] = process.versions.node.split('.').map(Number);
  add(
    major > 20 || (major === 20 && minor >= 19)
      ? { name: 'Node.js', level: 'ok', detail: `v${process.versions.node}` }
      : { name: 'Node.js', level: 'fail', detail: `v${process.versions.node} is too old`, fix: 'install Node.js 20.19+ (22 LTS recommended)' },
  );

  const electron = electronBinary();
  add(
    existsSync(electron)
      ? { name: 'Electron binary', level: 'ok', detail: electron }
      : {
          name: 'Electron binary',
          level: 'warn',
          detail: 'not installed: `npm start` runs the headless studio in your browser instead',
          fix: 'npx install-electron   (needs Node >= 22.12)',
        },
  );

  add(
    existsSync(path.join(RENDERER_DIR, 'index.html'))
      ? { name: 'Studio page', level: 'ok', detail: RENDERER_DIR }
      : { name: 'Studio page', level: 'fail', detail: 'not built', fix: 'npm run build' },
  );

  let config;
  try {
    config = loadConfig(opts.port !== undefined ? { port: opts.port } : {}).config;
    mkdirSync(config.dataDir, { recursive: true });
    accessSync(config.dataDir, constants.W_OK);
    add({ name: 'Data directory', level: 'ok', detail: config.dataDir });
  } catch (err) {
    add({ name: 'Configuration', level: 'fail', detail: (err as Error).message, fix: 'fix the value named above (flag, FAV_* variable or settings.json)' });
  }

  const chromium = ['chromium', 'chromium-browser', 'google-chrome'].map((b) => which(b)).find(Boolean);
  add(
    chromium
      ? { name: 'Chromium', level: 'ok', detail: chromium }
      : { name: 'Chromium', level: 'warn', detail: 'not found (only the browser tests and headless checks use it)', fix: 'apt-get install -y chromium' },
  );

  const redis = which('redis-server');
  add(
    redis
      ? { name: 'redis-server', level: 'ok', detail: `${redis} (optional: the app embeds its own bus)` }
      : { name: 'redis-server', level: 'warn', detail: 'not found (optional: the app embeds its own bus; tests compare against it)', fix: 'apt-get install -y redis-server redis-tools' },
  );

  const sphinx = which('pocketsphinx_continuous');
  const sphinxModel = ['/usr/share/pocketsphinx/model/en-us/en-us', '/usr/share/pocketsphinx/model/en-us'].find((p) => existsSync(p));
  add(
    sphinx && sphinxModel
      ? { name: 'ASR: pocketsphinx', level: 'ok', detail: `${sphinx}, model ${sphinxModel}` }
      : { name: 'ASR: pocketsphinx', level: 'warn', detail: 'offline English ASR not installed', fix: 'apt-get install -y pocketsphinx pocketsphinx-en-us' },
  );

  for (const [bin, pkg] of [
    ['flite', 'flite'],
    ['espeak-ng', 'espeak-ng'],
  ] as const) {
    const found = which(bin);
    add(found ? { name: `TTS: ${bin}`, level: 'ok', detail: found } : { name: `TTS: ${bin}`, level: 'warn', detail: 'not installed', fix: `apt-get install -y ${pkg}` });
  }

  if (config) {
    const models = path.join(config.dataDir, 'models');
    add({
      name: 'Speech models',
      level: existsSync(models) ? 'ok' : 'warn',
      detail: existsSync(models) ? models : `none downloaded yet (${models}); sherpa-onnx models download on first use`,
    });

    const free = await portFree(config.port, config.host);
    add(
      free
        ? { name: 'Gateway port', level: 'ok', detail: `${config.host}:${config.port} is free` }
        : { name: 'Gateway port', level: 'warn', detail: `${config.host}:${config.port} is in use (a running studio, or another program)`, fix: 'fav serve --port <other>' },
    );

    const llmEp = resolveLlm(config.llm);
    const llm = await llmReachable(llmEp.baseUrl, llmEp.apiKey);
    add(
      llm.ok
        ? { name: 'LLM endpoint', level: 'ok', detail: llm.detail }
        : { name: 'LLM endpoint', level: 'warn', detail: llm.detail, fix: 'start Ollama / LM Studio, or set FAV_LLM_BASE_URL (and FAV_LLM_API_KEY) to an OpenAI-compatible endpoint' },
    );
  }
  return checks;
}

const MARK: Record<CheckLevel, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };

export async function runDoctor(opts: { json?: boolean; port?: number }): Promise<void> {
  const checks = await runChecks(opts);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ checks }, null, 2) + '\n');
  } else {
    const width = Math.max(...checks.map((c) => c.name.length));
    for (const c of checks) {
      process.stdout.write(`[${MARK[c.level]}] ${c.name.padEnd(width)}  ${c.detail}\n`);
      if (c.fix && c.level !== 'ok') process.stdout.write(`       ${' '.repeat(width)}  fix: ${c.fix}\n`);
    }
    const failed = checks.filter((c) => c.level === 'fail').length;
    const warned = checks.filter((c) => c.level === 'warn').length;
    process.stdout.write(`\n${failed === 0 ? 'ready' : 'not ready'}: ${failed} failed, ${warned} warnings\n`);
  }
  if (checks.some((c) => c.level === 'fail')) process.exitCode = 1;
}
