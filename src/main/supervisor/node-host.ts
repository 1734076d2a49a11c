/**
 * ProcessHost for plain Node: `child_process.fork` of the worker entry with tsx as loader
 * (or a built .js entry without it). stdio is piped (the supervisor reads the logs) and an IPC
 * channel is open: the supervisor sends { type: 'stop' } through it, and the worker treats the
 * channel's disconnect as its parent's death. `detached: false` keeps workers in the supervisor's
 * process group, so a terminal's Ctrl-C reaches them too.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { PACKAGE_ROOT } from '../paths.js';
import type { HostedProcess, ProcessHost, SpawnSpec } from './process-host.js';
import { resolveWorkerEntry } from './worker-entry.js';

export interface NodeProcessHostOptions {
  /** Worker entry; default the built bundle when fresh, else src/workers/main.ts (see worker-entry.ts). */
  entry?: string;
  /** Node flags; default ['--import', 'tsx'] for a .ts entry, none for .js. */
  execArgv?: string[];
  /** Working directory of workers; default the package root (where `tsx` resolves). */
  cwd?: string;
  /** The Node binary that runs the workers; default this process's own. */
  execPath?: string;
}

class NodeHostedProcess implements HostedProcess {
  private exited = false;
  constructor(private readonly child: ChildProcess) {
    // Without these listeners a write to a dead child would throw asynchronously.
    child.on('error', () => undefined);
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.once('exit', () => (this.exited = true));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  onExit(listener: (code: number | null, signal: string | null) => void): void {
    // 'close' comes after 'exit' once stdio is drained, so the last stderr lines are already read.
    this.child.once('close', (code, signal) => listener(code, signal));
  }

  onStdout(listener: (chunk: string) => void): void {
    this.child.stdout?.on('data', listener);
  }

  onStderr(listener: (chunk: string) => void): void {
    this.child.stderr?.on('data', listener);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.exited) return;
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
  }

  send(message: unknown): boolean {
    if (this.exited || !this.child.connected) return false;
    try {
      return this.child.send(message as object);
    } catch {
      return false;
    }
  }
}

export class NodeProcessHost implements ProcessHost {
  readonly kind = 'node' as const;
  readonly entry: string;
  private readonly execArgv: string[];
  private readonly cwd: string;
  private readonly execPath: string | undefined;

  constructor(opts: NodeProcessHostOptions = {}) {
    this.execPath = opts.execPath;
    const root = opts.cwd ?? PACKAGE_ROOT;
    this.entry = opts.entry ?? resolveWorkerEntry(root);
    this.execArgv = opts.execArgv ?? (this.entry.endsWith('.ts') ? ['--import', 'tsx'] : []);
    this.cwd = opts.cwd ?? root;
  }

  spawn(spec: SpawnSpec): HostedProcess {
    const child = fork(this.entry, [spec.service, '--instance', spec.instanceId, ...spec.args], {
      cwd: this.cwd,
      execArgv: this.execArgv,
      ...(this.execPath ? { execPath: this.execPath } : {}),
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: false,
      serialization: 'json',
    });
    return new NodeHostedProcess(child);
  }
}
