/** What a service declares to the runtime, and what its handlers get. */
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import type { ServiceName } from '../../shared/bus.js';
import { serviceInputs, type Payload, type Topic } from '../../shared/contract.js';
import type { Config } from '../../shared/config.js';
import type { WorkerConfig } from './config.js';
import type { Logger } from './logger.js';

export interface WorkerContext {
  service: ServiceName;
  instanceId: string;
  /** Command connection (publish, push, sets). Never used for blocking commands. */
  redis: Redis;
  log: Logger;
  /** Process settings (bus URL, instance id, timings). */
  config: WorkerConfig;
  /**
   * The app's settings (engines, LLM, persona, limits), read from the bus key CONFIG_KEY at start,
   * or the schema's defaults (plus FAV_DATA_DIR) when no studio has published one.
   */
  settings: Config;
  /**
   * Something the user should know while the service runs (it works, but e.g. its database was
   * damaged and salvaged); undefined clears it. Sent as `detail` of the ready and heartbeat status
   * events, which the supervisor shows in /health and the studio.
   */
  notify(notice: string | undefined): void;
  /**
   * Another bus connection (not yet connected) for a service that needs one of its own (a
   * subscriber for replies): it never reconnects once the worker's core is gone, and is closed with
   * the worker's own.
   */
  connect(role: string): Redis;
}

/** Per job: the worker context plus an AbortSignal that fires when the job must give up. */
export interface JobContext extends WorkerContext {
  signal: AbortSignal;
}

export interface QueueInput<S extends z.ZodType = z.ZodType> {
  kind: 'queue';
  queue: string;
  schema: S;
  /**
   * Tasks handled at once by one instance (default 1). Above 1, the consumer takes the next task
   * while fewer than this many run; each is still acked only when its handler completes.
   */
  concurrency?: number;
  handle(msg: z.infer<S>, job: JobContext): Promise<void>;
}

export interface ChannelInput<S extends z.ZodType = z.ZodType> {
  kind: 'channel';
  /** Channels to SUBSCRIBE. */
  channels?: string[];
  /** Glob patterns to PSUBSCRIBE (e.g. `task_response:*`); `channel` is then the matching channel. */
  patterns?: string[];
  schema: S;
  /**
   * false (default): one message at a time in arrival order. true: each message is handled as it
   * arrives, beside the ones in flight (control channels that must act while a long job runs).
   */
  concurrent?: boolean;
  handle(msg: z.infer<S>, job: JobContext, channel: string): Promise<void>;
}

export interface StreamInput<S extends z.ZodType = z.ZodType> {
  kind: 'stream';
  stream: string;
  group: string;
  /** Entries carry one field `msg` with the JSON payload. */
  schema: S;
  handle(msg: z.infer<S>, job: JobContext, entryId: string): Promise<void>;
}

export type ServiceInputSpec = QueueInput | ChannelInput | StreamInput;

/** One running service: what it consumes and how it lets go of what it holds. */
export interface ServiceInstance {
  /** What the service consumes; each queue or stream gets its own blocking connection. */
  inputs: ServiceInputSpec[];
  /** Runs after the inputs are drained and closed (close files, free models). */
  dispose?(): Promise<void> | void;
}

/**
 * A service: its name, and how to build one from the worker's context (settings loaded, bus
 * connected). Everything the service holds lives in what `create` returns, never in module state,
 * so two instances in one process (tests) or a re-created one do not share anything.
 */
export interface ServiceDefinition {
  name: ServiceName;
  /** Loads models, opens files; throws to fail the start with that message. */
  create(ctx: WorkerContext): Promise<ServiceInstance> | ServiceInstance;
}

/**
 * Inputs are declared by naming a topic of the contract table (src/shared/contract.ts): the schema
 * comes from the table and the handler sees the topic's message type.
 */
export function queueInput<T extends Topic<'queue'>>(i: { topic: T; concurrency?: number; handle(msg: Payload<T>, job: JobContext): Promise<void> }): QueueInput {
  return { kind: 'queue', queue: i.topic.name, schema: i.topic.schema, concurrency: i.concurrency, handle: i.handle };
}

export function channelInput<T extends Topic<'channel' | 'pattern'>>(i: {
  topic: T;
  concurrent?: boolean;
  handle(msg: Payload<T>, job: JobContext, channel: string): Promise<void>;
}): ChannelInput {
  const names = i.topic.kind === 'pattern' ? { patterns: [i.topic.name] } : { channels: [i.topic.name] };
  return { kind: 'channel', ...names, schema: i.topic.schema, concurrent: i.concurrent, handle: i.handle };
}

export function streamInput<T extends Topic<'stream'>>(i: { topic: T; group: string; handle(msg: Payload<T>, job: JobContext, entryId: string): Promise<void> }): StreamInput {
  return { kind: 'stream', stream: i.topic.name, group: i.group, schema: i.topic.schema, handle: i.handle };
}

/** The bus names a definition's inputs read, as `kind name`. */
function inputNames(inputs: readonly ServiceInputSpec[]): string[] {
  return inputs.flatMap((i) => {
    if (i.kind === 'queue') return [`queue ${i.queue}`];
    if (i.kind === 'stream') return [`stream ${i.stream}`];
    return [...(i.channels ?? []).map((c) => `channel ${c}`), ...(i.patterns ?? []).map((p) => `pattern ${p}`)];
  });
}

/**
 * Throws when a definition's inputs are not what the contract table says the service consumes:
 * the supervisor reaps and the docs describe the table, so the two must not drift apart.
 */
export function checkInputs(def: { name: ServiceName; inputs: readonly ServiceInputSpec[] }): void {
  const declared = inputNames(def.inputs).sort();
  const expected = serviceInputs(def.name)
    .map((i) => `${i.kind} ${i.name}`)
    .sort();
  if (declared.join('|') === expected.join('|')) return;
  const missing = expected.filter((n) => !declared.includes(n));
  const extra = declared.filter((n) => !expected.includes(n));
  throw new Error(
    `service ${def.name}: its inputs differ from the contract table (src/shared/contract.ts)` +
      (missing.length ? `; not consumed: ${missing.join(', ')}` : '') +
      (extra.length ? `; not listed as a consumer: ${extra.join(', ')}` : '') +
      ': fix the table\'s consumers or the service\'s inputs',
  );
}

/** An opened input: the runtime starts it after init and stops it on shutdown. */
export interface Consumer {
  /** Prepares: requeue leftovers, create the group, subscribe. Resolves when ready to serve. */
  open(): Promise<void>;
  /** Starts taking work (after 'ready' is published). */
  serve(): void;
  /** Stops taking new work, waits for the job in flight up to drainMs, then aborts it. */
  stop(drainMs: number): Promise<void>;
  readonly handled: number;
}
