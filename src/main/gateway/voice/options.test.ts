import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../../shared/config.js';
import { resolveVoiceOptions } from './options.js';

describe('the bound on unfinished /ws/input uploads', () => {
  const resolve = (input: Record<string, unknown>, extra: { maxPendingUploadBytes?: number } = {}) =>
    resolveVoiceOptions({ busUrl: 'redis://x', input: ConfigSchema.shape.input.parse(input), ...extra }).maxPendingUploadBytes;

  it('is 4 x input.maxBytes unless settings name it', () => {
    expect(resolve({})).toBe(4 * 25 * 1024 * 1024);
    expect(resolve({ maxBytes: 1000 })).toBe(4000);
    expect(resolve({ maxBytes: 1000, maxPendingUploadBytes: 2500 })).toBe(2500);
  });

  it('an explicit gateway option wins over settings', () => {
    expect(resolve({ maxPendingUploadBytes: 2500 }, { maxPendingUploadBytes: 7 })).toBe(7);
  });

  it('settings refuse a bound that is not a positive integer', () => {
    expect(() => ConfigSchema.shape.input.parse({ maxPendingUploadBytes: 0 })).toThrow();
    expect(() => ConfigSchema.shape.input.parse({ maxPendingUploadBytes: 1.5 })).toThrow();
  });
});
