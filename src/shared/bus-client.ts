/**
 * The one policy of every bus connection, for the two factories that apply it (the workers'
 * runtime and the core, which may not import each other). Pure data and functions, no client
 * library: src/shared is also compiled for the renderer, without Node's types.
 *
 * Reconnect: after a drop, try again at 200, 400, ... ms, then every 2 s, for as long as it takes
 * (the bus is local or a supervisor restarts it). A refused password is not retried: it cannot
 * get better, and each retry would log the same refusal again.
 */

export const BUS_RECONNECT_STEP_MS = 200;
export const BUS_RECONNECT_MAX_MS = 2000;

/** Delay before reconnect attempt `times` (1-based). */
export function busReconnectDelay(times: number): number {
  return Math.min(Math.max(1, times) * BUS_RECONNECT_STEP_MS, BUS_RECONNECT_MAX_MS);
}

/**
 * The CLIENT SETNAME of a connection: `service:instance[:role]`, so CLIENT LIST tells who holds
 * which connection. Redis refuses spaces and control characters in a name: those become '_'.
 */
export function busClientName(service: string, instance: string, role?: string): string {
  return [service, instance, role]
    .filter((p): p is string => !!p)
    .join(':')
    .replace(/[^\x21-\x7e]/g, '_');
}

/** True for the bus's refusals of the credentials (wrong or missing password). */
export function isBusAuthError(message: string): boolean {
  return /WRONGPASS|NOAUTH|invalid password|invalid username-password|without any password configured/i.test(message);
}

/** The error a refused password becomes (the bus's reply first); `maskedUrl` must already hide the password. */
export function busAuthErrorMessage(maskedUrl: string, reply: string): string {
  return (
    `${reply.trim()} (the bus at ${maskedUrl} refused the credentials: put the password it was started with ` +
    'in its URL, redis://:PASSWORD@host:port; FAV_REDIS_URL, or --redis for `fav worker`)'
  );
}
