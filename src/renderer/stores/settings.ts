/**
 * The studio's settings as a store, shared by the settings page, its speech section and the
 * first-run wizard. One instance per page (`useSettings()`).
 *
 *   const s = useSettings();
 *   await s.load();                       // GET /api/settings -> s.view, and a fresh s.draft
 *   s.draft.value.persona.name = 'Mio';   // edit the draft (a deep copy of the resolved settings)
 *   s.setSecret('llm.apiKey', 'sk-...');  // secrets are never in the draft: '' clears, unset keeps
 *   s.issues.value['llm.temperature'];    // the schema's message for a field, in the page's language
 *   s.dirty.value; s.patch.value;         // what a save would send (only what differs)
 *   const r = await s.save();             // PUT the patch (or s.save(patch) to send a patch of your own)
 *   s.restart.value;                      // services / app paths that need a restart since the last save
 *   await s.restartServices();            // POST /api/settings/restart with those services
 *   s.lockedBy('port');                   // 'env' | 'cli' | undefined: fixed by FAV_* or a flag
 *
 * `save()` throws SettingsSaveError (with the server's issues by path) when the gateway refuses; the
 * draft is kept so the page can show the messages next to the fields.
 */
import { computed, ref, shallowRef, watch } from 'vue';
import { z } from 'zod';
import { en as zodEn, zhCN as zodZhCN } from 'zod/v4/locales';
import { ConfigSchema, SECRET_PATHS } from '../../shared/config.js';
import type { ProbeResult, RestartNeeds, SaveResult, SettingsPatch, SettingsRejection, SettingsTree, SettingsView } from '../../shared/settings-api.js';
import { SettingsPaths } from '../../shared/settings-api.js';
import { getToken } from '../voice/token.js';

export class SettingsSaveError extends Error {
  constructor(
    message: string,
    readonly issues: SettingsRejection['issues'] = [],
  ) {
    super(message);
  }
}

type Tree = Record<string, unknown>;

const isObject = (v: unknown): v is Tree => v !== null && typeof v === 'object' && !Array.isArray(v);

/** POST/PUT/GET with the studio token; JSON both ways. Throws SettingsSaveError with the gateway's words. */
export async function settingsCall<T>(path: string, method = 'GET', body?: unknown): Promise<T> {
  const token = await getToken();
  if (!token) throw new SettingsSaveError('this page has no studio token: open the studio from the app or from the link `fav serve` prints');
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      cache: 'no-store',
      headers: { accept: 'application/json', authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new SettingsSaveError('the core is not reachable');
  }
  const answer: unknown = await res.json().catch(() => undefined);
  if (res.ok) return answer as T;
  const a = answer as Partial<SettingsRejection> | undefined;
  throw new SettingsSaveError(typeof a?.error === 'string' ? a.error : `${path} answered HTTP ${res.status}`, Array.isArray(a?.issues) ? a.issues : []);
}

/** Leaf paths whose values differ; a leaf removed or emptied to null/undefined in `after` is sent as null. */
function diff(before: Tree, after: Tree, prefix = '', out: Tree = {}): Tree {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const k of keys) {
    const p = prefix ? `${prefix}.${k}` : k;
    if ((SECRET_PATHS as readonly string[]).includes(p)) continue;
    const a = before[k];
    const b = after[k];
    if (isObject(a) && isObject(b)) {
      const sub = diff(a, b, p, {});
      if (Object.keys(sub).length > 0) out[k] = sub;
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      out[k] = b === undefined ? null : b;
    }
  }
  return out;
}

function setIn(tree: Tree, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = tree;
  for (const k of parts.slice(0, -1)) {
    if (!isObject(node[k])) node[k] = {};
    node = node[k] as Tree;
  }
  node[parts[parts.length - 1]!] = value;
}

function deleteIn(tree: Tree, path: string): void {
  const parts = path.split('.');
  let node: unknown = tree;
  for (const k of parts.slice(0, -1)) node = isObject(node) ? node[k] : undefined;
  if (isObject(node)) delete node[parts[parts.length - 1]!];
}

/** The schema's messages in the page's language (zod's own locales). */
export function useSchemaLocale(locale: string): void {
  z.config(locale === 'zh-CN' ? zodZhCN() : zodEn());
}

function createSettingsStore() {
  const view = shallowRef<SettingsView>();
  const draft = ref<SettingsTree>({} as SettingsTree);
  /** New secret values typed in this page: path -> value ('' clears). */
  const secrets = ref<Record<string, string>>({});
  const loading = ref(false);
  const saving = ref(false);
  const error = ref<string>();
  /** The gateway's messages of the last refused save, by path. */
  const serverIssues = ref<Record<string, string>>({});
  const restart = ref<RestartNeeds>({ services: [], app: [] });
  /** Bumped by `validate()` callers when the locale changes, so issues are recomputed in it. */
  const localeTick = ref(0);

  const patch = computed<SettingsPatch>(() => {
    if (!view.value) return {};
    const out = diff(view.value.settings as Tree, draft.value as Tree);
    for (const [p, v] of Object.entries(secrets.value)) setIn(out, p, v);
    return out;
  });
  const dirty = computed(() => Object.keys(patch.value).length > 0);

  /** The schema's message for each field of the draft (and the typed secrets), by dotted path. */
  const issues = computed<Record<string, string>>(() => {
    void localeTick.value;
    // A JSON copy: structuredClone refuses the reactive proxy.
    const candidate = JSON.parse(JSON.stringify(draft.value)) as Tree;
    // Secrets are blank in the view: check the typed ones, leave the rest out.
    for (const p of SECRET_PATHS) deleteIn(candidate, p);
    for (const [p, v] of Object.entries(secrets.value)) if (v) setIn(candidate, p, v);
    const r = ConfigSchema.safeParse({ ...candidate, dataDir: view.value?.dataDir ?? '/' });
    const out: Record<string, string> = {};
    if (!r.success) for (const i of r.error.issues) out[i.path.map(String).join('.')] ??= i.message;
    for (const [p, m] of Object.entries(serverIssues.value)) out[p] ??= m;
    return out;
  });
  const valid = computed(() => Object.keys(issues.value).length === 0);
  // A refusal's messages stand until the user changes something.
  watch([draft, secrets], () => (serverIssues.value = {}), { deep: true });

  function reset(v: SettingsView): void {
    view.value = v;
    draft.value = structuredClone(v.settings);
    secrets.value = {};
    serverIssues.value = {};
  }

  async function load(): Promise<void> {
    loading.value = true;
    try {
      reset(await settingsCall<SettingsView>(SettingsPaths.settings));
      error.value = undefined;
    } catch (err) {
      error.value = (err as Error).message;
    } finally {
      loading.value = false;
    }
  }

  /** Saves `explicit` as it is, or else the draft's changes. Restart needs add up until restarted. */
  async function save(explicit?: SettingsPatch): Promise<SaveResult> {
    saving.value = true;
    try {
      const result = await settingsCall<SaveResult>(SettingsPaths.settings, 'PUT', explicit ?? patch.value);
      reset(result.view);
      restart.value = {
        services: [...new Set([...restart.value.services, ...result.restart.services])].sort(),
        app: [...new Set([...restart.value.app, ...result.restart.app])].sort(),
      };
      error.value = result.warning;
      return result;
    } catch (err) {
      const e = err as SettingsSaveError;
      serverIssues.value = Object.fromEntries((e.issues ?? []).map((i) => [i.path, i.message]));
      error.value = e.message;
      throw err;
    } finally {
      saving.value = false;
    }
  }

  async function restartServices(): Promise<void> {
    const services = restart.value.services;
    if (services.length === 0) return;
    await settingsCall(SettingsPaths.restart, 'POST', { services });
    restart.value = { ...restart.value, services: [] };
  }

  function discard(): void {
    if (view.value) reset(view.value);
  }

  function setSecret(path: (typeof SECRET_PATHS)[number], value: string | undefined): void {
    const next = { ...secrets.value };
    if (value === undefined) delete next[path];
    else next[path] = value;
    secrets.value = next;
  }

  function lockedBy(path: string): 'env' | 'cli' | undefined {
    const locked = view.value?.locked ?? {};
    for (const [p, by] of Object.entries(locked)) if (path === p || path.startsWith(`${p}.`) || p.startsWith(`${path}.`)) return by;
    return undefined;
  }

  const secretSet = (path: string) => view.value?.secretsSet.includes(path) ?? false;

  /** POST a probe (llm models / llm test / bus test) with the form's values. */
  function probe<T extends ProbeResult | object>(path: string, body: unknown): Promise<T> {
    return settingsCall<T>(path, 'POST', body);
  }

  return {
    view,
    draft,
    secrets,
    loading,
    saving,
    error,
    restart,
    patch,
    dirty,
    issues,
    valid,
    localeTick,
    load,
    save,
    discard,
    restartServices,
    setSecret,
    secretSet,
    lockedBy,
    probe,
  };
}

export type SettingsStore = ReturnType<typeof createSettingsStore>;

let store: SettingsStore | undefined;

export function useSettings(): SettingsStore {
  return (store ??= createSettingsStore());
}
