/**
 * The studio's memory view over HTTP (the page <-> the gateway): paths, query and body schemas, and
 * what each route answers. The gateway asks the long-term-memory service over the bus (long-term.ts
 * LtmAdminRequest on fav:ltm:admin) and keeps, per session, the memories the last reply used (from
 * memory_updates). Every route needs the studio token: memories are private.
 * Every failure is `{ ok: false, code, error, fix }`: a stable code the page translates, the English
 * error and the fix. Imports nothing of ours but its siblings in src/shared.
 */
import { z } from 'zod';
import { LtmStatus, MemoryExport, MemoryKind, MemoryPatch, MemoryRecord, NewMemory, RecallInfo, RecalledMemory, Subject } from './long-term.js';

export const MemoryPaths = {
  /** GET: LtmStatus (the engine, download and re-embed progress, counts, extraction mode). */
  status: '/api/memory/status',
  /** GET ?q=&subject=&persona=&limit=: MemoryList, the same hybrid query a turn's recall uses ('' lists newest). */
  search: '/api/memory/search',
  /** GET ?subject=&persona=&offset=&limit=: MemoryList by newest. POST AddMemoryBody: { memory }. */
  memories: '/api/memory/memories',
  /** PATCH MemoryPatch: { memory }. DELETE: { changed }. */
  memory: '/api/memory/memories/:id',
  /** GET ?persona=: SubjectsView. */
  subjects: '/api/memory/subjects',
  /** DELETE ?persona=: forgets every memory about the subject, { changed }. */
  subject: '/api/memory/subjects/:subject',
  /** GET ?persona=: a MemoryExport JSON file (Content-Disposition: attachment). */
  export: '/api/memory/export',
  /** POST ?mode=merge|replace, the body a MemoryExport JSON file: { changed }, the memories added. */
  import: '/api/memory/import',
  /** GET ?session= (default the studio's): LastReplyView, the memories the session's last reply used. */
  last: '/api/memory/last',
} as const;

export const memoryPath = (id: number): string => MemoryPaths.memory.replace(':id', String(id));
export const subjectPath = (subject: string): string => MemoryPaths.subject.replace(':subject', encodeURIComponent(subject));

const persona = z.string().trim().min(1).max(100).optional();

export const MemorySearchQuery = z.object({
  q: z.string().max(500).default(''),
  subject: Subject.optional(),
  persona,
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type MemorySearchQuery = z.infer<typeof MemorySearchQuery>;

export const MemoryListQuery = z.object({
  subject: Subject.optional(),
  persona,
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type MemoryListQuery = z.infer<typeof MemoryListQuery>;

export const PersonaQuery = z.object({ persona });

export const AddMemoryBody = NewMemory.extend({ persona });
export type AddMemoryBody = z.input<typeof AddMemoryBody>;

export const PatchMemoryBody = MemoryPatch.refine((p) => Object.keys(p).length > 0, { message: 'say what to change: text, subject, kind, importance or pinned' });

export const ImportQuery = z.object({ mode: z.enum(['merge', 'replace']).default('merge') });

/** search and list. `mode`: how a search ran (vector: hybrid; keyword: keyword only). */
export const MemoryList = z.object({
  memories: z.array(MemoryRecord),
  total: z.number().int().nonnegative().optional(),
  mode: z.enum(['vector', 'keyword']).optional(),
});
export type MemoryList = z.infer<typeof MemoryList>;

export const SubjectCount = z.object({ subject: Subject, subject_name: z.string().optional(), count: z.number().int().nonnegative() });
export type SubjectCount = z.infer<typeof SubjectCount>;
export const SubjectsView = z.object({ subjects: z.array(SubjectCount) });
export type SubjectsView = z.infer<typeof SubjectsView>;

export const MemoryOne = z.object({ memory: MemoryRecord });
export const Changed = z.object({ changed: z.number().int().nonnegative() });
export type Changed = z.infer<typeof Changed>;

export const MemoryStatusView = LtmStatus;
export type MemoryStatusView = LtmStatus;

/** The memories a session's last reply was given, and how its recall went. */
export const LastReply = z.object({
  session_id: z.string(),
  turn_id: z.string(),
  memories: z.array(RecalledMemory),
  recall: RecallInfo.optional(),
  /** When the gateway saw the context (epoch ms). */
  at: z.number(),
});
export type LastReply = z.infer<typeof LastReply>;
/** `last` is null until the session has had a reply since the gateway started. */
export const LastReplyView = z.object({ last: LastReply.nullable() });
export type LastReplyView = z.infer<typeof LastReplyView>;

export const MEMORY_ERROR_CODES = ['ltm_not_running', 'timeout', 'bus_unreachable', 'bad_request', 'bad_file', 'not_found', 'store_failed', 'busy'] as const;
export type MemoryErrorCode = (typeof MEMORY_ERROR_CODES)[number];

export const MemoryFailure = z.object({ ok: z.literal(false), code: z.string(), error: z.string(), fix: z.string() });
export type MemoryFailure = z.infer<typeof MemoryFailure>;

/** The export file's name for a download on `at` (epoch ms). */
export function exportFileName(at: number, personaName?: string): string {
  const day = new Date(at).toISOString().slice(0, 10);
  const who = personaName ? `-${personaName.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40)}` : '';
  return `fav-memories${who}-${day}.json`;
}

/** A viewer subject's platform and user id; undefined for the built-in subjects. */
export function viewerOf(subject: string): { platform: string; userId: string } | undefined {
  const m = /^viewer:([a-z]+):(.+)$/.exec(subject);
  return m ? { platform: m[1]!, userId: m[2]! } : undefined;
}

export { MemoryExport, MemoryKind, MemoryRecord };
