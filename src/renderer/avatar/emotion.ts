/**
 * Emotion tags to what the model does, without the DOM. Tags come from the pipeline (chat-ai's
 * `[joy]`-style tags); the map is the model's, proposed on import and edited by the streamer.
 */
import type { EmotionAction, EmotionMap, ModelInfo } from '../../shared/models.js';

/** `[Joy] ` -> `joy`: the map's keys are lower-case bare tags. */
export function normaliseTag(tag: string): string {
  return tag.trim().replace(/^\[(.*)\]$/, '$1').trim().toLowerCase();
}

/** The action mapped to `tag`, or undefined when the tag has none (or an empty one). */
export function lookupEmotion(map: EmotionMap, tag: string): EmotionAction | undefined {
  const key = normaliseTag(tag);
  if (!key || !Object.hasOwn(map, key)) return undefined;
  const action = map[key];
  return action && (action.expression || action.motion) ? action : undefined;
}

/**
 * Whether the model can do `action`: its expression exists, its motion group exists and the
 * index is in range. A map edited by hand or kept across a model update may name what is gone.
 */
export function actionProblem(model: Pick<ModelInfo, 'expressions' | 'motions'>, action: EmotionAction): string | undefined {
  if (action.expression && !model.expressions.includes(action.expression)) return `the model has no expression "${action.expression}"`;
  if (action.motion) {
    const count = model.motions[action.motion.group];
    if (count === undefined) return `the model has no motion group "${action.motion.group}"`;
    if (action.motion.index !== undefined && action.motion.index >= count) {
      return `motion group "${action.motion.group}" has ${count} motions, no index ${action.motion.index}`;
    }
  }
  return undefined;
}
