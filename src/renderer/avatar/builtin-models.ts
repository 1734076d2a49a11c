/**
 * The built-in model as the page knows it before (or without) the gateway's model list: shizuku,
 * the Cubism 2 sample copied at build time to /live2d/models/shizuku/. Its expressions: f01 plain,
 * f02 gloomy (sad), f03 frowning (angry), f04 sparkling and blushing (joy, surprise, shyness).
 * The gateway's list (GET /api/models) replaces this as soon as it answers.
 */
import type { ModelInfo } from '../../shared/models.js';

export const BUILTIN_SHIZUKU: ModelInfo = {
  id: 'shizuku',
  name: 'Shizuku',
  source: 'builtin',
  cubism: 2,
  url: '/live2d/models/shizuku/shizuku.model.json',
  expressions: ['f01', 'f02', 'f03', 'f04'],
  motions: { idle: 3, tap_body: 3, pinch_in: 3, pinch_out: 3, shake: 3, flick_head: 3 },
  parameters: ['PARAM_MOUTH_OPEN_Y', 'PARAM_MOUTH_FORM'],
  mouth: { open: 'PARAM_MOUTH_OPEN_Y', form: 'PARAM_MOUTH_FORM' },
  emotionMap: {
    neutral: { expression: 'f01' },
    joy: { expression: 'f04' },
    sad: { expression: 'f02' },
    angry: { expression: 'f03' },
    surprised: { expression: 'f04', motion: { group: 'flick_head', index: 0 } },
    shy: { expression: 'f04' },
  },
  transform: { x: 0, y: 0, scale: 1 },
};
