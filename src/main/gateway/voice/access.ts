/**
 * Who may use the seed's endpoints (`/ws/input`, `/ws/output/{id}`, `POST /api/asr`,
 * `POST /control/stop`). The seed's clients know no token, so a request is let in when it either
 * carries the gateway token, or comes from this machine (a loopback address) and is not sent by a
 * web page of another site: browsers send `Origin` on WebSockets and on cross-site POSTs, and a page
 * from any site can reach 127.0.0.1, so an `Origin` that is not itself loopback (or is `null`, as
 * sandboxed frames send) needs the token. A gateway bound to another address (an explicit user
 * choice) therefore still needs the token from every other machine.
 */
import type { FastifyRequest } from 'fastify';
import { tokenFromRequest, tokensEqual } from '../auth.js';

export function isLoopbackAddress(ip: string | undefined): boolean {
  if (!ip) return false;
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return v4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** True for no Origin at all (non-browser clients) and for pages served from this machine. */
export function isLoopbackOrigin(origin: string | undefined): boolean {
  if (origin === undefined) return true;
  let host: string;
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    host = url.hostname;
  } catch {
    return false; // 'null' and garbage
  }
  return host === 'localhost' || host === '[::1]' || isLoopbackAddress(host);
}

export function seedAccessAllowed(req: FastifyRequest, token: string): boolean {
  if (tokensEqual(tokenFromRequest(req), token)) return true;
  const origin = req.headers.origin;
  return isLoopbackAddress(req.socket.remoteAddress) && isLoopbackOrigin(typeof origin === 'string' ? origin : undefined);
}

export const SEED_UNAUTHORIZED =
  'unauthorized: without the studio token (Authorization: Bearer <token> or ?token=) this endpoint only answers programs on this machine, not web pages of other sites';
