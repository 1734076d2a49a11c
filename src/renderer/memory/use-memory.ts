/**
 * The memory view's state: the list (the search's results, or the newest a page at a time when the
 * query is empty, optionally of one subject), the subjects with their counts, the engine's status and the memories
 * the last reply of this page's session used. The status and the last reply are polled while the
 * page is shown; the list is reloaded after each change. Errors keep their code (the page
 * translates `memory.errors.<code>`) and the core's own words.
 */
import { onActivated, onBeforeUnmount, onDeactivated, onMounted, ref, shallowRef } from 'vue';
import type { LtmStatus, MemoryPatch } from '../../shared/long-term.js';
import type { LastReply, MemoryRecord, SubjectCount } from '../../shared/memory-api.js';
import { getSessionId } from '../voice/token.js';
import { memoryClient, MemoryApiError, type NewMemoryInput } from './memory-client.js';

export interface MemoryError {
  code: string;
  message: string;
  fix: string;
}

const asError = (err: unknown): MemoryError =>
  err instanceof MemoryApiError ? { code: err.code, message: err.message, fix: err.fix } : { code: 'refused', message: err instanceof Error ? err.message : String(err), fix: '' };

/** Memories listed at a time while nothing is searched. */
export const PAGE_SIZE = 100;

export function useMemory(pollMs = 2000) {
  const query = ref('');
  const subject = ref<string>();
  const memories = shallowRef<MemoryRecord[]>([]);
  const mode = ref<'vector' | 'keyword'>();
  /** How many there are to list (no search), when known. */
  const total = ref<number>();
  const subjects = shallowRef<SubjectCount[]>([]);
  const status = shallowRef<LtmStatus>();
  const last = shallowRef<LastReply | null>(null);
  const loading = ref(false);
  /** Why the list could not be loaded (the service not running, ...). */
  const error = ref<MemoryError>();
  /** Why the last action failed. */
  const actionError = ref<MemoryError>();
  const session = getSessionId();

  /** Only the latest search's answer counts: an older one may arrive after it. */
  let searchSeq = 0;
  async function reload(): Promise<void> {
    const mine = ++searchSeq;
    loading.value = true;
    try {
      const q = query.value.trim();
      const shown = Math.max(PAGE_SIZE, q === '' ? memories.value.length : 0);
      const [list, subs] = await Promise.all([q === '' ? memoryClient.list(subject.value, 0, Math.min(shown, 500)) : memoryClient.search(q, subject.value), memoryClient.subjects()]);
      if (mine !== searchSeq) return;
      memories.value = list.memories;
      mode.value = q === '' ? undefined : list.mode;
      total.value = q === '' ? list.total : undefined;
      subjects.value = subs;
      error.value = undefined;
    } catch (err) {
      if (mine === searchSeq) error.value = asError(err);
    } finally {
      if (mine === searchSeq) loading.value = false;
    }
  }

  /** The next page of the newest (no search). */
  async function more(): Promise<void> {
    const mine = ++searchSeq;
    loading.value = true;
    try {
      const page = await memoryClient.list(subject.value, memories.value.length, PAGE_SIZE);
      if (mine !== searchSeq) return;
      const seen = new Set(memories.value.map((m) => m.id));
      memories.value = [...memories.value, ...page.memories.filter((m) => !seen.has(m.id))];
      total.value = page.total;
    } catch (err) {
      if (mine === searchSeq) actionError.value = asError(err);
    } finally {
      if (mine === searchSeq) loading.value = false;
    }
  }

  let typing: ReturnType<typeof setTimeout> | undefined;
  /** A search as the query is typed (after a pause). */
  function searchSoon(): void {
    clearTimeout(typing);
    typing = setTimeout(() => void reload(), 300);
  }

  async function pollOnce(): Promise<void> {
    const [s, l] = await Promise.allSettled([memoryClient.status(), memoryClient.last(session)]);
    status.value = s.status === 'fulfilled' ? s.value : undefined;
    if (l.status === 'fulfilled') last.value = l.value;
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  let shown = false;
  async function poll(): Promise<void> {
    clearTimeout(timer);
    await pollOnce().catch(() => {});
    if (shown) timer = setTimeout(() => void poll(), pollMs);
  }
  const show = () => {
    if (shown) return;
    shown = true;
    void reload();
    void poll();
  };
  const hide = () => {
    shown = false;
    clearTimeout(timer);
  };
  onMounted(show);
  onActivated(show);
  onDeactivated(hide);
  onBeforeUnmount(() => {
    hide();
    clearTimeout(typing);
  });

  /** Runs a change, then reloads the list; false (and actionError) when it failed. */
  async function act(fn: () => Promise<unknown>): Promise<boolean> {
    actionError.value = undefined;
    try {
      await fn();
      return true;
    } catch (err) {
      actionError.value = asError(err);
      return false;
    } finally {
      await reload();
    }
  }

  return {
    query,
    subject,
    memories,
    mode,
    total,
    subjects,
    status,
    last,
    loading,
    error,
    actionError,
    session,
    reload,
    more,
    searchSoon,
    refreshStatus: poll,
    add: (m: NewMemoryInput) => act(() => memoryClient.add(m)),
    update: (id: number, patch: MemoryPatch) => act(() => memoryClient.update(id, patch)),
    remove: (id: number) => act(() => memoryClient.remove(id)),
    forget: (s: string) =>
      act(async () => {
        await memoryClient.forget(s);
        if (subject.value === s) subject.value = undefined;
      }),
    importFile: async (text: string, importMode: 'merge' | 'replace'): Promise<number | undefined> => {
      let added: number | undefined;
      const ok = await act(async () => (added = await memoryClient.importFile(text, importMode)));
      return ok ? added : undefined;
    },
    exportFile: async (): Promise<{ blob: Blob; name: string } | undefined> => {
      actionError.value = undefined;
      try {
        return await memoryClient.exportFile();
      } catch (err) {
        actionError.value = asError(err);
        return undefined;
      }
    },
  };
}

export type MemoryState = ReturnType<typeof useMemory>;
