/**
 * Smoke test of `npm run bench:chat -- --quick`: the benchmark drives the arbiter through every phase
 * (burst, flood, LLM pick, real time) and prints every figure: CPU per message, offer() time, queue
 * latency on the simulated and the wall clock, memory held, and a verdict. Behaviour only: the speed
 * target is the benchmark's business (a MISS is reported, not failed); boundedness is not timing, so
 * it is checked here.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const PHASES = ['burst', 'flood', 'llm', 'wall'];
const NUM = '[\\d,]+(?:\\.\\d+)?';

it('bench:chat --quick prints every figure for every phase, and the queue stays bounded', { timeout: 170_000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-chat-'));
  try {
    const out = path.join(dir, 'bench.json');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench-chat.ts', '--quick', '--json', out], { cwd: ROOT, encoding: 'utf8', timeout: 160_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^machine: \d+ CPUs .*node v\d+/m);
    expect(r.stdout).toMatch(/^settings: minGapMs \d+, maxWaiting \d+, /m);
    for (const p of PHASES) {
      const q = `^\\[${p}\\] `;
      expect(r.stdout).toMatch(new RegExp(`${q}${NUM} messages at ${NUM}/min over ${NUM} min`, 'm'));
      expect(r.stdout).toMatch(new RegExp(`${q}outcome: accepted ${NUM}, refused .*; picked ${NUM} in ${NUM} turns`, 'm'));
      expect(r.stdout).toMatch(new RegExp(`${q}arbiter CPU per message: ${NUM} ms \\(.*\\); offer\\(\\) p50 ${NUM} µs, p99 ${NUM} µs$`, 'm'));
      expect(r.stdout).toMatch(new RegExp(`${q}queue latency offer->pick: simulated p50 ${NUM} s, p95 ${NUM} s; wall.* p50 ${NUM} ms, p95 ${NUM} ms$`, 'm'));
      expect(r.stdout).toMatch(new RegExp(`${q}memory: waiting max ${NUM} \\(limit ${NUM}\\), held ~${NUM} KiB .*, heap kept .* -?${NUM} KiB$`, 'm'));
      expect(r.stdout).toMatch(new RegExp(`${q}verdict: (PASS|MISS) \\(CPU ${NUM} ms (<|>=) 0\\.1 ms per message; bounded\\)$`, 'm'));
    }
    expect(r.stdout).toMatch(/^verdict: (PASS|MISS)$/m);
    const report = JSON.parse(readFileSync(out, 'utf8')) as { phases: Record<string, { messages: number; picked: number; maxWaiting: number; cpuMsPerMessage: number; pickReasons: Record<string, number> }> };
    expect(Object.keys(report.phases)).toEqual(PHASES);
    for (const p of PHASES) {
      const f = report.phases[p]!;
      expect(f.messages, p).toBeGreaterThan(100);
      expect(f.picked, p).toBeGreaterThan(0);
      expect(f.maxWaiting, p).toBeLessThanOrEqual(200);
      expect(f.cpuMsPerMessage, p).toBeGreaterThan(0);
    }
    // The LLM phase really went through the LLM pick.
    expect(report.phases.llm!.pickReasons.llm).toBeGreaterThan(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
