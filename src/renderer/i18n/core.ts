/**
 * The studio's translations (vue-i18n, Composition API), without the browser: the catalogues and
 * `translate()`. Catalogues are JSON files under `locales/<locale>/<namespace>.json`, compiled at
 * build time by @intlify/unplugin-vue-i18n; a key is `<namespace>.<path>`, e.g.
 * `t('settings.llm.title')`. Each area of the studio owns its namespace file in both languages;
 * test/renderer/i18n-catalogue.test.ts holds every locale to the English keys.
 * Which language is shown is the browser's business (index.ts); plain modules that only translate
 * import this file, so their logic runs and is tested in Node (in English).
 */
import { createI18n } from 'vue-i18n';
import { FALLBACK_LOCALE, LOCALES, type Locale } from '../../shared/locale.js';

type Catalogue = Record<string, unknown>;

const files = import.meta.glob<Catalogue>('./locales/*/*.json', { eager: true, import: 'default' });

/** `{ en: { talk: {...}, settings: {...} }, 'zh-CN': {...} }` from the file names. */
function catalogues(): Record<Locale, Catalogue> {
  const out = Object.fromEntries(LOCALES.map((l) => [l, {} as Catalogue])) as Record<Locale, Catalogue>;
  for (const [file, messages] of Object.entries(files)) {
    const m = /\/locales\/([^/]+)\/([^/]+)\.json$/.exec(file);
    if (!m || !(LOCALES as readonly string[]).includes(m[1])) continue;
    out[m[1] as Locale][m[2]] = messages;
  }
  return out;
}

export const i18n = createI18n({
  legacy: false,
  locale: FALLBACK_LOCALE,
  fallbackLocale: FALLBACK_LOCALE,
  messages: catalogues() as never,
  missingWarn: import.meta.env.DEV,
  fallbackWarn: false,
});

/**
 * The global composer, loosely typed: keys are checked against the catalogues by the catalogue test,
 * and vue-i18n's key types over runtime-loaded catalogues only make the type checker recurse.
 */
export const composer = i18n.global as unknown as {
  locale: { value: string };
  t(key: string, params?: Record<string, unknown>): string;
  te(key: string): boolean;
};

export function currentLocale(): Locale {
  return composer.locale.value as Locale;
}

/** For code outside components (stores, the overlay pages). */
export function translate(key: string, params?: Record<string, unknown>): string {
  return params ? composer.t(key, params) : composer.t(key);
}

/**
 * A message for an error the core sent with a code. In English, the core's own message: it is the
 * most precise (it names the URL, the limit, the fix). In another language, the catalogue's
 * `errors.<code>` when there is one (the caller shows the core's words as a detail), else the core's.
 */
export function errorMessage(code: string | undefined, fallback: string, params?: Record<string, unknown>): string {
  const key = `errors.${code ?? ''}`;
  if (currentLocale() === FALLBACK_LOCALE) return fallback;
  return code && composer.te(key) ? translate(key, params) : fallback;
}
