import { describe, expect, it } from 'vitest';
import { ConfigError, maskUrl, parseWorkerArgs } from './config.js';

describe('parseWorkerArgs', () => {
  it('takes argv over env and fills defaults', () => {
    const c = parseWorkerArgs(['asr', '--redis', 'redis://:pw@h:1', '--instance=asr-9'], { FAV_REDIS_URL: 'redis://other:2', FAV_HEARTBEAT_MS: '250' });
    expect(c).toMatchObject({ service: 'asr', redisUrl: 'redis://:pw@h:1', instanceId: 'asr-9', heartbeatMs: 250, heartbeatTtlMs: 750 });
    expect(c.test).toEqual({ taskDelayMs: 0, crashAtStart: false, ignoreStop: false });
    const d = parseWorkerArgs(['tts'], { FAV_REDIS_URL: 'redis://x:3', FAV_TEST_TASK_DELAY_MS: '40', FAV_TEST_IGNORE_STOP: '1' });
    expect(d.redisUrl).toBe('redis://x:3');
    expect(d.instanceId).toMatch(/^tts@.+#\d+$/);
    expect(d.test).toEqual({ taskDelayMs: 40, crashAtStart: false, ignoreStop: true });
  });

  it('refuses bad input with clear errors', () => {
    expect(() => parseWorkerArgs([], {})).toThrow(ConfigError);
    expect(() => parseWorkerArgs(['asr', '--redis'], {})).toThrow(/--redis needs a value/);
    expect(() => parseWorkerArgs(['asr', '--bogus'], {})).toThrow(/unknown option --bogus/);
    expect(() => parseWorkerArgs(['asr', 'tts'], {})).toThrow(/unexpected argument tts/);
    expect(() => parseWorkerArgs(['asr'], { FAV_HEARTBEAT_MS: 'soon' })).toThrow(/FAV_HEARTBEAT_MS must be a number/);
    expect(() => parseWorkerArgs(['asr', '--redis', 'http://:pw@h'], {})).toThrow(/redis:\/\/.*http:\/\/:\*\*\*@h/);
  });

  it('masks URL passwords', () => {
    expect(maskUrl('redis://user:pw@h:1/0')).toBe('redis://user:***@h:1/0');
    expect(maskUrl('redis://h:1')).toBe('redis://h:1');
  });
});
