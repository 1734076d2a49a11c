/**
 * The memory view's calls to the gateway (src/shared/memory-api.ts), with the studio token. Answers
 * are parsed at this edge; a refusal throws MemoryApiError with the gateway's stable code, its
 * English error and the fix (the page translates the code, and shows the core's words as detail).
 */
import type { z } from 'zod';
import type { MemoryKind, MemoryPatch } from '../../shared/long-term.js';
import {
  Changed,
  LastReplyView,
  MemoryList,
  MemoryOne,
  MemoryPaths,
  MemoryStatusView,
  memoryPath,
  subjectPath,
  SubjectsView,
  type LastReply,
  type MemoryRecord,
  type SubjectCount,
} from '../../shared/memory-api.js';
import { getToken } from '../voice/token.js';

export class MemoryApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly fix = '',
  ) {
    super(message);
    this.name = 'MemoryApiError';
  }
}

async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const token = await getToken();
  if (!token) throw new MemoryApiError('no_token', 'this page has no studio token', 'open the studio from the app or from the link `fav serve` prints');
  let res: Response;
  try {
    res = await fetch(path, { cache: 'no-store', ...init, headers: { accept: 'application/json', authorization: `Bearer ${token}`, ...init.headers } });
  } catch {
    throw new MemoryApiError('unreachable', 'the core is not reachable', 'check that the app is running');
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => undefined)) as { code?: unknown; error?: unknown; fix?: unknown } | undefined;
    throw new MemoryApiError(
      typeof body?.code === 'string' ? body.code : 'refused',
      typeof body?.error === 'string' ? body.error : `${path} answered HTTP ${res.status}`,
      typeof body?.fix === 'string' ? body.fix : '',
    );
  }
  return res;
}

async function json<S extends z.ZodType>(schema: S, path: string, init: RequestInit = {}): Promise<z.infer<S>> {
  const res = await request(path, init);
  const parsed = schema.safeParse(await res.json().catch(() => undefined));
  if (!parsed.success) throw new MemoryApiError('refused', 'the core answered the memory view in an unexpected shape (another version?)', 'update the app');
  return parsed.data;
}

const send = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const query = (o: Record<string, string | number | undefined>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined) p.set(k, String(v));
  return p.toString();
};

export interface NewMemoryInput {
  text: string;
  subject: string;
  kind: MemoryKind;
  importance: number;
  pinned: boolean;
}

export const memoryClient = {
  status: () => json(MemoryStatusView, MemoryPaths.status),
  /** The hybrid search; '' lists the newest. */
  search: (q: string, subject?: string, limit = 100): Promise<MemoryList> => json(MemoryList, `${MemoryPaths.search}?${query({ q, subject, limit })}`),
  /** By newest, a page at a time. */
  list: (subject: string | undefined, offset: number, limit: number): Promise<MemoryList> => json(MemoryList, `${MemoryPaths.memories}?${query({ subject, offset, limit })}`),
  subjects: async (): Promise<SubjectCount[]> => (await json(SubjectsView, MemoryPaths.subjects)).subjects,
  add: async (m: NewMemoryInput): Promise<MemoryRecord> => (await json(MemoryOne, MemoryPaths.memories, send('POST', m))).memory,
  update: async (id: number, patch: MemoryPatch): Promise<MemoryRecord> => (await json(MemoryOne, memoryPath(id), send('PATCH', patch))).memory,
  remove: async (id: number): Promise<number> => (await json(Changed, memoryPath(id), { method: 'DELETE' })).changed,
  forget: async (subject: string): Promise<number> => (await json(Changed, subjectPath(subject), { method: 'DELETE' })).changed,
  /** The export file and the name the gateway gave it. */
  exportFile: async (): Promise<{ blob: Blob; name: string }> => {
    const res = await request(MemoryPaths.export);
    const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'fav-memories.json';
    return { blob: await res.blob(), name };
  },
  /** Imports a file's text; the number of memories added. */
  importFile: async (text: string, mode: 'merge' | 'replace'): Promise<number> =>
    (await json(Changed, `${MemoryPaths.import}?${query({ mode })}`, { method: 'POST', body: text, headers: { 'content-type': 'application/json' } })).changed,
  last: async (session: string): Promise<LastReply | null> => (await json(LastReplyView, `${MemoryPaths.last}?${query({ session })}`)).last,
};
