/**
 * The model library as the studio sees it, as a store: the list and the selection from the gateway
 * (GET /api/models needs no token), and the calls that change them with the studio token (import,
 * select, settings, delete). Answers are parsed at this edge with the shared schemas; a refused
 * import keeps its problems, file by file, for the panel to show, and changes nothing else.
 *
 * A model's object is replaced when its settings are saved (emotion map, transform): a page that
 * loads the avatar from `current` should watch the id (`selected`) and the url, not the object.
 */
import { computed, readonly, ref, shallowRef } from 'vue';
import { ModelImportError, ModelInfo, ModelListResponse, type ModelSettings, type ModelTransform } from '../../shared/models.js';
import { StudioPaths } from '../../shared/renderer-api.js';
import { translate } from '../i18n/core.js';
import { getToken } from '../voice/token.js';
import { uploadBody, type Upload } from './model-upload.js';

/** A failed call, said for the streamer: what the gateway answered, or why nothing answered. */
export class ModelsApiError extends Error {
  constructor(
    message: string,
    readonly problems: ModelImportError['problems'] = [],
  ) {
    super(message);
  }
}

async function call(path: string, init: RequestInit & { token?: boolean } = {}): Promise<unknown> {
  const headers = new Headers(init.headers);
  headers.set('accept', 'application/json');
  if (init.token) {
    const token = await getToken();
    if (!token) throw new ModelsApiError(translate('models.noToken'));
    headers.set('authorization', `Bearer ${token}`);
  }
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers, cache: 'no-store' });
  } catch {
    throw new ModelsApiError(translate('models.unreachable'));
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (res.ok) return body;
  const refused = ModelImportError.safeParse(body);
  if (refused.success) throw new ModelsApiError(refused.data.error, refused.data.problems);
  const error = (body as { error?: unknown } | undefined)?.error;
  throw new ModelsApiError(typeof error === 'string' ? error : `${path} answered HTTP ${res.status}`);
}

function parse<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }, v: unknown, what: string): T {
  const r = schema.safeParse(v);
  if (!r.success) throw new ModelsApiError(translate('models.unexpected', { what }));
  return r.data;
}

const idPath = (template: string, id: string) => template.replace(':id', encodeURIComponent(id));

/** A drag or a wheel turn moves the model many times a second: its position is saved once it rests. */
const TRANSFORM_SAVE_DELAY_MS = 400;

function createModelsStore() {
  const models = shallowRef<ModelInfo[]>([]);
  const selected = ref('');
  const loaded = ref(false);
  /** The last failure of a call other than an import (shown by the panel). */
  const error = ref<string>();
  /** The last refused import: its message and problems by file. */
  const importError = shallowRef<{ error: string; problems: ModelImportError['problems'] }>();
  const importing = ref(false);
  const current = computed(() => models.value.find((m) => m.id === selected.value));

  const transformTimers = new Map<string, ReturnType<typeof setTimeout>>();

  function apply(list: ModelListResponse): void {
    models.value = list.models;
    selected.value = list.selected;
    loaded.value = true;
  }

  async function guarded<T>(f: () => Promise<T>): Promise<T | undefined> {
    try {
      const out = await f();
      error.value = undefined;
      return out;
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err);
      return undefined;
    }
  }

  const saveSettings = (id: string, settings: ModelSettings) =>
    guarded(async () => {
      const body = await call(idPath(StudioPaths.modelSettings, id), { method: 'PUT', token: true, headers: { 'content-type': 'application/json' }, body: JSON.stringify(settings) });
      const info = parse(ModelInfo, body, 'model');
      models.value = models.value.map((m) => (m.id === info.id ? info : m));
      return info;
    });

  return {
    models: readonly(models),
    selected: readonly(selected),
    current,
    loaded: readonly(loaded),
    error: readonly(error),
    importError: readonly(importError),
    importing: readonly(importing),

    refresh: () => guarded(async () => apply(parse(ModelListResponse, await call(StudioPaths.models), 'model list'))),

    select: (id: string) =>
      guarded(async () => {
        const body = await call(StudioPaths.modelSelected, { method: 'PUT', token: true, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id }) });
        apply(parse(ModelListResponse, body, 'model list'));
      }),

    /** The avatar moved or scaled: kept here at once, saved when it has rested for a moment. */
    saveTransform(id: string, transform: ModelTransform): void {
      models.value = models.value.map((m) => (m.id === id ? { ...m, transform } : m));
      clearTimeout(transformTimers.get(id));
      transformTimers.set(
        id,
        setTimeout(() => {
          transformTimers.delete(id);
          void saveSettings(id, { transform });
        }, TRANSFORM_SAVE_DELAY_MS),
      );
    },

    saveSettings,

    remove: (id: string) =>
      guarded(async () => {
        apply(parse(ModelListResponse, await call(idPath(StudioPaths.model, id), { method: 'DELETE', token: true }), 'model list'));
      }),

    /** Imports a zip or a folder; the new model is listed (not selected). Undefined when refused. */
    async importModel(upload: Upload): Promise<ModelInfo | undefined> {
      importing.value = true;
      importError.value = undefined;
      try {
        const { name, body } = await uploadBody(upload);
        const answer = await call(`${StudioPaths.models}?name=${encodeURIComponent(name)}`, { method: 'POST', token: true, headers: { 'content-type': 'application/zip' }, body });
        const info = parse(ModelInfo, answer, 'model');
        models.value = [...models.value, info];
        return info;
      } catch (err) {
        const e = err instanceof ModelsApiError ? err : new ModelsApiError(err instanceof Error ? err.message : String(err));
        importError.value = { error: e.message, problems: e.problems };
        return undefined;
      } finally {
        importing.value = false;
      }
    },

    clearImportError(): void {
      importError.value = undefined;
    },
  };
}

export type ModelsStore = ReturnType<typeof createModelsStore>;

let store: ModelsStore | undefined;

/** The page's model store (created on first use; call refresh() to load the list). */
export function useModels(): ModelsStore {
  return (store ??= createModelsStore());
}
