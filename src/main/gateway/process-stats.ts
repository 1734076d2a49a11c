/**
 * CPU and memory of the services' processes, for the manager: one pidusage sample per running pid
 * (on Linux it reads /proc; elsewhere `ps`). CPU is the share of one core since the previous sample
 * of that pid (pidusage keeps the last reading per pid), so the first sample of a new process reads
 * its average since it started. A pid that is gone by the time it is sampled just has no stats.
 */
import pidusage from 'pidusage';
import type { ManagerInstance, ManagerService, ProcessStats } from '../../shared/manager-api.js';
import type { ServiceView } from './types.js';

export type PidSampler = (pid: number) => Promise<ProcessStats>;

export const samplePid: PidSampler = async (pid) => {
  const s = await pidusage(pid);
  return { pid, cpu: Math.round(s.cpu * 10) / 10, memory: s.memory };
};

/** The services as the supervisor reports them, each running instance with its process's stats. */
export async function withProcessStats(services: readonly ServiceView[], sample: PidSampler = samplePid): Promise<ManagerService[]> {
  const pids = [...new Set(services.flatMap((s) => (s.instances ?? []).map((i) => i.pid)).filter((p): p is number => typeof p === 'number' && p > 0))];
  const settled = await Promise.allSettled(pids.map((pid) => sample(pid)));
  const stats = new Map<number, ProcessStats>();
  settled.forEach((r, i) => {
    if (r.status === 'fulfilled') stats.set(pids[i]!, r.value);
  });
  return services.map((s) => {
    const instances: ManagerInstance[] = (s.instances ?? []).map((inst) => {
      const st = typeof inst.pid === 'number' ? stats.get(inst.pid) : undefined;
      return { ...inst, ...(st ? { stats: st } : {}) };
    });
    return { ...s, restarts: s.restarts ?? 0, instances };
  });
}
