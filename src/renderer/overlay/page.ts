/**
 * What both OBS pages (the avatar overlay and the subtitles layer) share: the session socket as a
 * read-only view, and a plain notice for options that did not parse (the only thing either page
 * ever shows besides its content, so a typo in OBS's URL field is seen, not silently ignored).
 */
import { useSession, type SessionStore } from '../stores/session.js';

/** Shows `problems` in a box at the top left (and in the log); nothing when there are none. */
export function showProblems(problems: readonly string[]): void {
  if (problems.length === 0) return;
  for (const p of problems) console.warn(`[overlay] ${p}`);
  let box = document.getElementById('problems');
  if (!box) {
    box = document.createElement('div');
    box.id = 'problems';
    box.dataset.testid = 'problems';
    document.body.appendChild(box);
  }
  box.textContent = [box.textContent, ...problems].filter(Boolean).join('\n');
}

/** The page's session socket as a view (no token needed on this machine); `audio`: this page plays the reply. */
export function startView(audio: boolean): SessionStore {
  const session = useSession();
  void session.start({ role: 'view', audio });
  return session;
}

/** A read-only debug view for tests and the curious, like the studio's `window.__favVoice`. */
export function exposeDebug(name: '__favOverlay' | '__favSubtitles', view: unknown): void {
  (window as unknown as Record<string, unknown>)[name] = view;
}
