/**
 * The OBS pages: `/overlay` (the avatar alone on a transparent page) and `/overlay/subtitles`, built
 * by the renderer as overlay.html and subtitles.html. They are read-only views of the session, so
 * like the view socket they need no token from this machine: OBS's browser source and the stream
 * window load them by URL alone. A request that comes from another machine, or from a web page of
 * another site (its `Origin`, or a browser's `Sec-Fetch-Site: cross-site` when a page embeds or
 * links the overlay), needs the token in the query, as `?token=` (the page's socket then uses it).
 * Sent with the studio's Content-Security-Policy as a header too (the pages also carry it as a <meta>).
 */
import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RENDERER_CSP, StudioPaths } from '../../shared/renderer-api.js';
import { tokenFromRequest, tokensEqual } from './auth.js';
import { isLoopbackAddress, isLoopbackOrigin } from './voice/access.js';

/** Route -> the built page it serves. */
export const OVERLAY_PAGES = {
  [StudioPaths.overlay]: 'overlay.html',
  [StudioPaths.subtitles]: 'subtitles.html',
} as const;

/** The built pages, which the static file server must not hand out past the check below. */
export function isOverlayFile(pathName: string): boolean {
  return Object.values(OVERLAY_PAGES).some((file) => pathName === `/${file}`);
}

/** Why `req` may not have an overlay page without the token, or undefined when it may. */
export function overlayRefusal(req: FastifyRequest, token: string): string | undefined {
  if (tokensEqual(tokenFromRequest(req), token)) return undefined;
  const fix = 'add ?token=<studio token> to the URL';
  if (!isLoopbackAddress(req.socket.remoteAddress)) {
    return `forbidden: without the studio token the overlay answers only programs on this machine (OBS on another machine: ${fix})`;
  }
  const origin = req.headers.origin;
  const fetchSite = req.headers['sec-fetch-site'];
  if (!isLoopbackOrigin(typeof origin === 'string' ? origin : undefined) || fetchSite === 'cross-site') {
    return `forbidden: a web page of another site may not open or embed the overlay without the studio token (${fix})`;
  }
  return undefined;
}

export function registerOverlayRoutes(app: FastifyInstance, rendererDir: string | undefined, token: string): void {
  for (const [route, file] of Object.entries(OVERLAY_PAGES)) {
    app.get(route, async (req: FastifyRequest, reply: FastifyReply) => {
      const refusal = overlayRefusal(req, token);
      if (refusal) return reply.code(403).send({ error: refusal });
      const page = rendererDir ? path.join(rendererDir, file) : undefined;
      if (!page || !existsSync(page)) {
        return reply.code(503).send({ error: `the overlay pages are not built (${file} is missing from ${rendererDir ?? 'the renderer output'}): run npm run build` });
      }
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('content-security-policy', RENDERER_CSP)
        .send(createReadStream(page));
    });
  }
}
