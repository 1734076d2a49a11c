/**
 * Which language the studio (and the Electron shell) speaks: the user's choice when they made one, else the system's (the
 * browser's or Electron's `navigator.languages`, which follow the OS). Pure, so it is tested alone.
 */
export const LOCALES = ['en', 'zh-CN'] as const;
export type Locale = (typeof LOCALES)[number];

/** Shown in the language menu, each in its own language. */
export const LOCALE_NAMES: Record<Locale, string> = { en: 'English', 'zh-CN': '简体中文' };

export const FALLBACK_LOCALE: Locale = 'en';

function isLocale(v: unknown): v is Locale {
  return (LOCALES as readonly unknown[]).includes(v);
}

/** The first system language we have a catalogue for; Chinese of any region gets Simplified Chinese. */
export function pickLocale(stored: string | null | undefined, systemLanguages: readonly string[]): Locale {
  if (isLocale(stored)) return stored;
  for (const lang of systemLanguages) {
    const base = lang.toLowerCase().split(/[-_]/)[0];
    if (base === 'zh') return 'zh-CN';
    if (base === 'en') return 'en';
  }
  return FALLBACK_LOCALE;
}
