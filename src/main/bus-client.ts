/**
 * Every bus connection of the core (supervisor, gateway, health ping, settings, the external-Redis
 * check) comes from here, with the policy of src/shared/bus-client.ts, the twin of the workers'
 * runtime factory (the two sides may not import each other). Unlike a worker's, a core command
 * fails after `maxRetriesPerRequest` reconnect attempts (default 2) instead of waiting: an HTTP
 * request or a start-up step must answer, not hang on a bus that is gone.
 */
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { busAuthErrorMessage, busClientName, busReconnectDelay, isBusAuthError } from '../shared/bus-client.js';
import { redactUrl } from './config/load-config.js';

export interface CoreBusClientOptions {
  /** What the connection is for (supervisor, gateway, health...): its CLIENT SETNAME is core:<host>#<pid>:<role>. */
  role: string;
  /** One attempt: no reconnect, no offline queue (a check that must fail fast). */
  once?: boolean;
  /** Reconnect attempts a command waits through before it fails (default 2). */
  maxRetriesPerRequest?: number;
  /** Default 5000 ms. */
  connectTimeout?: number;
}

const authErrors = new WeakMap<Redis, Error>();
const failures = new WeakMap<Redis, Error>();

export function createCoreBusClient(url: string, o: CoreBusClientOptions): Redis {
  const r: Redis = new Redis(url, {
    lazyConnect: true,
    connectionName: busClientName('core', `${hostname()}#${process.pid}`, o.role),
    connectTimeout: o.connectTimeout ?? 5000,
    maxRetriesPerRequest: o.once ? 0 : (o.maxRetriesPerRequest ?? 2),
    ...(o.once ? { enableOfflineQueue: false } : {}),
    retryStrategy: (times: number): number | null => (o.once || authErrors.has(r) ? null : busReconnectDelay(times)),
  });
  r.on('error', (e: Error) => {
    if (!failures.has(r)) failures.set(r, e);
    if (!authErrors.has(r) && isBusAuthError(e.message)) authErrors.set(r, new Error(busAuthErrorMessage(redactUrl(url), e.message)));
  });
  return r;
}

/**
 * Connects a client of `createCoreBusClient`. ioredis rejects with a bare "Connection is closed.":
 * this rejects with the reason (the socket's error, or the refused password and its fix).
 */
export async function connectCoreBus(r: Redis): Promise<void> {
  try {
    await r.connect();
  } catch (e) {
    throw authErrors.get(r) ?? failures.get(r) ?? e;
  }
}
