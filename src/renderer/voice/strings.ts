/**
 * The conversation panel's strings, read from the `talk` catalogue (src/renderer/i18n/locales/*\/talk.json)
 * in the current language each time they are read: a template that reads them re-renders when the
 * language changes. Messages stored earlier (an alert) keep the language they were made in.
 */
import { translate } from '../i18n/core.js';

const t = (key: string, params?: Record<string, unknown>) => translate(`talk.${key}`, params);

/** An object whose properties translate `talk.<prefix><name>` when read. */
function texts<K extends string>(prefix: string, keys: readonly K[]): Readonly<Record<K, string>> {
  const out = {} as Record<K, string>;
  for (const key of keys) Object.defineProperty(out, key, { get: () => t(prefix + key), enumerable: true });
  return out;
}

const PLAIN = [
  'title', 'empty', 'you', 'avatar', 'chat', 'interrupted', 'failed', 'typeHint', 'send', 'stop', 'stopHint',
  'micStart', 'micStop', 'micHold', 'micToggleMode', 'micPushMode', 'micLevel', 'micTitle', 'offlineTitle',
  'protocolTitle', 'messageTitle', 'mouth', 'emotion', 'audioBlocked', 'enableAudio', 'audioElsewhere', 'playHere',
  'micDenied', 'micNotFound', 'micBusy', 'micInsecure', 'micFailed', 'micLost', 'noToken', 'tokenRefused',
  'badSession', 'notConnected', 'protocolError',
] as const;

const extras = {
  states: texts('states.', ['idle', 'listening', 'thinking', 'speaking'] as const),
  connection: texts('connection.', ['connecting', 'open', 'closed', 'refused', 'notoken'] as const),
  tooLong: (length: number, max: number) => t('tooLong', { length, max }),
  disconnected: (seconds: number) => t('disconnected', { seconds }),
  errorTitle: (stage: string) => t('errorTitle', { stage }),
  emotionName: (emotion: string) => t(`emotions.${emotion}`),
  detail: (detail: string) => t('detail', { detail }),
};

/** Not a spread: that would read each getter once, in the language of the moment. */
export const STRINGS: Readonly<Record<(typeof PLAIN)[number], string>> & typeof extras = Object.freeze(
  Object.assign(texts('', PLAIN), extras),
);
