/**
 * Where the page gets the gateway token and its session id.
 *  - In the Electron app the preload answers `window.fav.getToken()`.
 *  - In a browser tab the headless `fav serve` prints a URL with `#token=` (a fragment: never sent to
 *    a server nor written in its logs; `?token=` works too): it is read once, kept in
 *    sessionStorage (so a reload in that tab still works, and it never lands in the history or a
 *    bookmark), and removed from the address bar with history.replaceState.
 * The session id comes from `?session=` (kept the same way) and defaults to one shared studio
 * session, so the conversation survives a reload and other views (the overlay) can join it.
 */
const TOKEN_KEY = 'fav.token';
const SESSION_KEY = 'fav.session';
export const DEFAULT_SESSION = 'studio';
/** The token read from this page's URL (also kept in sessionStorage when that is available). */
let memo: string | undefined;

function storage(): Storage | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined; // storage disabled (some embedded browsers)
  }
}

/** Reads `token` and `session` from the address, stores them, and strips them from the address bar. */
function takeFromUrl(): void {
  const url = new URL(window.location.href);
  const fragment = new URLSearchParams(url.hash.replace(/^#/, ''));
  const token = fragment.get('token') ?? url.searchParams.get('token');
  const session = url.searchParams.get('session');
  if (token === null && session === null) return;
  if (fragment.has('token')) url.hash = '';
  if (token) storage()?.setItem(TOKEN_KEY, token);
  if (session) storage()?.setItem(SESSION_KEY, session);
  url.searchParams.delete('token');
  url.searchParams.delete('session');
  // Keep the session visible (it is no secret and makes a shared link reproducible), drop the token.
  if (session) url.searchParams.set('session', session);
  window.history.replaceState(window.history.state, '', url.toString());
  memo = token || memo;
}

export async function getToken(): Promise<string | undefined> {
  takeFromUrl();
  if (window.fav) {
    try {
      return await window.fav.getToken();
    } catch {
      // Fall through to a token given in the URL, if any.
    }
  }
  return memo ?? storage()?.getItem(TOKEN_KEY) ?? undefined;
}

export function getSessionId(): string {
  takeFromUrl();
  return storage()?.getItem(SESSION_KEY) || DEFAULT_SESSION;
}
