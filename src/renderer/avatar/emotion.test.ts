import { describe, expect, it } from 'vitest';
import type { EmotionMap } from '../../shared/models.js';
import { actionProblem, lookupEmotion, normaliseTag } from './emotion.js';

const map: EmotionMap = {
  joy: { expression: 'f04' },
  surprised: { expression: 'f04', motion: { group: 'flick_head', index: 0 } },
  angry: { motion: { group: 'shake' } },
  empty: {},
};
const model = { expressions: ['f01', 'f04'], motions: { idle: 3, flick_head: 3, shake: 1 } };

describe('lookupEmotion', () => {
  it('finds a tag by its bare lower-case name, whatever the pipeline wrapped it in', () => {
    expect(normaliseTag(' [Joy] ')).toBe('joy');
    expect(lookupEmotion(map, 'joy')).toEqual({ expression: 'f04' });
    expect(lookupEmotion(map, '[JOY]')).toEqual({ expression: 'f04' });
    expect(lookupEmotion(map, 'angry')).toEqual({ motion: { group: 'shake' } });
  });

  it('has nothing for an unmapped tag, an empty action, or a name from the prototype', () => {
    expect(lookupEmotion(map, 'thinking')).toBeUndefined();
    expect(lookupEmotion(map, 'empty')).toBeUndefined();
    expect(lookupEmotion(map, 'constructor')).toBeUndefined();
    expect(lookupEmotion(map, '')).toBeUndefined();
  });
});

describe('actionProblem', () => {
  it('accepts what the model has', () => {
    expect(actionProblem(model, map.surprised!)).toBeUndefined();
    expect(actionProblem(model, map.angry!)).toBeUndefined();
  });

  it('names a missing expression, a missing motion group and an index out of range', () => {
    expect(actionProblem(model, { expression: 'f09' })).toMatch(/no expression "f09"/);
    expect(actionProblem(model, { motion: { group: 'dance' } })).toMatch(/no motion group "dance"/);
    expect(actionProblem(model, { motion: { group: 'shake', index: 1 } })).toMatch(/has 1 motions, no index 1/);
  });
});
