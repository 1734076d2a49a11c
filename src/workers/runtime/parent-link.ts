/**
 * How a worker hears "stop" and notices that its parent is gone, whatever hosts it:
 * - Electron utility process: `process.parentPort` ('message' events carrying { type: 'stop' });
 *   the port closing means the app is gone.
 * - child_process.fork: `process.send` IPC ({ type: 'stop' } messages); 'disconnect' means the
 *   parent died (or closed the channel), so the worker must not linger as an orphan.
 * - standalone (`fav worker` in a terminal): SIGTERM / SIGINT / SIGHUP.
 * Signals are honoured in every mode.
 */

export type StopReason = 'signal' | 'stop-message' | 'parent-gone';
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

/** Installs the listeners; returns a function that removes them all. */
export function watchParent(onStop: StopListener, proc: NodeJS.Process = process): () => void {
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

  return () => {
    for (const c of cleanups.splice(0)) c();
  };
}
