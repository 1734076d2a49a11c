/**
 * The model library over HTTP (StudioPaths.models*): the list (no token: the OBS overlay reads it
 * from loopback, and the host guard keeps other sites' pages out), import of a zipped model, the
 * selection, per-model settings and deletion (token), and the files of imported models under
 * /models/<id>/ (built-in ones are part of the renderer build, served with it).
 *
 * An upload is checked for the token before its body is read (onRequest), so a client without one
 * cannot make the gateway buffer a large body.
 */
import { mkdirSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { ModelSettings, type ModelImportError } from '../../shared/models.js';
import { StudioPaths } from '../../shared/renderer-api.js';
import { formatBytes, ModelImportFailure, ModelNotFound, ModelRefused, type ModelLibrary } from '../models/index.js';
import { requireToken } from './auth.js';

export interface ModelsRoutesOptions {
  library: ModelLibrary;
  /** Largest upload accepted (bytes of the zip). */
  maxUploadBytes?: number;
  log?: (level: 'info' | 'warn', msg: string) => void;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 256 * 1024 * 1024;

/** What browsers and tools call a zip (Windows browsers say x-zip-compressed). */
const ZIP_TYPES = ['application/zip', 'application/x-zip-compressed', 'application/octet-stream'];

const SelectBody = z.object({ id: z.string().min(1) });
const IdParams = z.object({ id: z.string().min(1) });
const ImportQuery = z.object({ name: z.string().max(200).optional() });

function issues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
}

/** Library errors as HTTP answers; anything else goes to the gateway's error handler. */
function answer(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof ModelNotFound) return reply.code(404).send({ error: err.message });
  if (err instanceof ModelRefused) return reply.code(403).send({ error: err.message });
  if (err instanceof ModelImportFailure) {
    const body: ModelImportError = { error: `import refused: ${err.message}`, problems: err.problems };
    return reply.code(400).send(body);
  }
  throw err;
}

function notZip(reply: FastifyReply, contentType: string | undefined): FastifyReply {
  return reply.code(415).send({ error: `send the model as a .zip body with Content-Type: application/zip (got ${contentType ?? 'no Content-Type'})` });
}

export function modelsPlugin(opts: ModelsRoutesOptions, token: string) {
  const { library } = opts;
  const maxUpload = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const auth = requireToken(token);

  return async (app: FastifyInstance): Promise<void> => {
    app.addContentTypeParser(ZIP_TYPES, { parseAs: 'buffer', bodyLimit: maxUpload }, (_req, body, done) => done(null, body));

    app.setErrorHandler((err: FastifyError, req, reply) => {
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        const limit = formatBytes(maxUpload);
        const body: ModelImportError = { error: `import refused: the upload is larger than ${limit}`, problems: [{ file: '(upload)', message: `larger than the ${limit} a model zip may be` }] };
        return reply.code(413).send(body);
      }
      if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' && req.method === 'POST') return notZip(reply, req.headers['content-type']);
      const code = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
      return reply.code(code).send({ error: err.message });
    });

    app.get(StudioPaths.models, async () => library.list());

    app.post(StudioPaths.models, { onRequest: auth, bodyLimit: maxUpload }, async (req, reply) => {
      const q = ImportQuery.safeParse(req.query);
      // JSON and text bodies have parsers of their own at the gateway: anything but a buffer is no zip.
      if (!Buffer.isBuffer(req.body)) return notZip(reply, req.headers['content-type']);
      if (req.body.length === 0) {
        return reply.code(400).send({ error: 'import refused: the body is empty', problems: [{ file: '(upload)', message: 'send the zipped model as the request body' }] });
      }
      try {
        const info = library.importZip(new Uint8Array(req.body.buffer, req.body.byteOffset, req.body.byteLength), q.success ? q.data.name : undefined);
        return reply.code(201).send(info);
      } catch (err) {
        if (err instanceof ModelImportFailure) opts.log?.('warn', `model import refused: ${err.message}: ${err.problems.map((p) => `${p.file}: ${p.message}`).join('; ')}`);
        return answer(reply, err);
      }
    });

    app.put(StudioPaths.modelSelected, { preHandler: auth }, async (req, reply) => {
      const body = SelectBody.safeParse(req.body);
      if (!body.success) return reply.code(400).send({ error: `expected {"id": "<model id>"}: ${issues(body.error)}` });
      try {
        return library.select(body.data.id);
      } catch (err) {
        return answer(reply, err);
      }
    });

    app.put(StudioPaths.modelSettings, { preHandler: auth }, async (req, reply) => {
      const { id } = IdParams.parse(req.params);
      const body = ModelSettings.safeParse(req.body);
      if (!body.success) return reply.code(400).send({ error: `invalid model settings: ${issues(body.error)}` });
      try {
        return library.saveSettings(id, body.data);
      } catch (err) {
        return answer(reply, err);
      }
    });

    app.delete(StudioPaths.model, { preHandler: auth }, async (req, reply) => {
      const { id } = IdParams.parse(req.params);
      try {
        library.remove(id);
        opts.log?.('info', `model ${id} deleted`);
        return library.list();
      } catch (err) {
        return answer(reply, err);
      }
    });

    // Files of imported models only: the first segment must be an imported model's id; @fastify/static
    // refuses `..` and paths that resolve elsewhere; hidden staging folders are denied with dotfiles.
    mkdirSync(library.importedDir, { recursive: true });
    await app.register(fastifyStatic, {
      root: library.importedDir,
      prefix: StudioPaths.modelFiles,
      decorateReply: false,
      dotfiles: 'deny',
      index: false,
      // A model zip is someone else's content on the studio's origin: whatever it holds (an .html
      // with scripts) is never run as a page of that origin, nor sniffed into one.
      setHeaders: (reply) => {
        reply.header('content-security-policy', "default-src 'none'; sandbox");
        reply.header('x-content-type-options', 'nosniff');
      },
      allowedPath: (pathname) => {
        try {
          return library.isImported(decodeURIComponent(pathname.split('/').filter(Boolean)[0] ?? ''));
        } catch {
          return false; // a malformed %-escape
        }
      },
    });
  };
}
