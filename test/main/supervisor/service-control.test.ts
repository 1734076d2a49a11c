/**
 * Per-service stop and start (the manager's buttons), with real worker processes: a stopped service
 * shows 'stopped', has no process, and is not brought back by crash handling; start brings it back
 * with a new pid, not counted as a restart; the other services are untouched; unknown names are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeProcessHost, Supervisor, defaultManifest, type ServiceStatus } from '../../../src/main/supervisor/index.js';
import { BACKENDS, isAlive, startBackend, tempDataDir, waitFor, type Backend } from './helpers.js';

describe.each(BACKENDS)('supervisor: stop and start one service (%s)', (kind) => {
  let bus: Backend;
  let sup: Supervisor;
  const byName = (name: string) => sup.status().find((s) => s.name === name)!;
  const spawnsOf = (instanceId: string) => sup.logs.tail(1000, 'dialog-engine').filter((r) => r.msg.startsWith(`${instanceId}: spawned pid`)).length;

  beforeAll(async () => {
    bus = await startBackend(kind);
    sup = new Supervisor({
      host: new NodeProcessHost(),
      redisUrl: bus.url,
      dataDir: tempDataDir(),
      handleSignals: false,
      // Crash handling as fast as it goes: were it to respawn a stopped service, it would do so at once.
      manifest: defaultManifest({ only: ['tts', 'dialog-engine'], services: { 'dialog-engine': { restart: { backoffBaseMs: 10, backoffMaxMs: 20 } } } }),
    });
    await sup.start();
  }, 120_000);

  afterAll(async () => {
    await sup?.stop();
    await bus?.stop();
  });

  it('a stopped service shows stopped, has no process, and stays stopped until started', async () => {
    const before = byName('dialog-engine');
    const pid = before.instances[0]!.pid!;
    const id = before.instances[0]!.instanceId;
    const ttsPid = byName('tts').instances[0]!.pid;
    const states: string[] = [];
    const onStatus = (s: ServiceStatus) => void (s.name === 'dialog-engine' && states.push(s.state));
    sup.on('status', onStatus);

    await sup.stopService('dialog-engine');
    const stopped = byName('dialog-engine');
    expect(stopped.state).toBe('stopped');
    expect(stopped.instances[0]!.pid).toBeUndefined();
    expect(stopped.restarts).toBe(0);
    await waitFor(() => !isAlive(pid), 'the stopped process gone');
    // The other service is untouched.
    expect(byName('tts').state).toBe('ready');
    expect(byName('tts').instances[0]!.pid).toBe(ttsPid);
    expect(sup.logs.tail(1000, 'dialog-engine').some((r) => r.msg.startsWith(`${id}: stopped (`))).toBe(true);

    // Start: exactly one new process. Had crash handling respawned the stopped one, there would be a
    // third spawn (or start would have found a process already there and spawned none).
    await sup.startService('dialog-engine');
    sup.off('status', onStatus);
    const started = byName('dialog-engine');
    expect(started.state).toBe('ready');
    expect(started.instances[0]!.pid).toBeGreaterThan(0);
    expect(started.instances[0]!.pid).not.toBe(pid);
    expect(started.restarts).toBe(0);
    expect(spawnsOf(id)).toBe(2);
    expect(states).not.toContain('restarting');
    expect(states.indexOf('stopped')).toBeLessThan(states.lastIndexOf('starting'));
    expect(states.at(-1)).toBe('ready');
  }, 90_000);

  it('a stopped service can be restarted too, and stopping twice is harmless', async () => {
    await sup.stopService('dialog-engine');
    await sup.stopService('dialog-engine');
    expect(byName('dialog-engine').state).toBe('stopped');
    await sup.restart('dialog-engine');
    expect(byName('dialog-engine').state).toBe('ready');
    expect(byName('dialog-engine').instances[0]!.pid).toBeGreaterThan(0);
  }, 90_000);

  it('refuses unknown names, naming the services', async () => {
    await expect(sup.stopService('nope')).rejects.toThrow(/unknown service "nope"; running: tts, dialog-engine/);
    await expect(sup.startService('nope')).rejects.toThrow(/unknown service "nope"/);
  });
});
