/**
 * One instance slot of a service: owns at most one worker process at a time and its life —
 * spawn, ready handshake (with timeout), heartbeat health, crash -> backoff restart, crash-loop
 * cap -> failed, graceful stop (stop message / SIGTERM, then SIGKILL after the stop timeout).
 * The slot's instance id is stable across restarts, so a new incarnation recovers the tasks its
 * predecessor left in its processing list.
 */
import type { StatusEvent } from '../../shared/bus.js';
import { backoffDelay, type ServiceSpec } from './manifest.js';
import type { HostedProcess, ProcessHost } from './process-host.js';

export type InstanceState = 'starting' | 'ready' | 'unhealthy' | 'restarting' | 'failed' | 'stopped';

export interface InstanceStatus {
  instanceId: string;
  pid: number | undefined;
  state: InstanceState;
  /** Restarts of this slot since the supervisor started (crashes and manual restarts). */
  restarts: number;
  /** Local receive time (epoch ms) of the last ready/heartbeat event. */
  lastHeartbeat: number | undefined;
  /** Tasks handled by the current process, from its last heartbeat. */
  handled: number;
  lastError: string | undefined;
  /** What the running process wants the user to know (`detail` of its ready / heartbeat events). */
  notice: string | undefined;
}

export interface SlotEvents {
  /** The slot's state or counters changed. */
  changed(): void;
  /** Output of the current process. */
  output(stream: 'stdout' | 'stderr', chunk: string): void;
  /** The process ended (flush partial log lines). */
  ended(): void;
  /** Something worth a log record of the supervisor. */
  note(level: 'info' | 'warn' | 'error', msg: string): void;
}

export class InstanceSlot {
  state: InstanceState = 'stopped';
  restarts = 0;
  lastHeartbeat: number | undefined;
  handled = 0;
  lastError: string | undefined;
  notice: string | undefined;

  private proc: HostedProcess | undefined;
  private wanted = false;
  /** Why we are killing the current process ourselves (counted as a crash unless 'restart'). */
  private killReason: string | undefined;
  private manualRestart = false;
  /** What the current process reported in an 'error' status event (why it is about to exit). */
  private reported: string | undefined;
  private crashes: number[] = [];
  private readyTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private exitWaiters: Array<() => void> = [];
  /** A stop in progress (start() waits for it before spawning again). */
  private stopping: Promise<void> | undefined;
  private settleWaiters: Array<() => void> = [];

  constructor(
    readonly spec: ServiceSpec,
    readonly instanceId: string,
    private readonly host: ProcessHost,
    private readonly env: Record<string, string>,
    private readonly events: SlotEvents,
  ) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** True while the slot intends to have a process (the reaper leaves its tasks alone). */
  get alive(): boolean {
    return this.wanted && this.state !== 'failed';
  }

  status(): InstanceStatus {
    return {
      instanceId: this.instanceId,
      pid: this.proc?.pid,
      state: this.state,
      restarts: this.restarts,
      lastHeartbeat: this.lastHeartbeat,
      handled: this.handled,
      lastError: this.lastError,
      notice: this.notice,
    };
  }

  start(): void {
    this.wanted = true;
    this.crashes = [];
    if (!this.proc) this.spawn();
  }

  /** Resolves when the slot is ready or failed (or stopped). */
  settled(): Promise<void> {
    if (this.state === 'ready' || this.state === 'failed' || this.state === 'stopped') return Promise.resolve();
    return new Promise((r) => this.settleWaiters.push(r));
  }

  private setState(s: InstanceState): void {
    if (this.state === s) return;
    this.state = s;
    if (s === 'ready' || s === 'failed' || s === 'stopped') for (const w of this.settleWaiters.splice(0)) w();
    this.events.changed();
  }

  private spawn(): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.killReason = undefined;
    this.reported = undefined;
    this.lastHeartbeat = undefined;
    this.handled = 0;
    this.notice = undefined;
    const proc = this.host.spawn({ service: this.spec.name, instanceId: this.instanceId, args: this.spec.args, env: this.env });
    this.proc = proc;
    proc.onStdout((c) => this.events.output('stdout', c));
    proc.onStderr((c) => this.events.output('stderr', c));
    proc.onExit((code, signal) => this.onExit(proc, code, signal));
    this.readyTimer = setTimeout(() => {
      this.killReason = `not ready within ${this.spec.readyTimeoutMs} ms`;
      this.events.note('error', `${this.instanceId}: ${this.killReason}; killing it`);
      proc.kill('SIGKILL');
    }, this.spec.readyTimeoutMs);
    this.setState('starting');
    this.events.note('info', `${this.instanceId}: spawned pid ${proc.pid ?? '?'}`);
  }

  onStatus(ev: StatusEvent, now = Date.now()): void {
    // Events of an earlier incarnation (same instance id, other pid) are stale.
    if (!this.proc || ev.pid !== this.proc.pid) return;
    if (ev.handled !== undefined) this.handled = ev.handled;
    if (ev.state === 'ready' || ev.state === 'heartbeat') {
      this.lastHeartbeat = now;
      if (this.notice !== ev.detail) {
        this.notice = ev.detail;
        this.events.changed();
      }
      if (this.state === 'starting' || this.state === 'unhealthy') {
        clearTimeout(this.readyTimer);
        this.readyTimer = undefined;
        if (this.wanted) this.setState('ready');
      }
      if (ev.state === 'heartbeat') this.events.changed();
    } else if (ev.state === 'error') {
      this.lastError = this.reported = ev.detail ?? 'worker reported an error';
      this.events.changed();
    }
  }

  /** Heartbeat watchdog, called periodically by the supervisor. */
  checkHealth(now = Date.now()): void {
    if (!this.proc || !this.wanted || this.lastHeartbeat === undefined || this.killReason) return;
    const silence = now - this.lastHeartbeat;
    const limit = this.spec.heartbeatMs * this.spec.missedHeartbeats;
    if (this.state === 'ready' && silence > limit) {
      this.lastError = `missed heartbeats: none for ${silence} ms`;
      this.events.note('warn', `${this.instanceId}: unhealthy (${this.lastError})`);
      this.setState('unhealthy');
    } else if (this.state === 'unhealthy' && silence > limit + this.spec.heartbeatMs) {
      // A hung process cannot drain: kill it outright (SIGKILL also ends a SIGSTOPped one).
      this.killReason = `unhealthy: no heartbeat for ${silence} ms`;
      this.events.note('error', `${this.instanceId}: ${this.killReason}; restarting`);
      this.proc.kill('SIGKILL');
    }
  }

  private onExit(proc: HostedProcess, code: number | null, signal: string | null): void {
    if (proc !== this.proc) return;
    clearTimeout(this.readyTimer);
    clearTimeout(this.killTimer);
    this.readyTimer = this.killTimer = undefined;
    this.proc = undefined;
    this.events.ended();
    const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
    for (const w of this.exitWaiters.splice(0)) w();

    if (!this.wanted) {
      this.events.note('info', `${this.instanceId}: stopped (${how})`);
      this.setState('stopped');
      return;
    }
    if (this.manualRestart) {
      this.manualRestart = false;
      this.restarts++;
      this.events.note('info', `${this.instanceId}: restarting on request (${how})`);
      this.spawn();
      return;
    }
    const now = Date.now();
    const { restart } = this.spec;
    this.crashes = [...this.crashes.filter((t) => now - t < restart.crashLoopWindowMs), now];
    this.lastError = this.killReason ? `${this.killReason} (${how})` : `crashed: ${how}${this.reported ? `: ${this.reported}` : ''}`;
    if (this.crashes.length >= restart.crashLoopMax) {
      this.lastError += `; crash loop: ${this.crashes.length} crashes within ${restart.crashLoopWindowMs} ms, not restarting`;
      this.events.note('error', `${this.instanceId}: failed (${this.lastError})`);
      this.setState('failed');
      return;
    }
    const delay = backoffDelay(restart, this.crashes.length);
    this.events.note('warn', `${this.instanceId}: ${this.lastError}; restart in ${delay} ms`);
    this.setState('restarting');
    this.restartTimer = setTimeout(() => {
      this.restarts++;
      this.spawn();
    }, delay);
  }

  /**
   * From now on the slot wants no process: an exit is a stop, not a crash, and nothing is
   * respawned. Synchronous, so a shutdown can say so before any worker has had time to exit (a
   * Ctrl+C reaches the whole process group, workers included, at once).
   */
  standDown(): void {
    this.wanted = false;
    clearTimeout(this.restartTimer);
    clearTimeout(this.readyTimer);
    this.restartTimer = this.readyTimer = undefined;
    if (!this.proc && this.state !== 'stopped') {
      this.events.note('info', `${this.instanceId}: stopped (restart cancelled)`);
      this.setState('stopped');
    }
  }

  /** Graceful stop of the current process; resolves once it is gone. */
  async stop(): Promise<void> {
    this.standDown();
    if (!this.proc) {
      this.setState('stopped');
      return;
    }
    const gone = (this.stopping ??= this.terminate().finally(() => (this.stopping = undefined)));
    await gone;
  }

  /**
   * Starts a slot that was stopped (or failed) on request: waits for a stop still under way, then
   * spawns with a fresh crash count; resolves when the process is ready or failed.
   */
  async startAgain(): Promise<void> {
    if (this.stopping) await this.stopping;
    this.start();
    await this.settled();
  }

  /** Restart now (not counted as a crash); resolves when the new process is ready or failed. */
  async restart(): Promise<void> {
    this.wanted = true;
    this.crashes = [];
    if (!this.proc) {
      this.spawn();
    } else {
      this.manualRestart = true;
      await this.terminate();
    }
    await this.settled();
  }

  private terminate(): Promise<void> {
    const proc = this.proc!;
    const gone = new Promise<void>((r) => this.exitWaiters.push(r));
    if (!proc.send?.({ type: 'stop' })) proc.kill('SIGTERM');
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => {
      this.events.note('warn', `${this.instanceId}: did not stop within ${this.spec.stopTimeoutMs} ms; SIGKILL`);
      proc.kill('SIGKILL');
    }, this.spec.stopTimeoutMs);
    return gone;
  }

  /** Last resort (process exit): SIGKILL synchronously, no waiting. */
  killNow(): void {
    this.wanted = false;
    clearTimeout(this.restartTimer);
    clearTimeout(this.readyTimer);
    clearTimeout(this.killTimer);
    this.proc?.kill('SIGKILL');
  }
}
