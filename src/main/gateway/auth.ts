/**
 * The gateway token: control, config and log endpoints need it; the studio page, /health and the
 * read-only service list do not (the OBS overlay must work with no secret in its URL).
 * Accepted as `Authorization: Bearer <token>` (scheme in any case), `X-Fav-Token: <token>` or `?token=` (WebSockets,
 * where browsers cannot set headers).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const TOKEN_FILE = 'gateway-token';

/** The token kept in the data dir (mode 0600), created on first use, so bookmarks keep working. */
export function loadOrCreateToken(dataDir: string): string {
  const file = path.join(dataDir, TOKEN_FILE);
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{24,}$/.test(token)) return token;
  }
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  return token;
}

export function tokenFromRequest(req: FastifyRequest): string | undefined {
  // The scheme name is case-insensitive (RFC 7235 section 2.1): `bearer x` is as good as `Bearer x`.
  const bearer = /^bearer +(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (bearer) return bearer[1];
  const header = req.headers['x-fav-token'];
  if (typeof header === 'string') return header;
  const query = req.query as Record<string, unknown> | undefined;
  if (query && typeof query.token === 'string') return query.token;
  return undefined;
}

export function tokensEqual(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A preHandler that answers 401 unless the request carries the token. */
export function requireToken(expected: string) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!tokensEqual(tokenFromRequest(req), expected)) {
      await reply.code(401).send({ error: 'unauthorized: this endpoint needs the studio token (Authorization: Bearer <token>)' });
    }
  };
}
