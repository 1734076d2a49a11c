/**
 * A salvaged memory database is told to the user, not only to the log file: the real memory worker
 * (under the real supervisor, on the embedded bus) opens a damaged memory.db, and the gateway's
 * `/health` and `/api/services`, which the studio page polls, carry its notice: where the old file
 * is and how many rows were saved and lost.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../../src/shared/config.js';
import { HealthBodySchema, ServicesResponseSchema } from '../../../src/shared/studio-status.js';
import { StudioPaths } from '../../../src/shared/renderer-api.js';
import { publishSettings } from '../../../src/main/app.js';
import { startGateway, type Gateway } from '../../../src/main/gateway/server.js';
import { NodeProcessHost, Supervisor, defaultManifest } from '../../../src/main/supervisor/index.js';
import { MemoryStore } from '../../../src/workers/memory/store.js';
import { startBackend, tempDataDir, type Backend } from '../../main/supervisor/helpers.js';
import { leafPages, smash } from '../common/damaged-db.js';
import { fillHistory } from './fill-history.js';

describe('a salvaged memory database in /health and the service list', () => {
  let bus: Backend;
  let sup: Supervisor;
  let gateway: Gateway;
  let lostRows: number;

  beforeAll(async () => {
    bus = await startBackend('embedded');
    const dataDir = tempDataDir();
    const file = MemoryStore.file(dataDir);
    fillHistory(dataDir, 800, Date.UTC(2025, 5, 1));
    const leaf = leafPages(file, 'messages')[5]!;
    lostRows = leaf.ncell;
    smash(file, [leaf.pageno]);
    await publishSettings(bus.url, ConfigSchema.parse({ dataDir }));
    sup = new Supervisor({
      host: new NodeProcessHost(),
      redisUrl: bus.url,
      dataDir,
      handleSignals: false,
      manifest: defaultManifest({ only: ['memory'], all: { heartbeatMs: 300, readyTimeoutMs: 60_000 } }),
    });
    await sup.start();
    gateway = await startGateway(
      {
        version: '0.0.0-test',
        token: 'test-token-test-token-test',
        services: sup,
        logs: sup.logs,
        bus: { kind: 'embedded', url: 'redis://127.0.0.1', ping: async () => true },
      },
      { host: '127.0.0.1', port: 0 },
    );
  }, 90_000);

  afterAll(async () => {
    await gateway?.close();
    await sup?.stop();
    await bus?.stop();
  }, 30_000);

  it('says where the old file is and what was saved and lost', async () => {
    const health = HealthBodySchema.parse(await (await fetch(gateway.url + StudioPaths.health)).json());
    expect(health.services.memory).toBe('ready');
    const notice = health.notices?.memory ?? '';
    expect(notice).toMatch(new RegExp(`memory\\.db was damaged .*saved ${800 - lostRows} rows into a new one \\(${lostRows} lost\\)`));
    const keptAs = /kept as (\S+)$/.exec(notice)?.[1] ?? '';
    expect(path.basename(keptAs)).toMatch(/^memory\.db\.corrupt-/);
    expect(existsSync(keptAs)).toBe(true);

    const list = ServicesResponseSchema.parse(await (await fetch(gateway.url + StudioPaths.services)).json());
    expect(list.services.find((s) => s.name === 'memory')?.notice).toBe(notice);
    // The worker's own warning reached the log hub too (the log file and `fav serve`'s log stream).
    expect(sup.logs.tail(500).some((r) => r.service === 'memory' && r.level === 'warn' && r.msg === notice)).toBe(true);
  });
});
