/**
 * The language of a page: the user's choice (remembered in localStorage), `?lang=` in the address
 * (an OBS browser source has no menu), else the system's. Importing this module sets it, so each
 * page entry imports it before anything is shown. Translating itself is in core.ts.
 */
import { pickLocale, type Locale } from '../../shared/locale.js';
import { composer } from './core.js';

export { LOCALES, LOCALE_NAMES, type Locale } from '../../shared/locale.js';
export { currentLocale, errorMessage, i18n, translate } from './core.js';

const STORAGE_KEY = 'fav.locale';

function stored(): string | null {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled (OBS's browser source may run without it)
  }
}

function apply(locale: Locale): void {
  composer.locale.value = locale;
  document.documentElement.lang = locale;
}

apply(pickLocale(new URLSearchParams(window.location.search).get('lang') ?? stored(), navigator.languages ?? [navigator.language]));

/** Switches the language now and remembers the choice for the next start. */
export function setLocale(locale: Locale): void {
  apply(locale);
  try {
    window.localStorage.setItem(STORAGE_KEY, locale);
  } catch {
    // Not remembered; the switch still applies to this page.
  }
}
