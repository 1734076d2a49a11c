/**
 * How the supervisor starts a worker process. Two implementations: `NodeProcessHost`
 * (child_process.fork; headless, tests, `fav worker`) in src/main/supervisor/node-host.ts, and
 * `UtilityProcessHost` (Electron utilityProcess.fork) in electron/utility-host.ts.
 * The host knows where the worker entry is (TS via tsx, or a built bundle); the supervisor only says
 * which service to run and with what environment. Readiness and health come over the bus, not here.
 */
export interface SpawnSpec {
  /** Service name from the manifest, e.g. "asr". */
  service: string;
  /** Stable id of this slot, e.g. "asr@hostname#0"; survives restarts of the slot. */
  instanceId: string;
  /** Extra argv after the service name. */
  args: string[];
  /** Environment for the worker (merged over the host's own by the host). Holds FAV_REDIS_URL. */
  env: Record<string, string>;
}

export interface HostedProcess {
  readonly pid: number | undefined;
  /** Called once when the process is gone, whatever the cause. */
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  /** Raw output chunks (utf8). The supervisor splits lines. */
  onStdout(listener: (chunk: string) => void): void;
  onStderr(listener: (chunk: string) => void): void;
  /** Send a signal (default SIGTERM). No-op if already gone. */
  kill(signal?: NodeJS.Signals): void;
  /**
   * Optional: post a message to the worker (IPC / parentPort). The supervisor sends
   * `{ type: 'stop' }` for a graceful stop when present, SIGTERM otherwise. Returns false if it
   * could not be sent (then the supervisor falls back to SIGTERM).
   */
  send?(message: unknown): boolean;
}

export interface ProcessHost {
  readonly kind: 'node' | 'electron';
  spawn(spec: SpawnSpec): HostedProcess;
}
