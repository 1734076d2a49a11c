/**
 * Every bus connection a worker opens (commands, blocking reads, subscriptions, a service's own
 * subscriber) comes from here, with the policy of src/shared/bus-client.ts: reconnect for ever
 * with a capped back-off, commands wait through a reconnect instead of failing after N retries
 * (the loops that issue them catch what fails), `CLIENT SETNAME service:instance:role`, errors
 * logged at most once per 5 s, and a refused password ends the connection with an error that
 * says how to fix it.
 */
import { Redis } from 'ioredis';
import { busAuthErrorMessage, busClientName, busReconnectDelay, isBusAuthError } from '../../shared/bus-client.js';
import { maskUrl } from './config.js';
import type { Logger } from './logger.js';

export interface BusClientOptions {
  service: string;
  instance: string;
  /** What the connection is for (cmd, sub, blocking0, recall-sub...), logged and part of its name. */
  role: string;
  log: Logger;
}

const authErrors = new WeakMap<Redis, Error>();

/** A lazily connecting client: open it with `connectBus` (which says why a refused password failed). */
export function createBusClient(url: string, o: BusClientOptions): Redis {
  const r: Redis = new Redis(url, {
    lazyConnect: true,
    connectionName: busClientName(o.service, o.instance, o.role),
    maxRetriesPerRequest: null,
    retryStrategy: (times: number): number | null => (authErrors.has(r) ? null : busReconnectDelay(times)),
  });
  let lastLogged = 0;
  r.on('error', (e: Error) => {
    if (!authErrors.has(r) && isBusAuthError(e.message)) {
      const err = new Error(busAuthErrorMessage(maskUrl(url), e.message));
      authErrors.set(r, err);
      o.log.error({ role: o.role, err: err.message }, 'bus refused the password');
      return;
    }
    // ioredis emits an error per failed reconnect: log at most one every 5 s.
    if (Date.now() - lastLogged > 5000) {
      lastLogged = Date.now();
      o.log.error({ role: o.role, err: e.message }, 'bus connection error');
    }
  });
  return r;
}

/** Connects a client of `createBusClient`; a refused password rejects with the message that names the fix. */
export async function connectBus(r: Redis): Promise<void> {
  try {
    await r.connect();
  } catch (e) {
    throw authErrors.get(r) ?? e;
  }
}
