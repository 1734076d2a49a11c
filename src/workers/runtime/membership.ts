/**
 * What a worker must hold to keep serving: the run of the core it joined (RunGuard) and, for a
 * singleton service, the claim of its one live instance (SingletonClaim). Checked at start, with
 * every heartbeat and after every reconnect; losing either makes the worker leave with its own exit
 * code (WorkerExitCode.runChanged / singletonTaken).
 */
import type { Redis } from 'ioredis';
import { SERVICE_SCALE, WorkerExitCode, type ServiceName } from '../../shared/bus.js';
import { RunGuard } from './run-guard.js';
import { SingletonClaim, singletonRefusal } from './singleton-claim.js';

export type LeaveReason = 'run-changed' | 'claim-lost';

/** Why a worker must leave instead of serving, with the exit code that says so. */
export class LeaveError extends Error {
  constructor(
    readonly reason: LeaveReason,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export class Membership {
  private readonly run: RunGuard;
  private readonly claim: SingletonClaim | undefined;

  constructor(
    redis: Redis,
    service: ServiceName,
    instanceId: string,
    /** Time to live of the singleton claim (the heartbeat key's). */
    ttlMs: number,
    /** The run this worker belongs to (the core's FAV_RUN_ID), or undefined to take the bus's. */
    runId: string | undefined,
  ) {
    this.run = new RunGuard(redis, runId);
    this.claim = SERVICE_SCALE[service] === 'singleton' ? new SingletonClaim(redis, service, instanceId, ttlMs) : undefined;
  }

  /** At start, before any input opens: throws LeaveError when the worker must not serve. */
  async join(): Promise<void> {
    const otherRun = await this.run.join();
    if (otherRun) throw new LeaveError('run-changed', WorkerExitCode.runChanged, otherRun);
    const held = await this.claim?.acquire();
    if (held && !held.ok) throw new LeaveError('claim-lost', WorkerExitCode.singletonTaken, singletonRefusal(this.claim!.service, held.holder));
  }

  /** While serving: undefined, or why the worker must leave now. Refreshes the claim. */
  async check(): Promise<LeaveError | undefined> {
    const changed = await this.run.changed();
    if (changed) return new LeaveError('run-changed', WorkerExitCode.runChanged, changed);
    const held = await this.claim?.refresh();
    if (held && !held.ok) return new LeaveError('claim-lost', WorkerExitCode.singletonTaken, `the singleton claim of ${this.claim!.service} is now held by ${held.holder}`);
    return undefined;
  }

  /** Graceful stop: gives the singleton claim up (if still ours). */
  async release(): Promise<void> {
    await this.claim?.release();
  }
}
