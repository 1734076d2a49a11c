/**
 * The live log for the manager: the last records from GET /api/logs, then every new one from the
 * WebSocket /api/logs/stream (token in the query: a browser cannot set headers on a WebSocket),
 * reconnecting with a backoff when it drops. Keeps the newest `max` records; the page filters them
 * (lowest level, one service). Records are parsed at this edge; what does not parse is skipped.
 */
import { onBeforeUnmount, onMounted, readonly, ref, shallowRef } from 'vue';
import { z } from 'zod';
import { StudioPaths } from '../../shared/renderer-api.js';
import { getToken } from '../voice/token.js';

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type Level = (typeof LEVELS)[number];

export const LogLine = z.looseObject({
  seq: z.number(),
  ts: z.number(),
  service: z.string(),
  instance: z.string().optional(),
  level: z.enum(LEVELS),
  msg: z.string(),
});
export type LogLine = z.infer<typeof LogLine>;

/** Records at `level` or above, of `service` when one is given. */
export function filterLines(lines: readonly LogLine[], level: Level, service: string | undefined): LogLine[] {
  const min = LEVELS.indexOf(level);
  return lines.filter((l) => LEVELS.indexOf(l.level) >= min && (!service || l.service === service));
}

export type TailState = 'connecting' | 'live' | 'closed' | 'no_token';

export function useLogTail(max = 500) {
  const lines = shallowRef<LogLine[]>([]);
  const state = ref<TailState>('connecting');
  let socket: WebSocket | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let backoff = 500;
  let disposed = false;
  let lastSeq = -1;

  const add = (incoming: LogLine[]) => {
    const fresh = incoming.filter((l) => l.seq > lastSeq);
    if (fresh.length === 0) return;
    lastSeq = fresh[fresh.length - 1]!.seq;
    const next = lines.value.concat(fresh);
    lines.value = next.length > max ? next.slice(next.length - max) : next;
  };

  async function open(): Promise<void> {
    const token = await getToken();
    if (disposed) return;
    if (!token) {
      state.value = 'no_token';
      return;
    }
    state.value = 'connecting';
    const url = new URL(StudioPaths.logStream, window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('token', token);
    const ws = new WebSocket(url.toString());
    socket = ws;
    ws.onopen = async () => {
      backoff = 500;
      state.value = 'live';
      // The backlog after the stream is open, so nothing falls between the two (seq drops doubles).
      try {
        const res = await fetch(`${StudioPaths.logs}?n=${max}`, { cache: 'no-store', headers: { authorization: `Bearer ${token}` } });
        const body = (await res.json()) as { records?: unknown[] };
        const backlog = (body.records ?? []).flatMap((r) => {
          const p = LogLine.safeParse(r);
          return p.success ? [p.data] : [];
        });
        const live = lines.value.filter((l) => l.seq > (backlog.at(-1)?.seq ?? -1));
        lastSeq = -1;
        lines.value = [];
        add([...backlog, ...live].sort((a, b) => a.seq - b.seq));
      } catch {
        // The live stream still works; only the backlog is missing.
      }
    };
    ws.onmessage = (ev) => {
      try {
        const p = LogLine.safeParse(JSON.parse(String(ev.data)));
        if (p.success) add([p.data]);
      } catch {
        // not JSON: skipped
      }
    };
    ws.onclose = () => {
      if (socket !== ws || disposed) return;
      socket = undefined;
      state.value = 'closed';
      retry = setTimeout(() => void open(), backoff);
      backoff = Math.min(backoff * 2, 10_000);
    };
  }

  onMounted(() => void open());
  onBeforeUnmount(() => {
    disposed = true;
    clearTimeout(retry);
    socket?.close();
  });

  return { lines: readonly(lines), state: readonly(state) };
}
