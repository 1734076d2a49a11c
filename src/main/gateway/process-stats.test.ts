import { describe, expect, it } from 'vitest';
import { samplePid, withProcessStats, type PidSampler } from './process-stats.js';

describe('withProcessStats', () => {
  it('gives each running instance the stats of its pid, samples each pid once, and leaves out what could not be sampled', async () => {
    const asked: number[] = [];
    const sample: PidSampler = async (pid) => {
      asked.push(pid);
      if (pid === 13) throw new Error('No matching pid found');
      return { pid, cpu: pid / 10, memory: pid * 1000 };
    };
    const out = await withProcessStats(
      [
        { name: 'tts', state: 'ready', restarts: 2, instances: [{ pid: 11 }, { pid: 12 }] },
        { name: 'asr', state: 'ready', instances: [{ pid: 13 }] },
        { name: 'memory', state: 'stopped', instances: [{}] },
      ],
      sample,
    );
    expect(asked.sort()).toEqual([11, 12, 13]);
    expect(out).toEqual([
      { name: 'tts', state: 'ready', restarts: 2, instances: [{ pid: 11, stats: { pid: 11, cpu: 1.1, memory: 11000 } }, { pid: 12, stats: { pid: 12, cpu: 1.2, memory: 12000 } }] },
      { name: 'asr', state: 'ready', restarts: 0, instances: [{ pid: 13 }] },
      { name: 'memory', state: 'stopped', restarts: 0, instances: [{}] },
    ]);
  });

  it('samples a real process (this one)', async () => {
    const s = await samplePid(process.pid);
    expect(s.pid).toBe(process.pid);
    expect(s.memory).toBeGreaterThan(process.memoryUsage().rss / 2);
    expect(s.cpu).toBeGreaterThanOrEqual(0);
  });
});
