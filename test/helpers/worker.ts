/**
 * The one way tests start a worker service: a real process of src/workers/main.ts (under tsx),
 * forked by the supervisor's own NodeProcessHost, on a bus URL. `startWorker` resolves once the
 * instance says `ready` on fav:status and rejects (with the worker's output) when it says `error`
 * or exits first. `stop` is the supervisor's graceful stop; `kill` is for crash tests.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { NodeProcessHost } from '../../src/main/supervisor/index.js';
import type { HostedProcess } from '../../src/main/supervisor/process-host.js';
import { Channels, StatusEvent } from '../../src/shared/bus.js';
import { ROOT } from '../main/supervisor/helpers.js';

/** The sources under test, never a possibly stale bundle in out/. */
const ENTRY = join(ROOT, 'src', 'workers', 'main.ts');
const host = new NodeProcessHost({ entry: ENTRY });

export interface WorkerOptions {
  /** Default `<service>@test#<random>`. */
  instanceId?: string;
  /** Over FAV_LOG_LEVEL=info and the test process's own environment. */
  env?: Record<string, string>;
  /** Extra argv after `--redis <url>`. */
  args?: string[];
  readyTimeoutMs?: number;
  /** How long `stop` waits before SIGKILL. */
  graceMs?: number;
}

export class Worker {
  private readonly out: string[] = [];
  private readonly err: string[] = [];
  /** Resolves with the exit code (null when killed by a signal) once the process is gone. */
  readonly exited: Promise<number | null>;
  private gone = false;
  /** Resolves on the instance's `ready` status; rejects on `error`, an exit or the time-out. */
  ready!: Promise<void>;

  private constructor(
    readonly service: string,
    readonly instanceId: string,
    private readonly proc: HostedProcess,
    private readonly graceMs: number,
  ) {
    proc.onStdout((c) => this.out.push(c));
    proc.onStderr((c) => {
      this.out.push(c);
      this.err.push(c);
    });
    this.exited = new Promise((r) =>
      proc.onExit((code) => {
        this.gone = true;
        r(code);
      }),
    );
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get alive(): boolean {
    return !this.gone;
  }

  /** Everything the worker printed so far. */
  get log(): string {
    return this.out.join('');
  }

  output(): string {
    return this.log;
  }

  /** What the worker wrote to stderr so far. */
  get stderr(): string {
    return this.err.join('');
  }

  /** Starts the process and returns at once; `ready` settles as described above. */
  static async spawn(service: string, url: string, opts: WorkerOptions = {}): Promise<Worker> {
    const instanceId = opts.instanceId ?? `${service}@test#${randomUUID().slice(0, 8)}`;
    const readyMs = opts.readyTimeoutMs ?? 60_000;
    const status = new Redis(url, { lazyConnect: true });
    await status.connect();
    await status.subscribe(Channels.status);
    const proc = host.spawn({ service, instanceId, args: ['--redis', url, ...(opts.args ?? [])], env: { FAV_LOG_LEVEL: 'info', ...opts.env } });
    const w = new Worker(service, instanceId, proc, opts.graceMs ?? 10_000);
    w.ready = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${service} not ready in ${readyMs} ms:\n${w.log}`)), readyMs);
      status.on('message', (_c: string, m: string) => {
        const ev = StatusEvent.safeParse(JSON.parse(m));
        if (!ev.success || ev.data.instance !== instanceId) return;
        if (ev.data.state === 'ready') {
          clearTimeout(t);
          resolve();
        } else if (ev.data.state === 'error') {
          clearTimeout(t);
          reject(new Error(`${service} failed: ${ev.data.detail ?? ''}\n${w.log}`));
        }
      });
      void w.exited.then((code) => {
        clearTimeout(t);
        reject(new Error(`${service} exited (${code}) before ready:\n${w.log.slice(-3000)}`));
      });
    }).finally(() => status.disconnect());
    w.ready.catch(() => undefined);
    return w;
  }

  /** Starts the process and resolves once it is ready; kills it and rejects when it does not get there. */
  static async start(service: string, url: string, opts: WorkerOptions = {}): Promise<Worker> {
    const w = await Worker.spawn(service, url, opts);
    try {
      await w.ready;
    } catch (err) {
      w.kill('SIGKILL');
      throw err;
    }
    return w;
  }

  /** The supervisor's graceful stop (IPC `stop`, else SIGTERM), SIGKILL after graceMs. */
  async stop(): Promise<number | null> {
    if (this.gone) return this.exited;
    if (!this.proc.send?.({ type: 'stop' })) this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), this.graceMs);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.proc.kill(signal);
  }
}

/**
 * Runs the worker entry with any argv (usage errors included) until it exits, as `fav worker` would.
 * `onStderr` sees the stderr collected so far after each chunk.
 */
export function runWorkerMain(args: string[], env: Record<string, string> = {}, onStderr: (all: string) => void = () => {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = fork(ENTRY, args, { cwd: ROOT, execArgv: ['--import', 'tsx'], env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr!.on('data', (d) => onStderr((stderr += d)));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

export function startWorker(service: string, url: string, opts: WorkerOptions = {}): Promise<Worker> {
  return Worker.start(service, url, opts);
}
