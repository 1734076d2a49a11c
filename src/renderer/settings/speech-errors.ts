/**
 * A SpeechApiError in the page's language: the translated code when the catalogue has it (the
 * core's English message as the details), the translated fix when there is one, else the core's.
 */
import { SpeechApiError } from './speech-api.js';

type T = (key: string, params?: Record<string, unknown>) => string;
type Te = (key: string) => boolean;

export interface ShownError {
  code: string;
  title: string;
  details: string;
  fix: string;
}

export function showError(err: unknown, t: T, te: Te): ShownError {
  const e = err instanceof SpeechApiError ? err : new SpeechApiError('failed', err instanceof Error ? err.message : String(err));
  const title = te(`speech.errors.${e.code}`) ? t(`speech.errors.${e.code}`) : e.message;
  const fix = te(`speech.errors.fixes.${e.code}`) ? t(`speech.errors.fixes.${e.code}`) : e.fix;
  return { code: e.code, title, details: title === e.message ? '' : e.message, fix };
}
