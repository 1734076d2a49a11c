/**
 * `ProcessHost` for the desktop app: each service runs in an Electron utility process (a Node
 * process Chromium knows about: it shows up in the task manager and in `app.getAppMetrics`, and dies
 * with the app). The headless twin is NodeProcessHost (child_process.fork) in src/main/supervisor.
 * The worker entry is the bundle built from src/workers/main.ts (out/main/worker.js), which uses
 * `process.parentPort` when present and `process.send` otherwise, so both hosts run the same file.
 */
import { utilityProcess, type UtilityProcess } from 'electron';
import type { HostedProcess, ProcessHost, SpawnSpec } from '../src/main/supervisor/process-host.js';

export interface UtilityProcessHostOptions {
  /** Absolute path of the built worker entry (out/main/worker.js). */
  workerPath: string;
  /** Environment every worker inherits before the spec's own (defaults to process.env). */
  baseEnv?: NodeJS.ProcessEnv;
}

type ExitListener = (code: number | null, signal: string | null) => void;
type ChunkListener = (chunk: string) => void;

class HostedUtilityProcess implements HostedProcess {
  private readonly exitListeners: ExitListener[] = [];
  private readonly stdoutListeners: ChunkListener[] = [];
  private readonly stderrListeners: ChunkListener[] = [];
  private exited: { code: number | null; signal: string | null } | undefined;
  /** utilityProcess reports only an exit code; remember a SIGKILL we sent so the supervisor sees it. */
  private sentSignal: NodeJS.Signals | undefined;

  constructor(private readonly child: UtilityProcess) {
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => this.stdoutListeners.forEach((l) => l(chunk)));
    child.stderr?.on('data', (chunk: string) => this.stderrListeners.forEach((l) => l(chunk)));
    // A fatal error (V8 OOM, native crash) is followed by 'exit'; surface its report on stderr.
    child.on('error', (type, location) => {
      this.stderrListeners.forEach((l) => l(`[utility-process] ${type} at ${location}\n`));
    });
    child.once('exit', (code) => this.finish(code));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  onExit(listener: ExitListener): void {
    // Late subscribers still learn about an exit that already happened.
    if (this.exited) listener(this.exited.code, this.exited.signal);
    else this.exitListeners.push(listener);
  }

  onStdout(listener: ChunkListener): void {
    this.stdoutListeners.push(listener);
  }

  onStderr(listener: ChunkListener): void {
    this.stderrListeners.push(listener);
  }

  /** The supervisor's graceful-stop request goes through the worker's `process.parentPort`. */
  send(message: unknown): boolean {
    if (this.exited) return false;
    try {
      this.child.postMessage(message);
      return true;
    } catch {
      return false;
    }
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.exited) return;
    this.sentSignal = signal;
    const pid = this.child.pid;
    // UtilityProcess.kill() always sends SIGTERM; other signals go through the OS by pid.
    if (signal === 'SIGTERM' || pid === undefined) this.child.kill();
    else {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone (ESRCH): its 'exit' event is on the way.
      }
    }
  }

  private finish(code: number): void {
    if (this.exited) return;
    // A caught SIGTERM ends with the worker's own exit code, as with child_process; an uncatchable
    // SIGKILL is reported the way child_process would (code null, signal set).
    this.exited = this.sentSignal === 'SIGKILL' ? { code: null, signal: 'SIGKILL' } : { code, signal: null };
    const listeners = this.exitListeners.splice(0);
    this.stdoutListeners.length = 0;
    this.stderrListeners.length = 0;
    this.child.removeAllListeners();
    listeners.forEach((l) => l(this.exited!.code, this.exited!.signal));
  }
}

export class UtilityProcessHost implements ProcessHost {
  readonly kind = 'electron' as const;

  constructor(private readonly options: UtilityProcessHostOptions) {}

  spawn(spec: SpawnSpec): HostedProcess {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.options.baseEnv ?? process.env)) if (v !== undefined) env[k] = v;
    Object.assign(env, spec.env);
    // Same argv as NodeProcessHost: `NAME --instance ID ...args` (see src/workers/main.ts).
    const argv = [spec.service, '--instance', spec.instanceId, ...spec.args];
    const child = utilityProcess.fork(this.options.workerPath, argv, {
      env,
      stdio: 'pipe',
      serviceName: `fav ${spec.service} (${spec.instanceId})`,
    });
    return new HostedUtilityProcess(child);
  }
}
