/**
 * Hotkeys as accelerator strings ("F8", "CommandOrControl+Shift+M"), the grammar Electron's
 * globalShortcut takes, so one setting drives both the desktop app's global shortcuts and the
 * browser studio's page hotkeys. `parseAccelerator` checks a string and names the fix; `matchesKey`
 * says whether a browser key event is that hotkey. Pure: no DOM, no Electron.
 * Imports nothing of the project.
 */

export interface Accelerator {
  /** Canonical key name, as Electron spells it ("F8", "A", "1", "Space", "Up"). */
  key: string;
  ctrl: boolean;
  alt: boolean;
  shift: boolean;
  meta: boolean;
  /** CommandOrControl: Command on macOS, Control elsewhere (resolved when matching). */
  cmdOrCtrl: boolean;
}

/** The parts of a KeyboardEvent the matcher reads. */
export interface KeyLike {
  key: string;
  code: string;
  ctrlKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
  metaKey: boolean;
}

type Modifier = 'ctrl' | 'alt' | 'shift' | 'meta' | 'cmdOrCtrl';

const MODIFIERS: Record<string, Modifier> = {
  command: 'meta',
  cmd: 'meta',
  super: 'meta',
  meta: 'meta',
  control: 'ctrl',
  ctrl: 'ctrl',
  commandorcontrol: 'cmdOrCtrl',
  cmdorctrl: 'cmdOrCtrl',
  alt: 'alt',
  option: 'alt',
  shift: 'shift',
};

/** Named keys: Electron's name -> the KeyboardEvent.code (or codes) it stands for. */
const NAMED: Record<string, readonly string[]> = {
  Space: ['Space'],
  Tab: ['Tab'],
  Backspace: ['Backspace'],
  Delete: ['Delete'],
  Insert: ['Insert'],
  Enter: ['Enter', 'NumpadEnter'],
  Escape: ['Escape'],
  Up: ['ArrowUp'],
  Down: ['ArrowDown'],
  Left: ['ArrowLeft'],
  Right: ['ArrowRight'],
  Home: ['Home'],
  End: ['End'],
  PageUp: ['PageUp'],
  PageDown: ['PageDown'],
  Pause: ['Pause'],
  ScrollLock: ['ScrollLock'],
  PrintScreen: ['PrintScreen'],
};

/** Other spellings Electron accepts for the same key. */
const ALIASES: Record<string, string> = { return: 'Enter', esc: 'Escape', scrolllock: 'ScrollLock', pageup: 'PageUp', pagedown: 'PageDown', printscreen: 'PrintScreen' };

const FUNCTION_KEY = /^f([1-9]|1[0-9]|2[0-4])$/i;

/** The canonical key name of a token, or undefined when it is not a key this app can match. */
function keyName(token: string): string | undefined {
  if (FUNCTION_KEY.test(token)) return token.toUpperCase();
  if (/^[a-z]$/i.test(token)) return token.toUpperCase();
  if (/^[0-9]$/.test(token)) return token;
  const lower = token.toLowerCase();
  if (ALIASES[lower]) return ALIASES[lower];
  return Object.keys(NAMED).find((k) => k.toLowerCase() === lower);
}

const HINT = 'use modifiers (CommandOrControl, Control, Alt, Shift, Super) and one key (F1-F24, A-Z, 0-9, Space, Tab, Enter, arrows Up/Down/Left/Right, Home, End, PageUp, PageDown, Insert, Delete, Pause), joined by "+", e.g. "F8" or "CommandOrControl+Shift+M"';

/** Parses an accelerator; `{ error }` says what is wrong and how to write it. */
export function parseAccelerator(text: string): Accelerator | { error: string } {
  const raw = text.trim();
  if (!raw) return { error: `empty hotkey: ${HINT}` };
  const tokens = raw.split('+').map((t) => t.trim());
  if (tokens.some((t) => t === '')) return { error: `"${raw}" has an empty part: ${HINT}` };
  const acc: Accelerator = { key: '', ctrl: false, alt: false, shift: false, meta: false, cmdOrCtrl: false };
  const last = tokens[tokens.length - 1]!;
  for (const token of tokens.slice(0, -1)) {
    const mod = MODIFIERS[token.toLowerCase()];
    if (!mod) return { error: `"${raw}": "${token}" is not a modifier (only the last part is the key); ${HINT}` };
    acc[mod] = true;
  }
  const key = keyName(last);
  if (!key) {
    const why = MODIFIERS[last.toLowerCase()] ? 'has no key after its modifiers' : `: "${last}" is not a key this app knows;`;
    return { error: `"${raw}" ${why} ${HINT}` };
  }
  acc.key = key;
  return acc;
}

/** Canonical text of an accelerator (what Electron's globalShortcut is given). */
export function formatAccelerator(a: Accelerator): string {
  const parts: string[] = [];
  if (a.cmdOrCtrl) parts.push('CommandOrControl');
  if (a.ctrl) parts.push('Control');
  if (a.meta) parts.push('Super');
  if (a.alt) parts.push('Alt');
  if (a.shift) parts.push('Shift');
  parts.push(a.key);
  return parts.join('+');
}

/** The KeyboardEvent.code values a key name stands for. */
function codesOf(key: string): readonly string[] {
  if (/^[A-Z]$/.test(key)) return [`Key${key}`];
  if (/^[0-9]$/.test(key)) return [`Digit${key}`, `Numpad${key}`];
  if (FUNCTION_KEY.test(key)) return [key];
  return NAMED[key] ?? [];
}

/**
 * Whether a key event is this hotkey: the key by its physical code (so Shift or a keyboard layout
 * does not change "A" into "a" or another letter), the modifiers exactly.
 */
export function matchesKey(a: Accelerator, ev: KeyLike, isMac = false): boolean {
  const ctrl = a.ctrl || (a.cmdOrCtrl && !isMac);
  const meta = a.meta || (a.cmdOrCtrl && isMac);
  if (ev.ctrlKey !== ctrl || ev.metaKey !== meta || ev.altKey !== a.alt || ev.shiftKey !== a.shift) return false;
  const codes = codesOf(a.key);
  return codes.includes(ev.code) || (FUNCTION_KEY.test(a.key) && ev.key === a.key);
}

/** Whether the key event is (also) the release of this hotkey's key, whatever the modifiers now are. */
export function isKeyOf(a: Accelerator, ev: Pick<KeyLike, 'key' | 'code'>): boolean {
  return codesOf(a.key).includes(ev.code) || (FUNCTION_KEY.test(a.key) && ev.key === a.key);
}
