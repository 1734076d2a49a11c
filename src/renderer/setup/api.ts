/**
 * The first-run page's calls to the core (src/shared/settings-api.ts), with the studio token. Every
 * failure becomes a SetupCallError with a stable code the page translates and the core's (English)
 * message as the fallback; an endpoint this core does not serve yet (404) says so plainly.
 */
import {
  SettingsPaths,
  type LlmModelsResult,
  type LlmProbe,
  type LlmTestResult,
  type SaveResult,
  type SettingsPatch,
  type SettingsRejection,
  type SetupState,
  type TtsPreviewRequest,
  type TtsVoicesView,
} from '../../shared/settings-api.js';
import { getToken } from '../voice/token.js';

export class SetupCallError extends Error {
  constructor(
    message: string,
    /** missing_endpoint | unauthorized | rejected | http | offline */
    readonly code: string,
    readonly issues: SettingsRejection['issues'] = [],
  ) {
    super(message);
    this.name = 'SetupCallError';
  }
}

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const token = await getToken();
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  if (init.body !== undefined && typeof init.body === 'string') headers.set('content-type', 'application/json');
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers, cache: 'no-store' });
  } catch (err) {
    throw new SetupCallError(`the core is not reachable (${(err as Error).message})`, 'offline');
  }
  if (res.ok) return res;
  const body = (await res.json().catch(() => ({}))) as Partial<SettingsRejection> & { fix?: string };
  if (res.status === 401) throw new SetupCallError(body.error ?? 'unauthorized', 'unauthorized');
  if (res.status === 404 && /^not found/.test(body.error ?? '')) throw new SetupCallError(`${path} is not served by this core`, 'missing_endpoint');
  if (res.status === 400 && Array.isArray(body.issues)) throw new SetupCallError(body.error ?? 'rejected', 'rejected', body.issues);
  const message = body.error ?? `${path} answered HTTP ${res.status}`;
  throw new SetupCallError(body.fix ? `${message}: ${body.fix}` : message, 'http');
}

async function json<T>(path: string, init?: RequestInit): Promise<T> {
  return (await (await call(path, init)).json()) as T;
}

export function getSetup(detect = true): Promise<SetupState> {
  return json<SetupState>(`${SettingsPaths.setup}?detect=${detect ? 1 : 0}`);
}

export function listLlmModels(probe: LlmProbe): Promise<LlmModelsResult> {
  return json<LlmModelsResult>(SettingsPaths.llmModels, { method: 'POST', body: JSON.stringify(probe) });
}

export function testLlm(probe: LlmProbe): Promise<LlmTestResult> {
  return json<LlmTestResult>(SettingsPaths.llmTest, { method: 'POST', body: JSON.stringify(probe) });
}

export function saveSettings(patch: SettingsPatch): Promise<SaveResult> {
  return json<SaveResult>(SettingsPaths.settings, { method: 'PUT', body: JSON.stringify(patch) });
}

export async function restartServices(services: string[]): Promise<void> {
  if (services.length > 0) await call(SettingsPaths.restart, { method: 'POST', body: JSON.stringify({ services }) });
}

/** Each engine's voices, default voice and what it needs to run, from the tts service. */
export async function ttsVoices(): Promise<TtsVoicesView['engines']> {
  return (await json<TtsVoicesView>(SettingsPaths.ttsVoices)).engines;
}

/** A WAV of `text` in that voice (settings unsaved). Bytes, not a blob URL: the CSP allows no blob: media. */
export async function ttsPreview(req: TtsPreviewRequest): Promise<ArrayBuffer> {
  return (await call(SettingsPaths.ttsPreview, { method: 'POST', body: JSON.stringify(req) })).arrayBuffer();
}
