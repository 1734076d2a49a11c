/**
 * The speech sections' calls to the gateway (SettingsPaths tts* and speechModels): voice list and
 * preview, the sherpa-onnx model list and its actions. A failure is a SpeechApiError with the
 * core's stable `code` (the page translates it), its English message and fix as the fallback.
 */
import { SettingsPaths, type ProbeFailure, type SpeechModelView, type TtsPreviewRequest, type TtsVoicesView } from '../../shared/settings-api.js';
import { getToken } from '../voice/token.js';

export class SpeechApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly fix = '',
  ) {
    super(message);
    this.name = 'SpeechApiError';
  }
}

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const token = await getToken();
  if (!token) throw new SpeechApiError('no_token', 'this page has no studio token');
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  if (init.body) headers.set('content-type', 'application/json');
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers, cache: 'no-store' });
  } catch {
    throw new SpeechApiError('network', 'the core is not reachable');
  }
  if (res.ok) return res;
  const body = (await res.json().catch(() => undefined)) as Partial<ProbeFailure> | undefined;
  throw new SpeechApiError(body?.code ?? 'failed', body?.error ?? `${path} answered HTTP ${res.status}`, body?.fix ?? '');
}

export async function fetchVoices(): Promise<TtsVoicesView> {
  return (await (await call(SettingsPaths.ttsVoices)).json()) as TtsVoicesView;
}

export interface PreviewAudio {
  wav: ArrayBuffer;
  truncated: boolean;
}

export async function fetchPreview(req: TtsPreviewRequest): Promise<PreviewAudio> {
  const res = await call(SettingsPaths.ttsPreview, { method: 'POST', body: JSON.stringify(req) });
  return { wav: await res.arrayBuffer(), truncated: res.headers.get('x-truncated') === '1' };
}

type ModelAction = 'download' | 'cancel' | 'delete';

export async function fetchModels(): Promise<SpeechModelView[]> {
  return ((await (await call(SettingsPaths.speechModels)).json()) as { models: SpeechModelView[] }).models;
}

export async function modelAction(name: string, action: ModelAction): Promise<SpeechModelView[]> {
  const base = `${SettingsPaths.speechModels}/${encodeURIComponent(name)}`;
  const init: Record<ModelAction, [string, string]> = { download: [`${base}/download`, 'POST'], cancel: [`${base}/download`, 'DELETE'], delete: [base, 'DELETE'] };
  const [path, method] = init[action];
  return ((await (await call(path, { method })).json()) as { models: SpeechModelView[] }).models;
}

/** 1536000 -> "1.5 MB". */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(0)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}
