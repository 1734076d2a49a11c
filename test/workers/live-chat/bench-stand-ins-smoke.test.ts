/**
 * Smoke test of `npm run bench:chat -- --stand-ins --quick`: the real live-chat worker reads the three
 * platform stand-ins under the burst, and the benchmark prints every figure (worker CPU per message,
 * ingest and queue latency, RSS) and writes them as JSON. Behaviour only: speed is the benchmark's
 * business; that every pushed message reached the feed and some were answered is checked here.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import type { ServiceBenchFigures } from '../../../scripts/lib/chat-service-bench.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const NUM = '-?[\\d,]+(?:\\.\\d+)?';

it('bench:chat --stand-ins --quick runs the service on the three stand-ins and prints every figure', { timeout: 170_000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-chat-svc-'));
  try {
    const out = path.join(dir, 'bench.json');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench-chat.ts', '--stand-ins', '--quick', '--json', out], { cwd: ROOT, encoding: 'utf8', timeout: 160_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^\\[stand-ins\\] pushed ${NUM}, reached the feed ${NUM}; accepted ${NUM}, refused .*; picked ${NUM} \\(.*\\); dropped later .*$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^\\[stand-ins\\] worker CPU per message: ${NUM} ms \\(.*\\), ${NUM} ms above its idle ${NUM} ms/s$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^\\[stand-ins\\] ingest latency stand-in -> feed: p50 ${NUM} ms, p95 ${NUM} ms`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^\\[stand-ins\\] queue latency feed -> picked: p50 ${NUM} s, p95 ${NUM} s$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^\\[stand-ins\\] worker memory \\(RSS\\): (${NUM} MiB|n/a) before, (${NUM} MiB|n/a) after$`, 'm'));
    const f = (JSON.parse(readFileSync(out, 'utf8')) as { standIns: ServiceBenchFigures }).standIns;
    expect(f.sent).toBeGreaterThan(100);
    // Every message pushed into a stand-in came through its connector and the service to the feed.
    expect(f.seen).toBe(f.sent);
    expect(f.accepted).toBeGreaterThan(0);
    expect(f.picks).toBeGreaterThan(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
