/**
 * The props every settings field shares: the schema's message for its path, and, for a path fixed
 * by a FAV_* variable or a command-line flag, disabled with the reason as its hint.
 */
import { useI18n } from 'vue-i18n';
import type { SettingsStore } from '../stores/settings.js';

export interface FieldProps {
  'error-messages': string[];
  disabled: boolean;
  hint?: string;
  'persistent-hint': boolean;
  'data-field': string;
}

export function useFieldProps(store: SettingsStore): (path: string, hint?: string) => FieldProps {
  const { t } = useI18n();
  return (path, hint) => {
    const by = store.lockedBy(path);
    const message = store.issues.value[path];
    return {
      'error-messages': message ? [message] : [],
      disabled: by !== undefined,
      hint: by ? t(`settings.locked.${by}`) : hint,
      'persistent-hint': by !== undefined || hint !== undefined,
      'data-field': path,
    };
  };
}

/** '' from a cleared text field means "not set" (the default applies) for optional settings. */
export function optional(v: string | null | undefined): string | undefined {
  return v === null || v === undefined || v.trim() === '' ? undefined : v;
}
