/**
 * Resolves the app's configuration from its four layers. Highest wins:
 *   CLI flags > FAV_* environment variables > <dataDir>/settings.json > schema defaults.
 * The settings file is repaired rather than fatal: unreadable JSON or invalid fields are dropped,
 * the original is kept (settings.json.bak, or settings.json.bak-<time> when an earlier copy is
 * there), and a warning says what was ignored. A settings path that cannot be read at all (a
 * folder, no permission) is left alone: defaults and a warning that names the fix.
 */
import { constants as fsConstants, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { z } from 'zod';
import { ConfigSchema, ENV_KEYS, SECRET_PATHS, type Config, type ConfigInput } from '../../shared/config.js';

export const SETTINGS_FILE = 'settings.json';

type Layer = Record<string, unknown>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The per-user data directory of the platform (XDG on Linux). */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  const home = os.homedir();
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'free-agent-vtuber');
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'free-agent-vtuber');
  return path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'free-agent-vtuber');
}

function setPath(target: Layer, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Layer;
  node[parts[parts.length - 1]] = value;
}

function deletePath(target: Layer, keys: PropertyKey[]): void {
  let node: unknown = target;
  for (const k of keys.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return;
    node = (node as Layer)[k as string];
  }
  if (node !== null && typeof node === 'object') delete (node as Layer)[keys[keys.length - 1] as string];
}

function isPlainObject(v: unknown): v is Layer {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Deep merge; later layers win; `undefined` never overrides. */
export function mergeLayers(...layers: Layer[]): Layer {
  const out: Layer = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      out[k] = isPlainObject(v) && isPlainObject(out[k]) ? mergeLayers(out[k] as Layer, v) : isPlainObject(v) ? mergeLayers(v) : v;
    }
  }
  return out;
}

const NUMERIC_PATHS = new Set(['port', 'bus.port']);

/** The FAV_* variables as a config layer. Numbers are parsed; bad ones are a ConfigError. */
export function envLayer(env: NodeJS.ProcessEnv): Layer {
  const layer: Layer = {};
  for (const [name, dotted] of Object.entries(ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (NUMERIC_PATHS.has(dotted)) {
      const n = Number(raw);
      if (!Number.isInteger(n)) throw new ConfigError(`${name}=${raw} is not an integer`);
      setPath(layer, dotted, n);
    } else {
      setPath(layer, dotted, raw);
    }
  }
  return layer;
}

export interface SettingsRead {
  layer: Layer;
  warnings: string[];
}

/** A time stamp that is safe in a file name on every platform. */
export function fileStamp(date = new Date()): string {
  return date.toISOString().replace(/[:.]/g, '-');
}

/**
 * Copies the settings file aside before a repair rewrites it, never over an earlier copy: the first
 * repair keeps `settings.json.bak` (the user's original), later ones `settings.json.bak-<time>`.
 * Returns the copy's name.
 */
function keepCopy(file: string): string {
  const candidates = [`${file}.bak`, `${file}.bak-${fileStamp()}`];
  for (let n = 2; ; n++) {
    const target = candidates.shift() ?? `${file}.bak-${fileStamp()}-${n}`;
    try {
      copyFileSync(file, target, fsConstants.COPYFILE_EXCL);
      return path.basename(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** The file's text, or why it could not be read (undefined text and no reason: there is none). */
function readText(file: string): { text?: string; problem?: string } {
  try {
    const st = statSync(file);
    if (!st.isFile()) {
      const what = st.isDirectory() ? 'a folder' : 'not a regular file';
      return { problem: `${file} is ${what}, not a settings file: rename or remove it so the app can keep its settings there` };
    }
    // A UTF-8 byte order mark (Notepad and PowerShell write one) is not part of the JSON.
    return { text: readFileSync(file, 'utf8').replace(/^\uFEFF/, '') };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return {};
    return { problem: `${file} could not be read (${e.code ?? e.message}): fix its permissions or remove it` };
  }
}

/** Reads and, where needed, repairs the settings file. Never throws for a bad file. */
export function readSettingsFile(dataDir: string): SettingsRead {
  const file = path.join(dataDir, SETTINGS_FILE);
  const { text, problem } = readText(file);
  // Unreadable: nothing is written over it (there may be nothing we could write, and it is the user's).
  if (problem) return { layer: {}, warnings: [`${problem}; started from defaults and changed nothing`] };
  if (text === undefined) return { layer: {}, warnings: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const copy = keepCopy(file);
    writeSettingsFile(dataDir, {});
    return { layer: {}, warnings: [`${file} is not valid JSON (${(err as Error).message}); kept it as ${copy} and started from defaults`] };
  }
  if (!isPlainObject(parsed)) {
    const copy = keepCopy(file);
    writeSettingsFile(dataDir, {});
    return { layer: {}, warnings: [`${file} does not hold a JSON object; kept it as ${copy} and started from defaults`] };
  }
  // Validate with a placeholder dataDir (the file does not choose its own location).
  const layer: Layer = structuredClone(parsed);
  delete layer.dataDir;
  const check = ConfigSchema.safeParse(mergeLayers(layer, { dataDir: dataDir }));
  if (check.success) return { layer, warnings: [] };
  const warnings: string[] = [];
  for (const issue of check.error.issues) {
    warnings.push(`${file}: ignored ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    deletePath(layer, issue.path);
  }
  const copy = keepCopy(file);
  warnings.push(`${file}: the original is kept as ${copy}`);
  writeSettingsFile(dataDir, layer);
  return { layer, warnings };
}

/** Atomic write: temp file in the same folder, then rename. */
export function writeSettingsFile(dataDir: string, settings: ConfigInput | Layer): void {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, SETTINGS_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(settings, null, 2) + '\n', { mode: 0o600 });
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EPERM') {
      throw new ConfigError(`cannot save settings: ${file} is in the way (${code}); rename or remove it`);
    }
    throw err;
  }
}

/** The layers above the settings file: what a save of settings.json cannot change for this run. */
export interface ConfigOverrides {
  env: Layer;
  cli: Layer;
}

export interface LoadedConfig {
  config: Config;
  warnings: string[];
  /** The FAV_* and CLI layers this config was resolved with (dataDir excluded). */
  overrides: ConfigOverrides;
}

/** Dotted leaf paths of a layer (arrays are leaves). */
export function leafPaths(layer: Layer, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(layer)) {
    if (v === undefined) continue;
    const p = prefix ? `${prefix}.${k}` : k;
    if (isPlainObject(v)) out.push(...leafPaths(v, p));
    else out.push(p);
  }
  return out;
}

/** Paths fixed by an override layer, and by which (a CLI flag wins over a variable). dataDir is never listed. */
export function lockedPaths(o: ConfigOverrides): Record<string, 'env' | 'cli'> {
  const locked: Record<string, 'env' | 'cli'> = {};
  for (const p of leafPaths(o.env)) locked[p] = 'env';
  for (const p of leafPaths(o.cli)) locked[p] = 'cli';
  delete locked.dataDir;
  return locked;
}

/** Resolves a settings-file layer under the overrides (what loadConfig does once the file is read). */
export function resolveConfig(fileLayer: Layer, o: ConfigOverrides, dataDir: string): z.ZodSafeParseResult<Config> {
  return ConfigSchema.safeParse(mergeLayers(fileLayer, o.env, o.cli, { dataDir: path.resolve(dataDir) }));
}

/**
 * Resolves the configuration. `cli` holds only the flags the user gave (undefined for the rest).
 * Throws ConfigError with every problem listed when the CLI or the environment give invalid values.
 */
export function loadConfig(cli: Layer = {}, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const fromEnv = envLayer(env);
  const dataDir = (cli.dataDir as string | undefined) ?? (fromEnv.dataDir as string | undefined) ?? defaultDataDir(env);
  const settings = readSettingsFile(dataDir);
  const overrides: ConfigOverrides = { env: withoutDataDir(fromEnv), cli: withoutDataDir(cli) };
  const result = resolveConfig(settings.layer, overrides, dataDir);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return { config: result.data, warnings: settings.warnings, overrides };
}

function withoutDataDir(layer: Layer): Layer {
  const { dataDir: _dataDir, ...rest } = layer;
  return rest;
}

/** A copy safe to log or show: secrets masked, credentials stripped from URLs. */
export function redactConfig(config: Config): Config {
  const copy = structuredClone(config);
  for (const dotted of SECRET_PATHS) {
    const parts = dotted.split('.');
    const parent = parts.slice(0, -1).reduce<Layer | undefined>((node, k) => (isPlainObject(node?.[k]) ? (node[k] as Layer) : undefined), copy as unknown as Layer);
    const key = parts[parts.length - 1]!;
    if (parent?.[key]) parent[key] = '***';
  }
  for (const c of copy.liveChat?.connections ?? []) if (c.token) c.token = '***';
  if (copy.redisUrl) copy.redisUrl = redactUrl(copy.redisUrl);
  return copy;
}

export function redactUrl(url: string): string {
  return url.replace(/^(\w+:\/\/)([^@/]*)@/, (_m, scheme: string, cred: string) => (cred ? `${scheme}***@` : `${scheme}@`));
}
