/**
 * Singletons under the supervisor: the respawn of a crashed singleton carries the same instance id
 * and takes the claim its predecessor left behind at once (no waiting for it to lapse, no refusal).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { singletonKey } from '../../../src/shared/bus.js';
import { NodeProcessHost, Supervisor, defaultManifest } from '../../../src/main/supervisor/index.js';
import { BACKENDS, client, isAlive, startBackend, tempDataDir, waitFor, type Backend } from './helpers.js';

describe.each(BACKENDS)('singleton services under the supervisor (%s)', (kind) => {
  let bus: Backend;
  beforeAll(async () => {
    bus = await startBackend(kind);
  });
  afterAll(async () => {
    await bus?.stop();
  });

  it('a singleton killed -9 is respawned under the same id, which takes its claim over at once', async () => {
    const sup = new Supervisor({
      host: new NodeProcessHost(),
      redisUrl: bus.url,
      dataDir: tempDataDir(),
      handleSignals: false,
      manifest: defaultManifest({
        only: ['output-handler'],
        // The claim outlives the crash by seconds (4 heartbeats of 2 s); one refused start would be
        // the second crash and mark the service failed.
        services: { 'output-handler': { heartbeatMs: 2000, readyTimeoutMs: 60_000, restart: { backoffBaseMs: 20, crashLoopMax: 2 } } },
      }),
    });
    const redis = await client(bus.url);
    try {
      await sup.start();
      const first = sup.status()[0]!.instances[0]!;
      expect(await redis.get(singletonKey('output-handler'))).toBe(first.instanceId);
      process.kill(first.pid!, 'SIGKILL');
      await waitFor(() => !isAlive(first.pid!), 'the killed worker gone');
      const again = await waitFor(() => {
        const i = sup.status()[0]!.instances[0]!;
        return (i.state === 'ready' || i.state === 'failed') && i.pid !== first.pid ? i : undefined;
      }, 'the slot ready again (or failed)');
      expect(again.state, again.lastError).toBe('ready');
      expect(again.restarts).toBe(1);
      expect(await redis.get(singletonKey('output-handler'))).toBe(first.instanceId);
      await sup.stop();
      // A graceful stop gives the claim up.
      expect(await redis.get(singletonKey('output-handler'))).toBeNull();
    } finally {
      await sup.stop();
      redis.disconnect();
    }
  }, 120_000);
});
