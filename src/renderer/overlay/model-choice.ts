/**
 * Which model the overlay shows: the one named by `?model=`, else the one selected in the studio,
 * from the gateway's model list (GET /api/models, no token on this machine). When the gateway has
 * no model list (an older core) the built-in shizuku model is used. The query's scale and position
 * override the model's saved transform for this overlay only.
 */
import { ModelListResponse, type ModelInfo } from '../../shared/models.js';
import { StudioPaths } from '../../shared/renderer-api.js';
import { BUILTIN_SHIZUKU } from '../avatar/builtin-models.js';
import type { OverlayOptions } from './options.js';

/** The built-in Cubism 2 sample (with its emotion map), for when the gateway names no model. */
export { BUILTIN_SHIZUKU };

export interface ModelChoice {
  model: ModelInfo;
  /** Why it is not the model asked for, if it is not. */
  problem?: string;
}

/** Picks from a model list; pure, so the rule is tested without a gateway. */
export function chooseModel(
  list: ModelListResponse | undefined,
  options: Pick<OverlayOptions, 'model' | 'scale' | 'x' | 'y'>,
  builtin: ModelInfo = BUILTIN_SHIZUKU,
): ModelChoice {
  let problem: string | undefined;
  let model: ModelInfo | undefined;
  if (list) {
    model = options.model === undefined ? undefined : list.models.find((m) => m.id === options.model);
    if (options.model !== undefined && !model) {
      problem = `model=${options.model} is not in the model list (${list.models.map((m) => m.id).join(', ')}): showing the selected model`;
    }
    model ??= list.models.find((m) => m.id === list.selected) ?? list.models[0];
  }
  model ??= builtin;
  const transform = {
    x: options.x ?? model.transform.x,
    y: options.y ?? model.transform.y,
    scale: options.scale ?? model.transform.scale,
  };
  return { model: { ...model, transform }, ...(problem ? { problem } : {}) };
}

/** The model list from the gateway, or undefined when it has none (404) or answers nonsense. */
export async function fetchModelList(fetchFn: typeof fetch = fetch, token?: string): Promise<ModelListResponse | undefined> {
  // The token, when the page has one (an overlay on another machine), since only loopback needs none.
  const headers: Record<string, string> = { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const res = await fetchFn(StudioPaths.models, { headers });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`GET ${StudioPaths.models} answered ${res.status}`);
  const parsed = ModelListResponse.safeParse(await res.json());
  if (!parsed.success) throw new Error(`GET ${StudioPaths.models} answered an unexpected shape: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data.models.length > 0 ? parsed.data : undefined;
}
