/**
 * Opens the setup page by itself on the first run (no settings.json yet), unless the address names
 * a page or the user skipped the wizard in this browser. Quick: asks the core with `detect=0`, so
 * no LLM server is probed until the page itself is shown.
 */
import { getToken } from '../voice/token.js';
import { getSetup } from './api.js';

export const SETUP_PAGE = 'setup';

const SKIPPED_KEY = 'fav.setup.skipped';

/** The user skipped the wizard in this browser: it does not open by itself again. */
export function setupSkipped(): boolean {
  try {
    return window.localStorage.getItem(SKIPPED_KEY) === '1';
  } catch {
    return false;
  }
}

export function rememberSkipped(): void {
  try {
    window.localStorage.setItem(SKIPPED_KEY, '1');
  } catch {
    // Not remembered: the wizard opens again next time, which is harmless.
  }
}

export async function openSetupOnFirstRun(show: (page: string) => void): Promise<boolean> {
  if (new URLSearchParams(window.location.search).has('view') || setupSkipped()) return false;
  // Without the token the question would only be refused (and logged as a failed request).
  if (!(await getToken())) return false;
  try {
    const state = await getSetup(false);
    if (!state.firstRun) return false;
  } catch {
    return false; // no token or an older core: the studio opens as usual
  }
  show(SETUP_PAGE);
  return true;
}
