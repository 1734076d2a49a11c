/**
 * Failure handling of the supervisor and the worker entry: crash-loop cap (failed, with the last
 * stderr lines), stop timeout (SIGKILL for a worker that ignores SIGTERM), the unknown-service
 * usage error of main.ts, and a worker that cannot reach the bus.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channels, RUN_KEY, SERVICE_NAMES, StatusEvent, WorkerExitCode } from '../../../src/shared/bus.js';
import { NodeProcessHost, StartError, Supervisor, defaultManifest } from '../../../src/main/supervisor/index.js';
import { runWorkerMain } from '../../helpers/worker.js';
import { BACKENDS, Recorder, client, freePortUrl, isAlive, startBackend, tempDataDir, waitFor, type Backend } from './helpers.js';

describe.each(BACKENDS)('supervisor failure handling (%s)', (kind) => {
  let bus: Backend;
  beforeAll(async () => {
    bus = await startBackend(kind);
  });
  afterAll(async () => {
    await bus?.stop();
  });

  it('marks a service that keeps crashing at start failed, with its last stderr lines', async () => {
    const sup = new Supervisor({
      host: new NodeProcessHost(),
      redisUrl: bus.url,
      dataDir: tempDataDir(),
      handleSignals: false,
      manifest: defaultManifest({
        only: ['asr', 'tts'],
        services: {
          asr: { env: { FAV_TEST_CRASH_AT_START: '1' }, restart: { backoffBaseMs: 20, backoffMaxMs: 100, crashLoopMax: 3, crashLoopWindowMs: 60_000 } },
        },
      }),
    });
    const states: string[] = [];
    sup.on('status', (s) => s.name === 'asr' && states.push(s.state));
    try {
      const err = await sup.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StartError);
      expect((err as StartError).failed.map((s) => s.name)).toEqual(['asr']);
      expect((err as Error).message).toMatch(/asr .*crash loop: 3 crashes/);
      const [asr, tts] = sup.status();
      expect(asr!.state).toBe('failed');
      expect(asr!.restarts).toBe(2);
      expect(asr!.instances[0]!.pid).toBeUndefined();
      expect(asr!.lastStderr.filter((l) => l.includes('simulated crash at start'))).toHaveLength(3);
      expect(asr!.lastError).toMatch(/exited with code 3/);
      expect(states).toContain('restarting');
      // The healthy service is unaffected.
      expect(tts!.state).toBe('ready');
      // stderr lines are records of level error.
      expect(sup.logs.tail(100, 'asr').some((r) => r.level === 'error' && r.stream === 'stderr')).toBe(true);
    } finally {
      await sup.stop();
    }
  }, 120_000);

  it('kills a worker that ignores SIGTERM once the stop timeout passes', async () => {
    const sup = new Supervisor({
      host: new NodeProcessHost(),
      redisUrl: bus.url,
      dataDir: tempDataDir(),
      handleSignals: false,
      manifest: defaultManifest({ only: ['tts'], services: { tts: { stopTimeoutMs: 1500, env: { FAV_TEST_IGNORE_STOP: '1' } } } }),
    });
    await sup.start();
    const pid = sup.status()[0]!.instances[0]!.pid!;
    const t0 = Date.now();
    await sup.stop();
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(1400);
    expect(took).toBeLessThan(6000);
    expect(isAlive(pid)).toBe(false);
    const recs = sup.logs.tail(200);
    expect(recs.some((r) => r.service === 'tts' && r.msg === 'stop ignored (FAV_TEST_IGNORE_STOP)')).toBe(true);
    expect(recs.some((r) => r.service === 'tts' && /did not stop within 1500 ms; SIGKILL/.test(r.msg))).toBe(true);
    expect(sup.status()[0]!.state).toBe('stopped');
  }, 90_000);

  it('restart(name) replaces the process and counts it; unknown names are refused', async () => {
    const sup = new Supervisor({
      host: new NodeProcessHost(),
      redisUrl: bus.url,
      dataDir: tempDataDir(),
      handleSignals: false,
      manifest: defaultManifest({ only: ['dialog-engine'] }),
    });
    try {
      await sup.start();
      const before = sup.status()[0]!.instances[0]!.pid!;
      await sup.restart('dialog-engine');
      const after = sup.status()[0]!;
      expect(after.state).toBe('ready');
      expect(after.instances[0]!.pid).not.toBe(before);
      expect(after.restarts).toBe(1);
      await waitFor(() => !isAlive(before), 'old process gone');
      await expect(sup.restart('nope')).rejects.toThrow(/unknown service "nope"/);
    } finally {
      await sup.stop();
    }
  }, 90_000);
});

describe('worker entry (main.ts)', () => {
  it('rejects an unknown service with the list of names and exit code 2', async () => {
    const r = await runWorkerMain(['nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown service "nope"');
    for (const n of SERVICE_NAMES) expect(r.stderr).toContain(n);
  }, 60_000);

  it('rejects a bad option with usage and exit code 2', async () => {
    const r = await runWorkerMain(['asr', '--redis']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--redis needs a value/);
    expect(r.stderr).toMatch(/usage: main\.ts NAME/);
  }, 60_000);

  it('exits 1 with a clear message when the bus is unreachable, without printing the password', async () => {
    const url = await freePortUrl('s3cret-pass');
    const r = await runWorkerMain(['asr', '--redis', url], { FAV_REDIS_URL: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/initialisation failed/);
    expect(r.stderr).not.toContain('s3cret-pass');
  }, 60_000);
});

describe.each(BACKENDS)('a worker of one run of the core on a bus serving another (%s)', (kind) => {
  let bus: Backend;
  beforeAll(async () => {
    bus = await startBackend(kind);
  });
  afterAll(async () => {
    await bus?.stop();
  });

  it('refuses to start when the bus serves another run', async () => {
    const redis = await client(bus.url);
    await redis.set(RUN_KEY, 'run-B');
    redis.disconnect();
    const r = await runWorkerMain(['tts', '--redis', bus.url, '--instance', 'tts@old#0'], { FAV_RUN_ID: 'run-A' });
    expect(r.code).toBe(WorkerExitCode.runChanged);
    expect(r.stderr).toMatch(/the bus now serves another run of the studio \(run-B, joined run-A\)/);
  }, 60_000);

  it('leaves when its run is replaced while it serves', async () => {
    const redis = await client(bus.url);
    const rec = await Recorder.open(bus.url, [Channels.status]);
    try {
      await redis.set(RUN_KEY, 'run-A');
      const ready = () =>
        rec.msgs(Channels.status).some((m) => {
          const ev = StatusEvent.safeParse(m);
          return ev.success && ev.data.instance === 'tts@old#1' && ev.data.state === 'ready';
        });
      const exited = runWorkerMain(['tts', '--redis', bus.url, '--instance', 'tts@old#1'], { FAV_RUN_ID: 'run-A', FAV_HEARTBEAT_MS: '200' });
      await waitFor(ready, 'the worker ready in its run', 60_000);
      await redis.set(RUN_KEY, 'run-B');
      const r = await exited;
      expect(r.code).toBe(WorkerExitCode.runChanged);
      expect(r.stderr).toMatch(/another run of the studio \(run-B, joined run-A\); leaving/);
      // It said nothing on the other run's bus on its way out.
      expect(rec.count(Channels.status, (m) => m.instance === 'tts@old#1' && m.state === 'stopped')).toBe(0);
    } finally {
      await rec.close();
      redis.disconnect();
    }
  }, 60_000);
});
