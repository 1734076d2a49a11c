/**
 * Secrets inside a settings array: each live-chat connection's `token` (a Twitch OAuth token, a
 * Bilibili cookie). SECRET_PATHS names fixed paths; these live at `liveChat.connections[i].token`,
 * and a connection is known by its `id`, so the view names them `liveChat.connections.<id>.token`.
 * Same rules as the fixed ones but for the view: left out of it (not blanked), kept when a save leaves
 * them out, '' clears.
 */
import { getPath, isPlainObject, type Tree } from './patch.js';

export const CONNECTIONS_PATH = 'liveChat.connections';

export function connectionSecretPath(id: string): string {
  return `${CONNECTIONS_PATH}.${id}.token`;
}

function connectionsOf(tree: Tree): Tree[] {
  const list = getPath(tree, CONNECTIONS_PATH);
  return Array.isArray(list) ? list.filter(isPlainObject) : [];
}

/**
 * Takes every connection token out of `tree` (changed in place); returns the paths of those that were
 * set. Left out rather than blanked: the connections array is saved whole, and a connection sent back
 * without its token keeps the stored one (an '' would clear it).
 */
export function maskConnectionTokens(tree: Tree): string[] {
  const set: string[] = [];
  for (const c of connectionsOf(tree)) {
    if (typeof c.token === 'string' && c.token !== '') set.push(connectionSecretPath(String(c.id)));
    delete c.token;
  }
  return set;
}

/**
 * A patch's connections with the stored tokens put back where the patch left `token` out (same id in
 * the settings file), and '' removed (cleared). Changes `patch` in place; a patch without the
 * connections array is left alone.
 */
export function keepConnectionTokens(patch: Tree, file: Tree): void {
  const list = getPath(patch, CONNECTIONS_PATH);
  if (!Array.isArray(list)) return;
  const stored = new Map(connectionsOf(file).map((c) => [c.id, c.token]));
  for (const c of list) {
    if (!isPlainObject(c)) continue;
    if (!('token' in c) || c.token === undefined) {
      const token = stored.get(c.id);
      if (typeof token === 'string' && token !== '') c.token = token;
    } else if (c.token === '' || c.token === null) delete c.token;
  }
}
