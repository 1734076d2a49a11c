/**
 * The browser studio's page hotkeys (the desktop app also has global ones: electron/hotkeys.ts):
 * the configured accelerators (settings `hotkeys`, src/shared/accelerator.ts) on keydown / keyup
 * of the page (use-control.ts listens and feeds HotkeyRouter; this file has no DOM, so it is
 * unit-tested in Node). Push-to-talk reports press and release (hold to talk); the others fire once per
 * press (auto-repeat ignored). Keys typed into a text field are the user's text, never a hotkey.
 */
import { isKeyOf, matchesKey, parseAccelerator, type Accelerator, type KeyLike } from '../../shared/accelerator.js';

export const HOTKEY_ACTIONS = ['pushToTalk', 'mute', 'stop', 'skip'] as const;
export type HotkeyAction = (typeof HOTKEY_ACTIONS)[number];
export type HotkeyBindings = Partial<Record<HotkeyAction, string>>;

export interface HotkeyHandlers {
  /** Push-to-talk went down (`true`) or up (`false`). */
  pushToTalk(down: boolean): void;
  mute(): void;
  stop(): void;
  skip(): void;
}

interface KeyEventLike extends KeyLike {
  repeat: boolean;
  target: unknown;
  preventDefault(): void;
}

/** True when the key goes into something the user types in (a text field, an editable element). */
export function isTyping(target: unknown): boolean {
  const el = target as { tagName?: string; isContentEditable?: boolean; type?: string } | null;
  if (!el?.tagName) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName.toUpperCase();
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  // Buttons, checkboxes and the like take no text.
  return !['button', 'checkbox', 'radio', 'range', 'submit', 'reset', 'color', 'file'].includes((el.type ?? 'text').toLowerCase());
}

/** The bindings that parse ('' and bad ones are left out; the schema refused bad ones already). */
export function parseBindings(bindings: HotkeyBindings): Array<{ action: HotkeyAction; acc: Accelerator }> {
  const out: Array<{ action: HotkeyAction; acc: Accelerator }> = [];
  for (const action of HOTKEY_ACTIONS) {
    const text = bindings[action];
    if (!text) continue;
    const acc = parseAccelerator(text);
    if (!('error' in acc)) out.push({ action, acc });
  }
  return out;
}

/**
 * The keydown / keyup logic, without the DOM: feed it events, it calls the handlers. Push-to-talk
 * goes up on the release of its key, whatever modifiers were let go first, and when the page loses
 * focus while it is held (the release would never come).
 */
export class HotkeyRouter {
  private readonly keys: Array<{ action: HotkeyAction; acc: Accelerator }>;
  private talkHeld = false;

  constructor(
    bindings: HotkeyBindings,
    private readonly handlers: HotkeyHandlers,
    private readonly isMac = false,
  ) {
    this.keys = parseBindings(bindings);
  }

  keydown(ev: KeyEventLike): void {
    if (isTyping(ev.target)) return;
    const hit = this.keys.find((k) => matchesKey(k.acc, ev, this.isMac));
    if (!hit) return;
    ev.preventDefault();
    if (ev.repeat) return;
    if (hit.action === 'pushToTalk') {
      if (this.talkHeld) return;
      this.talkHeld = true;
      return this.handlers.pushToTalk(true);
    }
    this.handlers[hit.action]();
  }

  keyup(ev: Pick<KeyEventLike, 'key' | 'code'>): void {
    if (!this.talkHeld) return;
    const talk = this.keys.find((k) => k.action === 'pushToTalk');
    if (talk && isKeyOf(talk.acc, ev)) this.release();
  }

  /** The page lost focus: a held push-to-talk is released. */
  blur(): void {
    if (this.talkHeld) this.release();
  }

  private release(): void {
    this.talkHeld = false;
    this.handlers.pushToTalk(false);
  }
}
