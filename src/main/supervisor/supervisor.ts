/**
 * The supervisor: runs every service of the manifest through a ProcessHost, follows their
 * lifecycle over the bus (`Channels.status`), restarts what crashes or goes silent, reaps tasks of
 * dead remote consumers, collects logs, and stops everything (reverse manifest order) without
 * leaving a process behind — also when its own process gets SIGINT/SIGTERM or exits.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { connectCoreBus, createCoreBusClient } from '../bus-client.js';
import { Channels, RUN_KEY, StatusEvent, type ServiceName } from '../../shared/bus.js';
import { LogHub } from '../logging/log-hub.js';
import type { LogLevel, LogRecord } from '../logging/log-record.js';
import { InstanceSlot, type InstanceState, type InstanceStatus } from './instance-slot.js';
import { defaultManifest, validateManifest, type Manifest, type ServiceSpec } from './manifest.js';
import type { ProcessHost } from './process-host.js';
import { Reaper } from './reaper.js';

export interface SupervisorLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SupervisorOptions {
  host: ProcessHost;
  redisUrl: string;
  dataDir: string;
  manifest?: Manifest;
  logger?: SupervisorLogger;
  /** Log hub to use (default: one writing to <dataDir>/logs). */
  logs?: LogHub;
  /** Install SIGINT/SIGTERM handlers that stop everything, then re-raise (default true). */
  handleSignals?: boolean;
  /** Reaper period (default 5000 ms). */
  reapIntervalMs?: number;
  /** Instance ids are `<service>@<idPrefix>#<n>` (default: the host name). */
  idPrefix?: string;
  /** Lines of stderr kept per service (default 50). */
  stderrLines?: number;
}

export interface ServiceStatus {
  name: ServiceName;
  /** The worst state among its instances. */
  state: InstanceState;
  instances: InstanceStatus[];
  restarts: number;
  lastHeartbeat: number | undefined;
  handled: number;
  lastError: string | undefined;
  /** What a running instance wants the user to know (shown in /health and the studio). */
  notice: string | undefined;
  lastStderr: string[];
}

const SEVERITY: InstanceState[] = ['failed', 'unhealthy', 'restarting', 'starting', 'stopped', 'ready'];

export class StartError extends Error {
  constructor(readonly failed: ServiceStatus[]) {
    super(
      `services failed to start: ${failed
        .map((s) => `${s.name} (${s.lastError ?? 'unknown error'}${s.lastStderr.length ? `; stderr: ${s.lastStderr.slice(-3).join(' | ')}` : ''})`)
        .join('; ')}`,
    );
  }
}

export class Supervisor extends EventEmitter {
  readonly manifest: Manifest;
  /** This run of the supervisor: on the bus under RUN_KEY and in every worker's FAV_RUN_ID. */
  readonly runId = randomUUID();
  readonly logs: LogHub;
  private readonly slots = new Map<ServiceName, InstanceSlot[]>();
  private readonly byInstance = new Map<string, InstanceSlot>();
  private readonly stderrTails = new Map<ServiceName, string[]>();
  private readonly ownLogs: boolean;
  private sub: Redis | undefined;
  private cmd: Redis | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private reapTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private shutdown = false;
  private started = false;
  private readonly cleanups: Array<() => void> = [];

  constructor(private readonly opts: SupervisorOptions) {
    super();
    this.manifest = opts.manifest ?? defaultManifest();
    validateManifest(this.manifest);
    this.ownLogs = !opts.logs;
    this.logs = opts.logs ?? new LogHub({ files: { dir: join(opts.dataDir, 'logs') } });
    this.logs.redactor.addUrlSecrets(opts.redisUrl);
    this.cleanups.push(this.logs.subscribe((rec) => this.emit('log', rec)));
    const prefix = opts.idPrefix ?? hostname();
    for (const spec of this.manifest) {
      const slots: InstanceSlot[] = [];
      for (let i = 0; i < spec.instances; i++) {
        const id = `${spec.name}@${prefix}#${i}`;
        const slot = new InstanceSlot(spec, id, opts.host, this.workerEnv(spec, id), {
          changed: () => this.emit('status', this.serviceStatus(spec.name)),
          output: (stream, chunk) => this.onOutput(spec.name, id, stream, chunk),
          ended: () => this.logs.endOf(spec.name, id),
          note: (level, msg) => this.note(spec.name, level, msg),
        });
        slots.push(slot);
        this.byInstance.set(id, slot);
      }
      this.slots.set(spec.name, slots);
      this.stderrTails.set(spec.name, []);
    }
  }

  override on(event: 'status', listener: (s: ServiceStatus) => void): this;
  override on(event: 'log', listener: (r: LogRecord) => void): this;
  override on(event: string, listener: (...args: never[]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  private workerEnv(spec: ServiceSpec, instanceId: string): Record<string, string> {
    return {
      FAV_REDIS_URL: this.opts.redisUrl,
      FAV_INSTANCE_ID: instanceId,
      FAV_RUN_ID: this.runId,
      FAV_DATA_DIR: this.opts.dataDir,
      FAV_HEARTBEAT_MS: String(spec.heartbeatMs),
      // The key outlives the unhealthy threshold so the reaper never races a slot we still manage.
      FAV_HEARTBEAT_TTL_MS: String(spec.heartbeatMs * (spec.missedHeartbeats + 1)),
      // Leave the worker time to ack and say 'stopped' before our SIGKILL.
      FAV_STOP_DRAIN_MS: String(Math.max(0, Math.min(spec.stopTimeoutMs - 1000, Math.round(spec.stopTimeoutMs * 0.8)))),
      ...spec.env,
    };
  }

  private onOutput(service: ServiceName, instance: string, stream: 'stdout' | 'stderr', chunk: string): void {
    const recs = this.logs.ingest(service, instance, stream, chunk);
    if (stream !== 'stderr') return;
    const tail = this.stderrTails.get(service)!;
    for (const r of recs) tail.push(r.msg);
    const max = this.opts.stderrLines ?? 50;
    if (tail.length > max) tail.splice(0, tail.length - max);
  }

  private note(service: string, level: Exclude<LogLevel, 'trace' | 'debug' | 'fatal'>, msg: string): void {
    this.logs.note(service, level, msg);
    this.opts.logger?.[level]({ service }, msg);
  }

  /**
   * Starts every service; resolves when all are ready, rejects (StartError) naming those that
   * failed (crash-loop cap reached). On rejection the healthy services keep running: call stop().
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('supervisor already started');
    this.started = true;
    this.sub = createCoreBusClient(this.opts.redisUrl, { role: 'supervisor-sub' });
    this.cmd = createCoreBusClient(this.opts.redisUrl, { role: 'supervisor' });
    for (const r of [this.sub, this.cmd]) r.on('error', (e: Error) => this.note('supervisor', 'error', `bus connection: ${e.message}`));
    try {
      await Promise.all([connectCoreBus(this.sub), connectCoreBus(this.cmd)]);
      // Before any worker starts, and again after a reconnect (a Redis restarted without its data):
      // a worker that finds another run here leaves (src/workers/runtime/run-guard.ts).
      await this.cmd.set(RUN_KEY, this.runId);
      const cmd = this.cmd;
      cmd.on('ready', () => void cmd.set(RUN_KEY, this.runId).catch(() => undefined));
      this.sub.on('message', (channel: string, message: string) => {
        if (channel === Channels.status) this.onStatusMessage(message);
      });
      await this.sub.subscribe(Channels.status);
    } catch (e) {
      await this.closeBus();
      throw new Error(`supervisor cannot reach the bus: ${this.logs.redactor.redact((e as Error).message)}`, { cause: e });
    }
    this.installProcessHooks();

    const reaper = new Reaper(
      this.cmd,
      this.manifest.flatMap((s) => s.inputs.flatMap((i) => (i.kind === 'queue' ? [i.name] : []))),
      (id) => this.byInstance.get(id)?.alive ?? false,
    );
    const reap = async () => {
      try {
        for (const r of await reaper.runOnce()) {
          this.note('supervisor', r.requeued ? 'warn' : 'info', `reaper: ${r.instanceId} is gone; ${r.requeued} task(s) of ${r.queue} requeued`);
        }
      } catch (e) {
        this.note('supervisor', 'warn', `reaper: ${(e as Error).message}`);
      }
    };
    await reap();
    this.reapTimer = setInterval(() => void reap(), this.opts.reapIntervalMs ?? 5000);

    const tick = Math.max(50, Math.min(1000, Math.min(...this.manifest.map((s) => s.heartbeatMs)) / 2));
    this.healthTimer = setInterval(() => {
      const now = Date.now();
      for (const slot of this.byInstance.values()) slot.checkHealth(now);
    }, tick);

    for (const slot of this.byInstance.values()) slot.start();
    await Promise.all([...this.byInstance.values()].map((s) => s.settled()));
    const failed = this.status().filter((s) => s.instances.some((i) => i.state !== 'ready'));
    if (failed.length) throw new StartError(failed);
  }

  private onStatusMessage(message: string): void {
    let ev: StatusEvent;
    try {
      ev = StatusEvent.parse(JSON.parse(message));
    } catch {
      this.note('supervisor', 'warn', `ignored a malformed status event: ${message.slice(0, 200)}`);
      return;
    }
    this.byInstance.get(ev.instance)?.onStatus(ev);
  }

  status(): ServiceStatus[] {
    return this.manifest.map((s) => this.serviceStatus(s.name));
  }

  private serviceStatus(name: ServiceName): ServiceStatus {
    const instances = (this.slots.get(name) ?? []).map((s) => s.status());
    const state = SEVERITY.find((st) => instances.some((i) => i.state === st)) ?? 'stopped';
    const beats = instances.map((i) => i.lastHeartbeat).filter((t): t is number => t !== undefined);
    return {
      name,
      state,
      instances,
      restarts: instances.reduce((a, i) => a + i.restarts, 0),
      lastHeartbeat: beats.length ? Math.max(...beats) : undefined,
      handled: instances.reduce((a, i) => a + i.handled, 0),
      lastError: instances.find((i) => i.lastError)?.lastError,
      notice: instances.find((i) => i.notice)?.notice,
      lastStderr: [...(this.stderrTails.get(name) ?? [])],
    };
  }

  private slotsOf(name: string): InstanceSlot[] {
    const slots = this.slots.get(name as ServiceName);
    if (!slots) throw new Error(`unknown service "${name}"; running: ${[...this.slots.keys()].join(', ')}`);
    if (this.shutdown) throw new Error('supervisor is stopping');
    return slots;
  }

  /** Restarts every instance of a service; resolves when they are ready again (rejects if one failed). */
  async restart(name: string): Promise<void> {
    const slots = this.slotsOf(name);
    this.note(name, 'info', 'restart requested');
    await Promise.all(slots.map((s) => s.restart()));
    const st = this.serviceStatus(name as ServiceName);
    if (st.instances.some((i) => i.state !== 'ready')) throw new StartError([st]);
  }

  /**
   * Stops every instance of one service on request and keeps it stopped: its exit is a stop, not a
   * crash, so nothing restarts it until startService() (or restart()). Tasks it took and did not
   * finish stay in its processing lists; the reaper puts them back on the queue for the next instance.
   */
  async stopService(name: string): Promise<void> {
    const slots = this.slotsOf(name);
    this.note(name, 'info', 'stop requested');
    await Promise.all(slots.map((s) => s.stop()));
  }

  /** Starts a service stopped on request (or one that failed); resolves when it is ready (rejects if it failed). */
  async startService(name: string): Promise<void> {
    const slots = this.slotsOf(name);
    this.note(name, 'info', 'start requested');
    await Promise.all(slots.map((s) => s.startAgain()));
    const st = this.serviceStatus(name as ServiceName);
    if (st.instances.some((i) => i.state !== 'ready')) throw new StartError([st]);
  }

  /**
   * Says, synchronously, that the supervisor is shutting down: from here on a worker's exit is
   * logged as a stop and never restarted. stop() begins with it; a caller that first closes other
   * things (the studio closes its gateway before stopping services) calls it at once, because a
   * Ctrl+C has already reached the workers of the same process group.
   */
  shuttingDown(): void {
    this.shutdown = true;
    for (const slot of this.byInstance.values()) slot.standDown();
  }

  /** Stops everything in reverse manifest order; idempotent. */
  stop(): Promise<void> {
    this.shuttingDown();
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    clearInterval(this.healthTimer);
    clearInterval(this.reapTimer);
    for (const spec of [...this.manifest].reverse()) {
      await Promise.all((this.slots.get(spec.name) ?? []).map((s) => s.stop()));
    }
    this.note('supervisor', 'info', 'all services stopped');
    await this.closeBus();
    for (const c of this.cleanups.splice(0)) c();
    if (this.ownLogs) await this.logs.close();
  }

  private async closeBus(): Promise<void> {
    for (const r of [this.sub, this.cmd]) {
      if (!r) continue;
      try {
        if (r.status === 'ready') await r.quit();
      } catch {
        // already closed
      }
      r.disconnect();
    }
    this.sub = this.cmd = undefined;
  }

  /**
   * SIGINT/SIGTERM: stop everything, then re-raise the signal so the process ends as it would have.
   * 'exit' (someone called process.exit without stop()): SIGKILL every worker synchronously.
   */
  private installProcessHooks(): void {
    const onExit = () => {
      for (const s of this.byInstance.values()) s.killNow();
    };
    process.on('exit', onExit);
    this.cleanups.push(() => process.off('exit', onExit));
    if (this.opts.handleSignals === false) return;
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const handler = () => {
        this.note('supervisor', 'info', `${sig} received: stopping all services`);
        void this.stop().finally(() => {
          process.off(sig, handler);
          if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
        });
      };
      process.on(sig, handler);
      this.cleanups.push(() => process.off(sig, handler));
    }
  }
}
