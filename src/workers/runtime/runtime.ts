/**
 * The fixed life of every worker process:
 *   initialise (connect, load settings, create the service) -> ready (inputs opened, 'ready'
 *   published) -> serve (heartbeats) -> stop requested -> 'stopping' -> drain the jobs in flight
 *   -> dispose -> 'stopped' -> exit 0.
 * Three bus connections: commands, blocking reads (BLMOVE / XREADGROUP BLOCK), subscriptions —
 * a blocked or subscribed connection cannot run other commands.
 */
import type { Redis } from 'ioredis';
import os from 'node:os';
import path from 'node:path';
import { CONFIG_KEY, Channels, WorkerExitCode, heartbeatKey, type StatusEvent } from '../../shared/bus.js';
import { ConfigSchema, type Config } from '../../shared/config.js';
import { connectBus, createBusClient } from './bus-client.js';
import { ChannelConsumer } from './channel-consumer.js';
import { maskUrl, type WorkerConfig } from './config.js';
import { createWorkerLogger } from './logger.js';
import { withTimeout } from './messages.js';
import { parentAliveCheck, watchParent, type StopReason } from './parent-link.js';
import { QueueConsumer } from './queue-consumer.js';
import { LeaveError, Membership } from './membership.js';
import { cutOff, guardReconnects } from './run-guard.js';
import { StreamConsumer } from './stream-consumer.js';
import { checkInputs, type Consumer, type ServiceDefinition, type ServiceInstance, type WorkerContext } from './types.js';

/** Exit codes of a worker process. */
export const ExitCode = WorkerExitCode;

/** Stops that leave the run behind: no drain, no reconnect, goodbyes only over a live connection. */
const LEAVING: ReadonlySet<StopReason> = new Set(['parent-gone', 'run-changed', 'claim-lost']);

/**
 * The app settings for this worker: the JSON the core stored under CONFIG_KEY, else the schema's
 * defaults with FAV_DATA_DIR (or the platform data dir). A stored value that does not parse is an
 * error worth stopping for: it means a core of another version wrote it.
 */
export async function loadSettings(redis: Redis, env: NodeJS.ProcessEnv = process.env): Promise<{ settings: Config; source: string }> {
  const raw = await redis.get(CONFIG_KEY);
  if (raw !== null) {
    const parsed = ConfigSchema.safeParse(JSON.parse(raw));
    if (!parsed.success) {
      const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`);
      throw new Error(`settings in ${CONFIG_KEY} are invalid (${issues.join('; ')})`);
    }
    return { settings: parsed.data, source: CONFIG_KEY };
  }
  const dataDir = env.FAV_DATA_DIR || path.join(env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'free-agent-vtuber');
  return { settings: ConfigSchema.parse({ dataDir }), source: 'defaults' };
}

export async function runWorker(def: ServiceDefinition, config: WorkerConfig): Promise<number> {
  if (config.test.crashAtStart) {
    process.stderr.write(`${def.name}: FAV_TEST_CRASH_AT_START is set: simulated crash at start\n`);
    return ExitCode.testCrash;
  }
  const log = createWorkerLogger(def.name, config.instanceId, config.logLevel);
  const connect = (role: string) => createBusClient(config.redisUrl, { service: def.name, instance: config.instanceId, role, log });
  const cmd = connect('cmd');
  const sub = connect('sub');
  // Blocking connections join once the service says what it consumes (one per queue or stream).
  const all = [cmd, sub];
  let notice: string | undefined;
  // Never reconnect once the parent is gone: the next run's bus may be listening there by then.
  const parentAlive = parentAliveCheck();
  guardReconnects(all, parentAlive);
  const extraConnection = (role: string): Redis => {
    const r = connect(role);
    guardReconnects([r], parentAlive);
    all.push(r);
    return r;
  };
  const membership = new Membership(cmd, def.name, config.instanceId, config.heartbeatTtlMs, process.env.FAV_RUN_ID);
  let exitCode: number = ExitCode.ok;
  const ctx: WorkerContext = {
    service: def.name,
    instanceId: config.instanceId,
    redis: cmd,
    log,
    config,
    settings: ConfigSchema.parse({ dataDir: os.tmpdir() }),
    notify: (text) => {
      notice = text;
    },
    connect: (role) => extraConnection(role),
  };

  const consumers: Consumer[] = [];
  let service: ServiceInstance | undefined;
  const handled = () => consumers.reduce((n, c) => n + c.handled, 0);
  let heartbeat: NodeJS.Timeout | undefined;
  let stopReason: { reason: StopReason; detail: string } | undefined;
  let wake: () => void = () => undefined;
  const stopRequested = new Promise<void>((r) => (wake = r));

  const publish = async (state: StatusEvent['state'], detail?: string) => {
    const ev: StatusEvent = {
      service: def.name,
      instance: config.instanceId,
      pid: process.pid,
      state,
      ts: Date.now(),
      handled: handled(),
      ...(detail ? { detail } : {}),
    };
    try {
      await cmd.publish(Channels.status, JSON.stringify(ev));
    } catch (e) {
      log.warn({ err: (e as Error).message, state }, 'could not publish status');
    }
  };
  const beat = async () => {
    try {
      await cmd.set(heartbeatKey(config.instanceId), String(Date.now()), 'PX', config.heartbeatTtlMs);
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'could not refresh heartbeat key');
    }
  };

  const requestStop = (reason: StopReason, detail: string) => {
    if (LEAVING.has(reason)) cutOff(all);
    if (config.test.ignoreStop && !LEAVING.has(reason)) {
      log.warn({ reason, detail }, 'stop ignored (FAV_TEST_IGNORE_STOP)');
      return;
    }
    if (stopReason) return;
    stopReason = { reason, detail };
    log.info({ reason, detail }, 'stop requested');
    wake();
  };
  const unwatch = watchParent(requestStop);
  const checkMembership = async () => {
    const leave = await membership.check().catch((e: unknown) => void log.warn({ err: (e as Error).message }, 'could not check the run and claim'));
    if (!leave || stopReason) return;
    exitCode = leave.code;
    log.error({ reason: leave.reason }, leave.message);
    process.stderr.write(`${def.name}: ${leave.message}; leaving\n`);
    requestStop(leave.reason, leave.message);
  };

  const closeAll = async () => {
    // quit() waits for replies; with the bus gone it could wait forever, so bound it.
    await withTimeout(Promise.allSettled(all.map((r) => (r.status === 'ready' ? r.quit() : Promise.resolve('OK')))), 1000);
    for (const r of all) r.disconnect();
  };

  // A stop (or the parent's death) during initialisation ends it early instead of waiting on it.
  const stopDuringInit = stopRequested.then(() => {
    throw new Error(`stop requested during initialisation (${stopReason?.detail})`);
  });
  const initialise = async (): Promise<void> => {
    await Promise.all(all.map(connectBus));
    await membership.join();
    await publish('starting');
    const { settings, source } = await loadSettings(cmd);
    ctx.settings = settings;
    log.info({ settings: source }, 'settings loaded');
    service = await def.create(ctx);
    // A stop that came while the service was being built (the race below has given up on us): no
    // new connection may open now, it could reach the next run's bus at the same address.
    if (stopReason) {
      await dispose();
      throw new Error(`stop requested during initialisation (${stopReason.detail})`);
    }
    checkInputs({ name: def.name, inputs: service.inputs });
    // One blocking connection per queue or stream input: a blocked connection serves one command.
    const blockingConns: Redis[] = [];
    const blocking = () => {
      const r = extraConnection(`blocking${blockingConns.length}`);
      blockingConns.push(r);
      return r;
    };
    for (const input of service.inputs) {
      consumers.push(
        input.kind === 'queue'
          ? new QueueConsumer(ctx, blocking(), input)
          : input.kind === 'stream'
            ? new StreamConsumer(ctx, blocking(), input)
            : new ChannelConsumer(ctx, sub, input),
      );
    }
    await Promise.all(blockingConns.map(connectBus));
    for (const c of consumers) await c.open();
  };
  const dispose = async () => {
    const s = service;
    service = undefined;
    try {
      await s?.dispose?.();
    } catch (e) {
      log.error({ err: (e as Error).message }, 'dispose failed');
    }
  };
  const stopConsumers = (drainMs: number) => Promise.all(consumers.map((c) => c.stop(drainMs)));
  try {
    log.info({ redis: maskUrl(config.redisUrl), heartbeatMs: config.heartbeatMs }, 'starting');
    const init = initialise();
    // Once a stop has won the race, init's own end (an error included) is nobody's to report.
    init.catch(() => undefined);
    await Promise.race([init, stopDuringInit]);
    await beat();
    await publish('ready', notice);
    for (const c of consumers) c.serve();
    log.info('ready');
    heartbeat = setInterval(() => {
      void beat();
      void publish('heartbeat', notice);
      void checkMembership();
    }, config.heartbeatMs);
    // After a reconnect, check at once rather than at the next heartbeat.
    cmd.on('ready', () => void checkMembership());
  } catch (e) {
    if (stopReason) {
      log.info({ reason: stopReason.reason }, 'stopped during initialisation');
      unwatch();
      await stopConsumers(0);
      await dispose();
      await closeAll();
      return ExitCode.ok;
    }
    const leaving = e instanceof LeaveError;
    log.fatal({ err: (e as Error).message }, leaving ? 'refused to start' : 'initialisation failed');
    process.stderr.write(`${def.name}: ${leaving ? '' : 'initialisation failed: '}${maskUrl((e as Error).message)}\n`);
    unwatch();
    if (e instanceof LeaveError && e.reason === 'run-changed') cutOff(all);
    else await withTimeout(publish('error', (e as Error).message), 500);
    await dispose();
    await closeAll();
    return leaving ? e.code : ExitCode.failed;
  }

  await stopRequested;
  clearInterval(heartbeat);
  const leaving = LEAVING.has(stopReason!.reason);
  // Goodbyes (status, heartbeat key, claim) only to our own run, over a connection still up.
  const talk = () => stopReason!.reason !== 'run-changed' && cmd.status === 'ready';
  // Last resort: whatever hangs on the way out (a bus that vanished with our parent), the process
  // must not outlive its stop by much. unref: a clean shutdown exits before it fires.
  setTimeout(
    () => {
      process.stderr.write(`${def.name}: shutdown did not finish in time; exiting\n`);
      process.exit(ExitCode.failed);
    },
    leaving ? 3000 : config.drainMs + 5000,
  ).unref();
  if (talk()) await withTimeout(publish('stopping', stopReason?.reason), 1000);
  // Leaving: the job in flight is aborted (requeued if the bus is still there, else recovered by
  // the slot's next incarnation or the reaper).
  await stopConsumers(leaving ? 0 : config.drainMs);
  await dispose();
  if (talk()) {
    await withTimeout(cmd.del(heartbeatKey(config.instanceId)), 1000).catch(() => undefined);
    await withTimeout(membership.release(), 1000).catch(() => undefined);
    await withTimeout(publish('stopped', stopReason?.reason), 1000);
  }
  log.info({ handled: handled() }, 'stopped');
  unwatch();
  await closeAll();
  return exitCode;
}
