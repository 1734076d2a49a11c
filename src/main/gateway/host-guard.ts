/**
 * DNS-rebinding guard: the gateway answers only requests whose `Host` names this machine's loopback
 * (`localhost`, `*.localhost`, `127.x.x.x`, `[::1]`), the address the user bound it to, or a host the
 * user listed in `gateway.allowedHosts`. A web page of another site can make a browser send requests
 * to 127.0.0.1 under its own name (evil.example resolving to 127.0.0.1), and the browser then lets
 * that page read the answers as same-origin; the `Host` header still carries the page's name, so it
 * is the one thing that tells such a request apart.
 *
 * The port is not compared: a browser always sends the port it connected to, so a page cannot
 * choose it, while a development proxy on this machine (the seed's Vite dev server on :5173
 * forwarding `/ws` and `/api`) forwards its own `localhost:5173`. Only the name carries the risk.
 */
import os from 'node:os';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const ALLOWED_HOSTS_SETTING = 'gateway.allowedHosts';

const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '[::]', '::0']);

/** The hostname of a Host header: lowercase, brackets kept for IPv6, no port, no trailing dot. */
export function hostnameOf(hostHeader: string): string | undefined {
  let url: URL;
  try {
    url = new URL(`http://${hostHeader}`);
  } catch {
    return undefined;
  }
  // `Host: a@b` or `Host: a/b` parse as something else than a plain authority: refuse them.
  if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return undefined;
  return url.hostname.replace(/\.$/, '');
}

export function isLoopbackHostname(name: string): boolean {
  return name === 'localhost' || name.endsWith('.localhost') || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** `host` as a Host header's hostname would spell it (IPv6 in brackets, lowercase). */
function normalise(host: string): string | undefined {
  const h = host.trim();
  if (h === '') return undefined;
  // A bare IPv6 address has several colons; `name:port` has one.
  const bareIpv6 = !h.startsWith('[') && (h.match(/:/g) ?? []).length > 1;
  return hostnameOf(bareIpv6 ? `[${h}]` : h);
}

/**
 * The names a request may carry besides loopback ones: the configured hosts and the bind address
 * (every address of this machine when bound to all of them, plus its hostname).
 */
export function extraAllowedHosts(bindHost: string, allowedHosts: readonly string[] = []): Set<string> {
  const names = new Set<string>();
  const add = (h: string) => {
    const n = normalise(h);
    if (n) names.add(n);
  };
  for (const h of allowedHosts) add(h);
  if (WILDCARD_BINDS.has(bindHost)) {
    for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) add(a.address.replace(/%.*$/, ''));
    add(os.hostname());
  } else {
    add(bindHost);
  }
  return names;
}

export interface HostGuardOptions {
  bindHost: string;
  allowedHosts?: readonly string[];
}

/** An onRequest hook that answers 421 to a request for a host the gateway does not serve. */
export function hostGuard(opts: HostGuardOptions) {
  const extra = extraAllowedHosts(opts.bindHost, opts.allowedHosts);
  const allowed = (name: string) => isLoopbackHostname(name) || extra.has(name);
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = req.headers.host;
    // No Host at all: an HTTP/1.0 program, never a browser, so no rebinding to fear.
    if (header === undefined) return;
    const name = hostnameOf(header);
    if (name !== undefined && allowed(name)) return;
    // A refused upgrade's socket belongs to no HTTP exchange any more: end it with the answer.
    if (req.headers.upgrade) {
      const socket = req.raw.socket;
      reply.raw.once('finish', () => socket.destroy());
      reply.header('connection', 'close');
    }
    await reply.code(421).send({
      error:
        `this gateway does not answer requests for host '${header.slice(0, 200)}' (a web page of another site may be ` +
        `trying to reach it through DNS rebinding); to reach it under that name, add it to ${ALLOWED_HOSTS_SETTING} ` +
        'in settings.json',
    });
  };
}
