/**
 * The manager page's data: polls the gateway's manager routes (src/shared/manager-api.ts) with the
 * studio token, one poll at a time, every `intervalMs`: the services with their processes' CPU and
 * memory, the bus's queue and stream lengths, the last turns' timing marks. Answers are parsed at
 * this edge. Also the service actions (restart, stop, start). Errors carry a stable code for the page
 * to translate (`manager.errors.<code>`) and the core's English message as the fallback.
 */
import { computed, onBeforeUnmount, onMounted, readonly, ref, shallowRef } from 'vue';
import {
  BusLengthsResponseSchema,
  ManagerPaths,
  ManagerServicesResponseSchema,
  servicePath,
  TurnTimingsResponseSchema,
  type BusLength,
  type ManagerService,
  type TurnTiming,
} from '../../shared/manager-api.js';
import { StudioPaths } from '../../shared/renderer-api.js';
import { getToken } from '../voice/token.js';

export type ServiceAction = 'restart' | 'stop' | 'start';

export interface ManagerError {
  code: 'no_token' | 'unreachable' | 'refused';
  message: string;
}

const ACTION_PATHS: Record<ServiceAction, string> = {
  restart: StudioPaths.serviceRestart,
  stop: ManagerPaths.serviceStop,
  start: ManagerPaths.serviceStart,
};

class CallError extends Error {
  constructor(readonly info: ManagerError) {
    super(info.message);
  }
}

async function call(path: string, method: 'GET' | 'POST' = 'GET', signal?: AbortSignal): Promise<unknown> {
  const token = await getToken();
  if (!token) throw new CallError({ code: 'no_token', message: 'this page has no studio token: open the studio from the app or from the link `fav serve` prints' });
  let res: Response;
  try {
    res = await fetch(path, { method, signal, cache: 'no-store', headers: { accept: 'application/json', authorization: `Bearer ${token}` } });
  } catch {
    throw new CallError({ code: 'unreachable', message: 'the core is not reachable' });
  }
  const body = (await res.json().catch(() => undefined)) as { error?: unknown } | undefined;
  if (!res.ok) {
    const why = typeof body?.error === 'string' ? body.error : `HTTP ${res.status}`;
    throw new CallError({ code: 'refused', message: why });
  }
  return body;
}

const asError = (err: unknown): ManagerError =>
  err instanceof CallError ? err.info : { code: 'unreachable', message: err instanceof Error ? err.message : String(err) };

export function useManager(intervalMs = 2000) {
  const services = shallowRef<ManagerService[]>([]);
  const control = ref(false);
  const lengths = shallowRef<BusLength[]>([]);
  const busError = ref<string>();
  const turns = shallowRef<TurnTiming[]>([]);
  const error = ref<ManagerError>();
  /** Service name -> the action under way. */
  const busy = ref<Record<string, ServiceAction>>({});
  const actionError = ref<{ service: string; action: ServiceAction; error: ManagerError }>();

  let timer: ReturnType<typeof setTimeout> | undefined;
  let aborter: AbortController | undefined;
  let disposed = false;

  /** Polls now: a poll in flight is abandoned (its answer may predate an action just taken). */
  async function poll(): Promise<void> {
    clearTimeout(timer);
    aborter?.abort();
    const mine = (aborter = new AbortController());
    const signal = mine.signal;
    try {
      const [s, b, t] = await Promise.all([
        call(ManagerPaths.services, 'GET', signal),
        call(ManagerPaths.bus, 'GET', signal).catch((e: unknown) => ({ lengths: [], error: asError(e).message })),
        call(ManagerPaths.turns, 'GET', signal),
      ]);
      const sp = ManagerServicesResponseSchema.safeParse(s);
      const bp = BusLengthsResponseSchema.safeParse(b);
      const tp = TurnTimingsResponseSchema.safeParse(t);
      if (!sp.success || !bp.success || !tp.success) throw new CallError({ code: 'refused', message: 'the core answered the manager in an unexpected shape (another version?)' });
      services.value = sp.data.services;
      control.value = sp.data.control;
      lengths.value = bp.data.lengths;
      busError.value = bp.data.error;
      turns.value = tp.data.turns;
      error.value = undefined;
    } catch (err) {
      if (!disposed && !signal.aborted) error.value = asError(err);
    } finally {
      if (aborter === mine) {
        aborter = undefined;
        if (!disposed) timer = setTimeout(() => void poll(), intervalMs);
      }
    }
  }

  async function act(service: string, action: ServiceAction): Promise<void> {
    busy.value = { ...busy.value, [service]: action };
    actionError.value = undefined;
    try {
      await call(servicePath(ACTION_PATHS[action], service), 'POST');
    } catch (err) {
      actionError.value = { service, action, error: asError(err) };
    } finally {
      const { [service]: _done, ...rest } = busy.value;
      busy.value = rest;
      if (!disposed) void poll();
    }
  }

  onMounted(() => void poll());
  onBeforeUnmount(() => {
    disposed = true;
    clearTimeout(timer);
    aborter?.abort();
  });

  return {
    services: computed(() => services.value),
    control: readonly(control),
    lengths: computed(() => lengths.value),
    busError: readonly(busError),
    turns: computed(() => turns.value),
    error: readonly(error),
    busy: readonly(busy),
    actionError: readonly(actionError),
    act,
    refresh: poll,
  };
}
