/**
 * Smoke test of `npm run bench:bus -- --quick`: the benchmark runs end to end against a real
 * redis-server and the embedded bus and reports a figure for every command, mode and server, the
 * pub/sub rate and both RSS figures. Behaviour only: speed targets are the benchmark's business
 * (a MISS is reported, not failed), and this machine is too noisy for timing assertions.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const COMMANDS = ['PING_INLINE', 'PING_MBULK', 'SET', 'GET', 'LPUSH', 'RPOP', 'PUBLISH'];

it('bench:bus --quick prints a figure for every command, mode and server', { timeout: 170_000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-bus-'));
  try {
    const out = path.join(dir, 'bench.json');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench-bus.ts', '--quick', '--json', out], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 160_000,
    });
    expect(r.status, r.stderr).toBe(0);
    for (const cmd of COMMANDS) {
      for (const mode of ['unpipelined', 'pipelined -P 16']) {
        // command, mode, redis req/s, embedded req/s, ratio, target, PASS|MISS
        expect(r.stdout).toMatch(new RegExp(`^${cmd} +${mode.replace(/ /g, ' ')} +[\\d,]+ +[\\d,]+ +\\d+\\.\\d\\d +>=0\\.\\d +(PASS|MISS)$`, 'm'));
      }
    }
    expect(r.stdout).toMatch(/^machine: \d+ CPUs .*node v\d+.*Redis server v=/m);
    expect(r.stdout).toMatch(/^pub\/sub deliveries\/s, 10 subscribers: redis-server [\d,]+, embedded [\d,]+, ratio \d+\.\d\d/m);
    expect(r.stdout).toMatch(/^RSS with 100,000 keys \(DBSIZE checked\): redis-server [\d,]+ MiB, embedded [\d,]+ MiB, ratio \d+\.\d\d/m);
    const report = JSON.parse(readFileSync(out, 'utf8')) as { benchmark: Array<{ command: string; redis: number; embedded: number }>; pubsub: { redis: number; embedded: number } };
    expect(report.benchmark.map((b) => b.command).sort()).toEqual([...COMMANDS, ...COMMANDS].sort());
    for (const b of report.benchmark) {
      expect(b.redis, b.command).toBeGreaterThan(0);
      expect(b.embedded, b.command).toBeGreaterThan(0);
    }
    expect(report.pubsub.redis).toBeGreaterThan(0);
    expect(report.pubsub.embedded).toBeGreaterThan(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
