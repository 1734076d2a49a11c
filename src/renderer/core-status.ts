/**
 * Polls the core's health and service list from the page's own origin (the gateway serves this
 * page), every `intervalMs`. One poll at a time: the next is scheduled when the previous settles,
 * so a slow core never piles up requests. Responses are parsed at this edge; a core that answers
 * with something unexpected is reported as such rather than rendered half-way.
 */
import { onBeforeUnmount, onMounted, readonly, ref, type InjectionKey, type Ref } from 'vue';
import { StudioPaths } from '../shared/renderer-api.js';
import { HealthResponseSchema, ServicesResponseSchema, type BusKind, type ServiceStatus } from '../shared/studio-status.js';

export type Connection = 'connecting' | 'online' | 'offline';

export interface CoreStatus {
  connection: Readonly<Ref<Connection>>;
  /** Why the core counts as unreachable (network error, HTTP status, bad payload). */
  error: Readonly<Ref<string | undefined>>;
  health: Readonly<Ref<string | undefined>>;
  busKind: Readonly<Ref<BusKind | undefined>>;
  services: Readonly<Ref<readonly ServiceStatus[]>>;
  lastUpdate: Readonly<Ref<Date | undefined>>;
}

/** The app's one poller, provided by App.vue to its pages (one poll loop however many pages read it). */
export const CORE_STATUS: InjectionKey<CoreStatus> = Symbol('core-status');

const REQUEST_TIMEOUT_MS = 1500;

async function getJson(path: string, signal: AbortSignal): Promise<unknown> {
  const res = await fetch(path, { signal, headers: { accept: 'application/json' }, cache: 'no-store' });
  if (!res.ok) throw new Error(`${path} answered HTTP ${res.status}`);
  return res.json();
}

function firstIssue(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}` : 'invalid';
}

function describe(err: unknown): string {
  if (err instanceof DOMException && err.name === 'TimeoutError') return 'the core did not answer in time';
  if (err instanceof TypeError) return 'the core is not reachable';
  return err instanceof Error ? err.message : String(err);
}

export function useCoreStatus(intervalMs = 2000): CoreStatus {
  const connection = ref<Connection>('connecting');
  const error = ref<string>();
  const health = ref<string>();
  const busKind = ref<BusKind>();
  const services = ref<ServiceStatus[]>([]);
  const lastUpdate = ref<Date>();

  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: AbortController | undefined;
  let disposed = false;

  async function poll(): Promise<void> {
    inFlight = new AbortController();
    const signal = AbortSignal.any([inFlight.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]);
    try {
      const [h, s] = await Promise.all([getJson(StudioPaths.health, signal), getJson(StudioPaths.services, signal)]);
      const healthParsed = HealthResponseSchema.safeParse(h);
      const servicesParsed = ServicesResponseSchema.safeParse(s);
      if (!healthParsed.success) throw new Error(`unexpected ${StudioPaths.health} answer: ${firstIssue(healthParsed.error)}`);
      if (!servicesParsed.success) throw new Error(`unexpected ${StudioPaths.services} answer: ${firstIssue(servicesParsed.error)}`);
      health.value = healthParsed.data.status;
      busKind.value = healthParsed.data.bus?.kind;
      services.value = servicesParsed.data.services;
      error.value = undefined;
      connection.value = 'online';
      lastUpdate.value = new Date();
    } catch (err) {
      if (disposed) return;
      connection.value = 'offline';
      error.value = describe(err);
    } finally {
      inFlight = undefined;
      if (!disposed) timer = setTimeout(() => void poll(), intervalMs);
    }
  }

  onMounted(() => void poll());
  onBeforeUnmount(() => {
    disposed = true;
    clearTimeout(timer);
    inFlight?.abort();
  });

  return {
    connection: readonly(connection),
    error: readonly(error),
    health: readonly(health),
    busKind: readonly(busKind),
    services: readonly(services) as Readonly<Ref<readonly ServiceStatus[]>>,
    lastUpdate: readonly(lastUpdate),
  };
}
