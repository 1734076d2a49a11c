import { describe, expect, it } from 'vitest';
import { Channels, Queues, SERVICE_NAMES, SERVICE_SCALE, Streams } from '../../shared/bus.js';
import { ChatChannels } from '../../shared/live-chat.js';
import { backoffDelay, defaultManifest, DEFAULT_RESTART, validateManifest } from './manifest.js';

describe('manifest', () => {
  it('lists every service in order with their inputs and defaults', () => {
    const m = defaultManifest();
    expect(m.map((s) => s.name)).toEqual([...SERVICE_NAMES]);
    const by = Object.fromEntries(m.map((s) => [s.name, s]));
    expect(by.asr!.inputs).toContainEqual({ kind: 'queue', name: Queues.asrTasks });
    expect(by.memory!.inputs).toContainEqual({ kind: 'queue', name: Queues.userInput });
    expect(by.tts!.inputs).toContainEqual({ kind: 'queue', name: Queues.ttsRequests });
    expect(by['long-term-memory']!.inputs).toContainEqual({ kind: 'stream', name: Streams.longTermWrites });
    expect(by['input-handler']!.inputs).toContainEqual({ kind: 'queue', name: Queues.input });
    expect(by['dialog-engine']!.inputs).toContainEqual({ kind: 'queue', name: Queues.dialogInputs });
    expect(by['live-chat']!.inputs).toEqual([
      { kind: 'channel', name: Channels.aiResponses },
      { kind: 'channel', name: Channels.events },
      { kind: 'channel', name: ChatChannels.command },
    ]);
    expect(SERVICE_SCALE['live-chat']).toBe('singleton');
    expect(m.every((s) => s.instances === 1 && s.restart.crashLoopMax === 5)).toBe(true);
  });

  it('applies overrides (all, then per service) and filters with only', () => {
    const m = defaultManifest({
      only: ['tts', 'asr'],
      all: { heartbeatMs: 100, restart: { backoffBaseMs: 10 } },
      services: { asr: { instances: 3, env: { A: '1' } } },
    });
    expect(m.map((s) => s.name)).toEqual(['asr', 'tts']);
    expect(m[0]).toMatchObject({ instances: 3, heartbeatMs: 100, env: { A: '1' } });
    expect(m[0]!.restart).toEqual({ ...DEFAULT_RESTART, backoffBaseMs: 10 });
    expect(m[1]!.instances).toBe(1);
  });

  it('rejects unknown names and bad numbers with a clear message', () => {
    expect(() => defaultManifest({ only: ['nope' as never] })).toThrow(/unknown service "nope"/);
    expect(() => defaultManifest({ services: { asr: { instances: 0 } } })).toThrow(/"asr": instances must be a positive number/);
    const m = defaultManifest({ only: ['asr'] });
    expect(() => validateManifest([...m, ...m])).toThrow(/listed twice/);
  });

  it('refuses a second instance of a singleton, naming the service, the reason and the fix', () => {
    for (const name of SERVICE_NAMES.filter((n) => SERVICE_SCALE[n] === 'singleton')) {
      expect(() => defaultManifest({ services: { [name]: { instances: 2 } } })).toThrow(
        new RegExp(`"${name}": instances is 2, but ${name} is a singleton .*set instances to 1`),
      );
    }
    // A manifest built by hand (the supervisor validates whatever it is given) is held to the same rule.
    const [memory] = defaultManifest({ only: ['memory'] });
    expect(() => validateManifest([{ ...memory!, instances: 3 }])).toThrow(/"memory": instances is 3, but memory is a singleton/);
    const shared = SERVICE_NAMES.filter((n) => SERVICE_SCALE[n] === 'shared');
    expect(shared).toEqual(expect.arrayContaining(['asr', 'tts']));
    const m = defaultManifest({ services: Object.fromEntries(shared.map((n) => [n, { instances: 2 }])) });
    expect(m.filter((s) => s.instances === 2).map((s) => s.name)).toEqual(shared);
  });

  it('doubles the backoff per crash up to the cap', () => {
    const p = { ...DEFAULT_RESTART, backoffBaseMs: 100, backoffMaxMs: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(p, n))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});
