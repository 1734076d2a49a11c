import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { currentParentPid, hasParentLink, parentAliveCheck, watchParent } from './parent-link.js';

/** A stand-in for `process` with an IPC channel (child_process.fork). */
function ipcProcess(connected = true): NodeJS.Process {
  const p = new EventEmitter() as unknown as NodeJS.Process & { connected: boolean };
  p.connected = connected;
  (p as { send?: unknown }).send = () => true;
  return p;
}

describe('parent link', () => {
  it('reads the kernel parent pid, which is ours at start', () => {
    expect(currentParentPid()).toBe(process.ppid);
  });

  it('has no parent link without IPC or parentPort, and then the parent never counts as gone', () => {
    const standalone = new EventEmitter() as unknown as NodeJS.Process;
    expect(hasParentLink(standalone)).toBe(false);
    expect(parentAliveCheck(standalone)()).toBe(true);
  });

  it('sees the parent gone once the IPC channel is closed, before any event says so', () => {
    const proc = ipcProcess();
    const alive = parentAliveCheck(proc);
    expect(alive()).toBe(true);
    (proc as { connected: boolean }).connected = false;
    expect(alive()).toBe(false);
  });

  it('sees the parent gone once the parentPort closes', () => {
    const port = new EventEmitter() as EventEmitter & { postMessage(): void };
    port.postMessage = () => undefined;
    const proc = new EventEmitter() as unknown as NodeJS.Process;
    (proc as unknown as { parentPort: unknown }).parentPort = port;
    const alive = parentAliveCheck(proc);
    expect(alive()).toBe(true);
    port.emit('close');
    expect(alive()).toBe(false);
  });

  it('reports parent-gone from the periodic check when no disconnect event came', () => {
    vi.useFakeTimers();
    try {
      const proc = ipcProcess();
      const stops: string[] = [];
      const unwatch = watchParent((reason) => stops.push(reason), proc, 1000);
      vi.advanceTimersByTime(1000);
      expect(stops).toEqual([]);
      (proc as { connected: boolean }).connected = false; // closed, its 'disconnect' event lost
      vi.advanceTimersByTime(1000);
      expect(stops).toEqual(['parent-gone']);
      unwatch();
    } finally {
      vi.useRealTimers();
    }
  });
});
