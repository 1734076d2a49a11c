/**
 * The memory view's routes (src/shared/memory-api.ts), every one token-guarded: search, list, add,
 * edit, delete, forget a subject, export and import, asked of the long-term-memory service over the
 * bus (long-term.ts LtmAdminRequest on fav:ltm:admin, through bus-ask.ts); and the memories the last
 * reply of a session used, kept by memory-feed.ts. When long-term-memory is not running the page is
 * told so at once (503, code ltm_not_running, with the fix), never left waiting.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { z } from 'zod';
import { LtmAdminReply, LtmChannels, MemoryExport, Subject, type LtmAdminRequest } from '../../shared/long-term.js';
import {
  AddMemoryBody,
  exportFileName,
  ImportQuery,
  MemoryListQuery,
  MemoryPaths,
  MemorySearchQuery,
  PatchMemoryBody,
  PersonaQuery,
  type Changed,
  type LastReplyView,
  type MemoryList,
  type SubjectsView,
} from '../../shared/memory-api.js';
import { STUDIO_SESSION } from '../../shared/session-api.js';
import { requireToken } from './auth.js';
import { BusAsk, type Asked } from './bus-ask.js';
import { MemoryFeed, type RecallObserver } from './memory-feed.js';

export interface MemoryRoutesOptions {
  /** The bus URL, password included. */
  busUrl: string;
  /** How long long-term-memory may take to answer, ms (an import of many memories embeds them all). */
  adminTimeoutMs?: number;
  /** Sessions whose last reply is kept (default 50). */
  sessions?: number;
  /** Largest import file, bytes (default 32 MiB). */
  importLimitBytes?: number;
  log?: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
}

type Failure = { code: string; error: string; fix: string };

function failure(reply: FastifyReply, status: number, f: Failure): FastifyReply {
  return reply.code(status).send({ ok: false, ...f });
}

const issues = (e: z.ZodError, root = '(body)') => e.issues.map((i) => `${i.path.join('.') || root}: ${i.message}`).join('; ');

function badRequest(reply: FastifyReply, e: z.ZodError, fix: string, root?: string): FastifyReply {
  return failure(reply, 400, { code: 'bad_request', error: issues(e, root), fix });
}

/** A question that got no answer: the service is not running, is too slow, or the bus is down. */
function unanswered(reply: FastifyReply, r: Exclude<Asked<unknown>, { status: 'ok' }>): FastifyReply {
  if (r.status === 'no_receiver') {
    return failure(reply, 503, {
      code: 'ltm_not_running',
      error: 'the long-term-memory service is not running',
      fix: 'start the long-term-memory service in the Manager, or read its error there',
    });
  }
  if (r.status === 'timeout') {
    return failure(reply, 504, { code: 'timeout', error: 'the long-term-memory service did not answer in time', fix: 'check the long-term-memory service in the Manager and try again' });
  }
  return failure(reply, 503, { code: 'bus_unreachable', error: `the bus cannot be reached: ${r.error ?? 'unknown error'}`, fix: 'check the bus settings and restart the app' });
}

/** HTTP status of long-term-memory's failure codes. */
const STATUS: Record<string, number> = { bad_request: 400, not_found: 404, busy: 409, store_failed: 500 };

type Op = LtmAdminRequest['op'];
type AskBody = Record<string, unknown> & { op: Op };

export function memoryPlugin(opts: MemoryRoutesOptions, token: string, turns?: RecallObserver) {
  const auth = requireToken(token);
  const timeoutMs = opts.adminTimeoutMs ?? 15_000;

  return async (app: FastifyInstance): Promise<void> => {
    const bus = new BusAsk(opts.busUrl, 'gateway-memory');
    const feed = new MemoryFeed({ busUrl: opts.busUrl, capacity: opts.sessions, log: opts.log, turns });
    app.addHook('onClose', async () => {
      await bus.close();
      await feed.close();
    });
    // Subscribed from the start: the view opened later still shows the reply before it.
    feed.start().catch((err: Error) => opts.log?.('warn', `memory view: not subscribed to memory updates (${err.message}); retried on the next request`));

    /** Asks long-term-memory; the reply when it succeeded, else the failure already sent. */
    const ask = async (reply: FastifyReply, body: AskBody): Promise<LtmAdminReply | undefined> => {
      const r = await bus.ask(LtmChannels.admin, body, { timeoutMs, reply: LtmAdminReply });
      if (r.status !== 'ok') {
        unanswered(reply, r);
        return undefined;
      }
      const a = r.reply;
      if (!a.ok) {
        failure(reply, STATUS[a.code ?? ''] ?? 500, { code: a.code ?? 'store_failed', error: a.error ?? `the memory ${body.op} failed`, fix: a.fix ?? 'see the long-term-memory log in the Manager' });
        return undefined;
      }
      return a;
    };

    app.get(MemoryPaths.status, { preHandler: auth }, async (_req, reply) => {
      const a = await ask(reply, { op: 'status' });
      if (!a) return reply;
      if (!a.status) return failure(reply, 502, { code: 'store_failed', error: 'long-term-memory answered without its status', fix: 'update the app: the service is of another version' });
      return a.status;
    });

    app.get(MemoryPaths.search, { preHandler: auth }, async (req, reply) => {
      const q = MemorySearchQuery.safeParse(req.query);
      if (!q.success) return badRequest(reply, q.error, 'send ?q= (up to 500 characters), and optionally subject, persona and limit (1 to 200)', '(query)');
      const { q: query, ...rest } = q.data;
      const a = await ask(reply, { op: 'search', query, ...rest });
      if (!a) return reply;
      return { memories: a.memories ?? [], ...(a.total !== undefined ? { total: a.total } : {}), ...(a.mode ? { mode: a.mode } : {}) } satisfies MemoryList;
    });

    app.get(MemoryPaths.memories, { preHandler: auth }, async (req, reply) => {
      const q = MemoryListQuery.safeParse(req.query);
      if (!q.success) return badRequest(reply, q.error, 'send optionally subject, persona, offset (0 or more) and limit (1 to 500)', '(query)');
      const a = await ask(reply, { op: 'list', ...q.data });
      if (!a) return reply;
      return { memories: a.memories ?? [], total: a.total ?? a.memories?.length ?? 0 } satisfies MemoryList;
    });

    app.post(MemoryPaths.memories, { preHandler: auth }, async (req, reply) => {
      const b = AddMemoryBody.safeParse(req.body ?? {});
      if (!b.success) return badRequest(reply, b.error, 'send {"text"} (1 to 500 characters) and optionally subject, kind, importance (0 to 1), pinned and persona');
      const { persona, ...memory } = b.data;
      const a = await ask(reply, { op: 'add', memory, ...(persona ? { persona } : {}) });
      if (!a) return reply;
      return reply.code(201).send({ memory: a.memory });
    });

    const idOf = (params: unknown): number | undefined => {
      const id = Number((params as { id?: string }).id);
      return Number.isInteger(id) && id > 0 ? id : undefined;
    };
    const badId = (reply: FastifyReply) => failure(reply, 400, { code: 'bad_request', error: 'the memory id must be a positive whole number', fix: 'use an id from the list' });

    app.patch(MemoryPaths.memory, { preHandler: auth }, async (req, reply) => {
      const id = idOf(req.params);
      if (id === undefined) return badId(reply);
      const b = PatchMemoryBody.safeParse(req.body ?? {});
      if (!b.success) return badRequest(reply, b.error, 'send any of text (1 to 500 characters), subject, kind, importance (0 to 1) and pinned');
      const a = await ask(reply, { op: 'update', id, patch: b.data });
      if (!a) return reply;
      return { memory: a.memory };
    });

    app.delete(MemoryPaths.memory, { preHandler: auth }, async (req, reply) => {
      const id = idOf(req.params);
      if (id === undefined) return badId(reply);
      const a = await ask(reply, { op: 'delete', id });
      if (!a) return reply;
      return { changed: a.changed ?? 0 } satisfies Changed;
    });

    app.get(MemoryPaths.subjects, { preHandler: auth }, async (req, reply) => {
      const q = PersonaQuery.safeParse(req.query);
      if (!q.success) return badRequest(reply, q.error, 'send optionally ?persona=<name>', '(query)');
      const a = await ask(reply, { op: 'subjects', ...q.data });
      if (!a) return reply;
      return { subjects: a.subjects ?? [] } satisfies SubjectsView;
    });

    app.delete(MemoryPaths.subject, { preHandler: auth }, async (req, reply) => {
      const s = Subject.safeParse((req.params as { subject?: string }).subject);
      if (!s.success) return badRequest(reply, s.error, "name the subject: streamer, avatar, world or viewer:<platform>:<user id>", '(subject)');
      const q = PersonaQuery.safeParse(req.query);
      if (!q.success) return badRequest(reply, q.error, 'send optionally ?persona=<name>', '(query)');
      const a = await ask(reply, { op: 'forget', subject: s.data, ...q.data });
      if (!a) return reply;
      return { changed: a.changed ?? 0 } satisfies Changed;
    });

    app.get(MemoryPaths.export, { preHandler: auth }, async (req, reply) => {
      const q = PersonaQuery.safeParse(req.query);
      if (!q.success) return badRequest(reply, q.error, 'send optionally ?persona=<name>', '(query)');
      const a = await ask(reply, { op: 'export', ...q.data });
      if (!a) return reply;
      if (!a.export) return failure(reply, 502, { code: 'store_failed', error: 'long-term-memory answered without the export', fix: 'update the app: the service is of another version' });
      return reply
        .type('application/json; charset=utf-8')
        .header('content-disposition', `attachment; filename="${exportFileName(a.export.exported_at, q.data.persona)}"`)
        .header('cache-control', 'no-store')
        .send(JSON.stringify(a.export, null, 2));
    });

    // The import reads its body as text: a file that is not JSON gets the same clear answer as one
    // that is JSON of the wrong shape, rather than fastify's parser error.
    app.register(async (scoped) => {
      scoped.removeContentTypeParser(['application/json', 'text/plain']);
      scoped.addContentTypeParser(['application/json', 'text/plain', 'application/octet-stream'], { parseAs: 'string', bodyLimit: opts.importLimitBytes ?? 32 * 1024 * 1024 }, (_req, body, done) =>
        done(null, body),
      );
      scoped.post(MemoryPaths.import, { preHandler: auth }, async (req, reply) => {
        const q = ImportQuery.safeParse(req.query);
        if (!q.success) return failure(reply, 400, { code: 'bad_request', error: `mode must be merge or replace, not '${String((req.query as { mode?: unknown }).mode)}'`, fix: 'send ?mode=merge (add to what is stored) or ?mode=replace' });
        const text = typeof req.body === 'string' ? req.body.replace(/^\uFEFF/, '') : '';
        if (text.trim() === '') return failure(reply, 400, { code: 'bad_file', error: 'the file is empty', fix: 'choose a file exported from the memory view (fav-memories-*.json)' });
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch (err) {
          return failure(reply, 400, { code: 'bad_file', error: `the file is not JSON (${(err as Error).message})`, fix: 'choose a file exported from the memory view (fav-memories-*.json)' });
        }
        const data = MemoryExport.safeParse(json);
        if (!data.success) {
          const shown = data.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`);
          const more = data.error.issues.length > 5 ? `; and ${data.error.issues.length - 5} more` : '';
          return failure(reply, 400, {
            code: 'bad_file',
            error: `the file is not a memory export: ${shown.join('; ')}${more}`,
            fix: 'choose a file exported from the memory view (format "fav-memories", version 1), or correct the fields named',
          });
        }
        const a = await ask(reply, { op: 'import', data: data.data, mode: q.data.mode });
        if (!a) return reply;
        return { changed: a.changed ?? 0 } satisfies Changed;
      });
    });

    app.get(MemoryPaths.last, { preHandler: auth }, async (req): Promise<LastReplyView> => {
      const session = (req.query as { session?: unknown }).session;
      await feed.start().catch(() => {});
      return { last: feed.last.get(typeof session === 'string' && session !== '' ? session : STUDIO_SESSION) ?? null };
    });
  };
}
