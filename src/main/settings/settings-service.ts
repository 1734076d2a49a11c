/**
 * The live settings of a running app: what GET /api/settings shows and PUT /api/settings changes.
 * A save merges a partial patch into settings.json, validates the result with the one config schema
 * before anything is written (a refused save leaves the file as it was), writes it atomically with
 * 0600 permissions, resolves it again under the FAV_* and CLI overrides, republishes it for the
 * workers and says which services (or the whole app) must restart to apply it.
 *
 * Secrets (SECRET_PATHS, the live-chat connections' tokens, and the password in an external Redis URL) never leave in clear: the view
 * blanks them and lists which are set; logs name changed paths, never values.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../shared/config.js';
import { SECRET_PATHS } from '../../shared/config.js';
import type { ProbeResult, SaveResult, SettingsRejection, SettingsView } from '../../shared/settings-api.js';
import { lockedPaths, readSettingsFile, redactUrl, resolveConfig, SETTINGS_FILE, writeSettingsFile, type ConfigOverrides } from '../config/load-config.js';
import { keepConnectionTokens, maskConnectionTokens } from './connection-secrets.js';
import { applyPatch, changedPaths, checkPatchKeys, getPath, isPlainObject, setPath, type PatchIssue, type Tree } from './patch.js';
import { restartNeeds } from './restart-needs.js';

export interface SettingsServiceOptions {
  dataDir: string;
  /** The FAV_* and CLI layers the app was started with (loadConfig's `overrides`). Default: none. */
  overrides?: ConfigOverrides;
  /** The config the app runs with now. Default: resolved from the file and the overrides. */
  initial?: Config;
  /** Stores the resolved config where the workers read it at start (publishSettings). */
  publish?: (config: Config) => Promise<void>;
  /** Checks an external Redis URL before a save may point the app at it. */
  checkBus?: (url: string) => Promise<ProbeResult>;
  log?: (level: 'info' | 'warn', msg: string) => void;
}

/** A save refused before anything was written. */
export class SettingsRejected extends Error {
  constructor(readonly issues: PatchIssue[]) {
    super(`settings not saved: ${issues.map((i) => `${i.path || '(settings)'}: ${i.message}`).join('; ')}`);
    this.name = 'SettingsRejected';
  }

  body(): SettingsRejection {
    return { error: this.message, issues: this.issues };
  }
}

const NO_OVERRIDES: ConfigOverrides = { env: {}, cli: {} };

export class SettingsService {
  readonly dataDir: string;
  private readonly overrides: ConfigOverrides;
  private readonly locked: Record<string, 'env' | 'cli'>;
  private live: Config;
  /** Saves run one at a time: each reads the file the previous one wrote. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: SettingsServiceOptions) {
    this.dataDir = path.resolve(o.dataDir);
    this.overrides = o.overrides ?? NO_OVERRIDES;
    this.locked = lockedPaths(this.overrides);
    this.live = o.initial ?? this.resolve(readSettingsFile(this.dataDir).layer);
  }

  /** The resolved config the app runs with (secrets included: for the core only). */
  current(): Config {
    return this.live;
  }

  view(): SettingsView {
    const { dataDir: _dataDir, ...tree } = structuredClone(this.live) as Tree;
    const secretsSet: string[] = [];
    for (const p of SECRET_PATHS) {
      if (getPath(tree, p)) secretsSet.push(p);
      setPath(tree, p, '');
    }
    secretsSet.push(...maskConnectionTokens(tree));
    if (typeof tree.redisUrl === 'string') tree.redisUrl = redactUrl(tree.redisUrl);
    return {
      settings: tree as SettingsView['settings'],
      secretsSet,
      locked: { ...this.locked },
      firstRun: !existsSync(path.join(this.dataDir, SETTINGS_FILE)),
      dataDir: this.dataDir,
    };
  }

  /** Applies a patch (SettingsPatch). Throws SettingsRejected, with nothing written, when it is invalid. */
  save(patch: unknown): Promise<SaveResult> {
    const run = this.queue.then(() => this.saveNow(patch));
    this.queue = run.catch(() => {});
    return run;
  }

  private async saveNow(patchIn: unknown): Promise<SaveResult> {
    if (!isPlainObject(patchIn)) throw new SettingsRejected([{ path: '', message: 'expected a JSON object of settings to change' }]);
    const keyIssues = checkPatchKeys(patchIn);
    if (keyIssues.length > 0) throw new SettingsRejected(keyIssues);

    const file = readSettingsFile(this.dataDir).layer;
    const patch = structuredClone(patchIn);
    // The page shows the Redis URL with its password masked; sent back unchanged, it keeps the stored one.
    if (typeof patch.redisUrl === 'string' && typeof file.redisUrl === 'string' && patch.redisUrl === redactUrl(file.redisUrl)) delete patch.redisUrl;
    // The connections array replaces the stored one whole: tokens it leaves out are the stored ones.
    keepConnectionTokens(patch, file);
    const next = applyPatch(file, patch);

    const checked = resolveConfig(next, NO_OVERRIDES, this.dataDir);
    if (!checked.success) {
      throw new SettingsRejected(checked.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })));
    }
    const before = resolveConfig(file, NO_OVERRIDES, this.dataDir);
    const changed = changedPaths(before.success ? withoutDataDir(before.data) : {}, withoutDataDir(checked.data));

    const redisUrl = checked.data.redisUrl;
    if (redisUrl && changed.includes('redisUrl') && this.o.checkBus) {
      const probe = await this.o.checkBus(redisUrl);
      if (!probe.ok) throw new SettingsRejected([{ path: 'redisUrl', message: `${probe.error}: ${probe.fix}` }]);
    }
    const resolved = resolveConfig(next, this.overrides, this.dataDir);
    if (!resolved.success) {
      // Only when an override and the new file disagree in a way the schema refuses (none today).
      throw new SettingsRejected(resolved.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })));
    }

    writeSettingsFile(this.dataDir, next);
    this.live = resolved.data;
    if (changed.length > 0) this.o.log?.('info', `settings saved: ${changed.join(', ')}`);

    let warning: string | undefined;
    try {
      await this.o.publish?.(this.live);
    } catch (err) {
      warning = `saved, but the services could not be given the new settings (${(err as Error).message}): restart the app to apply them`;
      this.o.log?.('warn', warning);
    }
    return { view: this.view(), changed, restart: restartNeeds(changed, this.locked), ...(warning ? { warning } : {}) };
  }

  private resolve(file: Tree): Config {
    const r = resolveConfig(file, this.overrides, this.dataDir);
    if (r.success) return r.data;
    // The overrides were valid when the app started; a file loadConfig repaired is too.
    throw new Error(`settings cannot be resolved: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
}

function withoutDataDir(config: Config): Tree {
  const { dataDir: _dataDir, ...rest } = config;
  return rest;
}
