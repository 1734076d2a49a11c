/**
 * What the core's gateway answers to the studio page's status polls (`GET /health`,
 * `GET /api/services`), as schemas: the renderer parses these responses at its edge (a core of
 * another version must not break the page), and the gateway can type its answers from them.
 * Loose objects: fields added later pass through untouched. Imports nothing of ours but live-chat.ts.
 */
import { z } from 'zod';
import { ChatConnectionStatus } from './live-chat.js';

/** One running (or starting) process of a service, e.g. two `tts` instances sharing the queue. */
export const ServiceInstanceSchema = z.looseObject({
  pid: z.number().int().nullable().optional(),
  instanceId: z.string().optional(),
});
export type ServiceInstance = z.infer<typeof ServiceInstanceSchema>;

/** One service of the manifest. `state` is the supervisor's word for it (free text for the page). */
export const ServiceStatusSchema = z.looseObject({
  name: z.string().min(1),
  state: z.string().min(1),
  instances: z.array(ServiceInstanceSchema).default([]),
  restarts: z.number().int().nonnegative().default(0),
  /** What the service wants the user to know while it runs (not an error: it works). */
  notice: z.string().optional(),
});
export type ServiceStatus = z.infer<typeof ServiceStatusSchema>;

/** `GET /api/services` */
export const ServicesResponseSchema = z.looseObject({
  services: z.array(ServiceStatusSchema),
});
export type ServicesResponse = z.infer<typeof ServicesResponseSchema>;

/** Which bus the core runs on: its own embedded server, or a Redis the user pointed it at. */
export const BUS_KINDS = ['embedded', 'external'] as const;
export type BusKind = (typeof BUS_KINDS)[number];

/** The gateway's overall word: every service ready and the bus up, some not ready yet, or a failure. */
export const HEALTH_STATES = ['ok', 'degraded', 'error'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

/**
 * `GET /health` as this version's gateway sends it (the gateway types its answer with this; tests
 * hold the answer to it). `notices` holds what a running service wants the user to know, by
 * service (e.g. memory: a damaged database it salvaged, and where the old file is).
 */
export const HealthBodySchema = z.strictObject({
  status: z.enum(HEALTH_STATES),
  version: z.string(),
  uptime_s: z.number().int().nonnegative(),
  bus: z.strictObject({ kind: z.enum(BUS_KINDS), url: z.string(), status: z.enum(['ok', 'unreachable']) }),
  services: z.record(z.string(), z.string()),
  ready: z.string(),
  failed: z.array(z.string()).optional(),
  notices: z.record(z.string(), z.string()).optional(),
  connections: z.number().int().nonnegative(),
  /** Each live-chat connection's status as the live-chat service last stored it; [] when it does not run. */
  liveChat: z.array(ChatConnectionStatus),
});
export type HealthBody = z.infer<typeof HealthBodySchema>;

/**
 * `GET /health` as the studio page reads it: loose, so that a core of another version does not break
 * the page. The seed's published API only promises `{"status":"ok", ...}`; the studio also reads
 * `bus.kind` and `notices`.
 */
export const HealthResponseSchema = z.looseObject({
  status: z.string().min(1),
  bus: z.looseObject({ kind: z.enum(BUS_KINDS) }).optional(),
  notices: z.record(z.string(), z.string()).optional(),
});
export type HealthResponse = z.infer<typeof HealthResponseSchema>;
