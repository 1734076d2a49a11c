/**
 * What the core's gateway answers to the studio page's status polls (`GET /health`,
 * `GET /api/services`), as schemas: the renderer parses these responses at its edge (a core of
 * another version must not break the page), and the gateway can type its answers from them.
 * Loose objects: fields added later pass through untouched. Imports nothing of ours.
 */
import { z } from 'zod';

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

/**
 * `GET /health`. The seed's published API only promises `{"status":"ok", ...}`; the studio also
 * reads `bus.kind` (the gateway also sends `bus.url` with credentials removed, and `bus.status`).
 */
export const HealthResponseSchema = z.looseObject({
  status: z.string().min(1),
  bus: z.looseObject({ kind: z.enum(BUS_KINDS) }).optional(),
});
export type HealthResponse = z.infer<typeof HealthResponseSchema>;
