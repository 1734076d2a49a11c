/**
 * How a worker hears "stop" and notices that its parent is gone, whatever hosts it:
 * - Electron utility process: `process.parentPort` ('message' events carrying { type: 'stop' });
 *   the port closing means the app is gone.
 * - child_process.fork: `process.send` IPC ({ type: 'stop' } messages); 'disconnect' means the
 *   parent died (or closed the channel), so the worker must not linger as an orphan.
 * - standalone (`fav worker` in a terminal): SIGTERM / SIGINT / SIGHUP.
 * Signals are honoured in every mode. With a parent (either host), its pid is also checked every
 * second: should the channel's close ever go unnoticed, the worker still sees it was re-parented.
 */
import { readFileSync } from 'node:fs';

/** 'run-changed' and 'claim-lost' come from the bus (run-guard.ts, singleton-claim.ts), not the parent. */
export type StopReason = 'signal' | 'stop-message' | 'parent-gone' | 'run-changed' | 'claim-lost';
export type StopListener = (reason: StopReason, detail: string) => void;

/** The part of Electron's parentPort that we use (no electron types in this layer). */
interface ParentPortLike {
  on(event: 'message', listener: (e: { data: unknown }) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  off?(event: string, listener: (...args: never[]) => void): unknown;
  postMessage(message: unknown): void;
}

function isStopMessage(m: unknown): boolean {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'stop';
}

export function parentPortOf(proc: NodeJS.Process): ParentPortLike | undefined {
  const pp = (proc as unknown as { parentPort?: ParentPortLike }).parentPort;
  return pp && typeof pp.on === 'function' ? pp : undefined;
}

/** The kernel's current parent pid (Linux /proc; Node 20's process.ppid is fixed at start), else undefined. */
export function currentParentPid(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when a host started this process with a stop channel (IPC or parentPort). */
export function hasParentLink(proc: NodeJS.Process = process): boolean {
  return parentPortOf(proc) !== undefined || typeof proc.send === 'function';
}

/**
 * A synchronous "is the process that started me still there?" for a worker with a parent link
 * (always true without one): false once the IPC channel is closed, the parentPort has closed, or
 * the process was re-parented (its parent died). The bus connections ask it before reconnecting.
 */
export function parentAliveCheck(proc: NodeJS.Process = process): () => boolean {
  if (!hasParentLink(proc)) return () => true;
  const port = parentPortOf(proc);
  let portClosed = false;
  port?.on('close', () => (portClosed = true));
  const startPpid = currentParentPid() ?? proc.ppid;
  return () => {
    if (port ? portClosed : !proc.connected) return false;
    const now = currentParentPid();
    return now !== undefined ? now === startPpid : pidExists(startPpid);
  };
}

/** Installs the listeners; returns a function that removes them all. */
export function watchParent(onStop: StopListener, proc: NodeJS.Process = process, parentPollMs = 1000): () => void {
  const cleanups: Array<() => void> = [];

  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const h = () => onStop('signal', sig);
    proc.on(sig, h);
    cleanups.push(() => proc.off(sig, h));
  }

  const port = parentPortOf(proc);
  if (port) {
    const onMessage = (e: { data: unknown }) => {
      if (isStopMessage(e?.data)) onStop('stop-message', 'parentPort');
    };
    const onClose = () => onStop('parent-gone', 'parentPort closed');
    port.on('message', onMessage);
    port.on('close', onClose);
    cleanups.push(() => {
      port.off?.('message', onMessage as never);
      port.off?.('close', onClose as never);
    });
  } else if (typeof proc.send === 'function') {
    const onMessage = (m: unknown) => {
      if (isStopMessage(m)) onStop('stop-message', 'ipc');
    };
    const onDisconnect = () => onStop('parent-gone', 'ipc disconnected');
    proc.on('message', onMessage);
    proc.on('disconnect', onDisconnect);
    cleanups.push(() => {
      proc.off('message', onMessage);
      proc.off('disconnect', onDisconnect);
    });
    // The parent may already be gone before we got here.
    if (!proc.connected) queueMicrotask(onDisconnect);
  }

  if (hasParentLink(proc)) {
    const alive = parentAliveCheck(proc);
    const poll = setInterval(() => {
      if (!alive()) onStop('parent-gone', 'parent process gone');
    }, parentPollMs);
    poll.unref();
    cleanups.push(() => clearInterval(poll));
  }

  return () => {
    for (const c of cleanups.splice(0)) c();
  };
}
