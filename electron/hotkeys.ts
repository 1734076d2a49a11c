/**
 * Global hotkeys of the desktop app (settings `hotkeys`): they work while a game or OBS has the
 * focus. Mute, stop and skip go through the gateway's control API, as a Stream Deck's would, so the
 * studio page, the overlay and a deck all see one state. Push-to-talk is handed to the studio
 * page as its own key (the page's hotkey handler drives the mic): Electron's globalShortcut reports
 * presses only, never releases, so globally it is press to start and press again to stop.
 *
 * A key another program already holds (register returns false) or one Electron cannot take is
 * reported to the user once, with the setting to change; nothing is thrown and the other keys work.
 */
import { parseAccelerator, formatAccelerator } from '../src/shared/accelerator.js';
import type { Config } from '../src/shared/config.js';

/** The part of Electron's globalShortcut used here (a fake in the tests). */
export interface ShortcutApi {
  register(accelerator: string, callback: () => void): boolean;
  unregister(accelerator: string): void;
}

export interface HotkeyTargets {
  /** A control API command (mute, unmute, stop, skip, state) for the studio session. */
  control(command: string): Promise<{ ok: boolean; muted?: boolean; code?: string; error?: string }>;
  /** Press (down) or release (up) the push-to-talk key in the studio page. */
  pushToTalk(down: boolean): void;
  /** A hotkey could not be registered or did nothing: tell the user (not thrown). */
  report(message: string): void;
}

export interface HotkeyProblem {
  action: string;
  accelerator: string;
  reason: string;
}

export interface RegisteredHotkeys {
  problems: HotkeyProblem[];
  /** The accelerators now registered, by action. */
  registered: Record<string, string>;
  unregister(): void;
}

type Action = 'pushToTalk' | 'mute' | 'stop' | 'skip';
const ACTIONS: readonly Action[] = ['pushToTalk', 'mute', 'stop', 'skip'];

export function registerHotkeys(shortcuts: ShortcutApi, keys: Config['hotkeys'], targets: HotkeyTargets): RegisteredHotkeys {
  const problems: HotkeyProblem[] = [];
  const registered: Record<string, string> = {};
  let talking = false;

  const run = (command: string) =>
    targets.control(command).then(
      (r) => {
        if (!r.ok) targets.report(`The ${command} hotkey did not work: ${r.error ?? r.code ?? 'unknown error'}`);
        return r;
      },
      (err: Error) => {
        targets.report(`The ${command} hotkey did not work: ${err.message}`);
        return undefined;
      },
    );

  const handlers: Record<Action, () => void> = {
    pushToTalk() {
      talking = !talking;
      targets.pushToTalk(talking);
    },
    mute() {
      void run('state').then((s) => {
        if (s?.ok) void run(s.muted ? 'unmute' : 'mute');
      });
    },
    stop() {
      void run('stop');
    },
    skip() {
      void run('skip');
    },
  };

  for (const action of ACTIONS) {
    const text = keys[action];
    if (!text) continue;
    const parsed = parseAccelerator(text);
    if ('error' in parsed) {
      problems.push({ action, accelerator: text, reason: parsed.error });
      continue;
    }
    const accelerator = formatAccelerator(parsed);
    let ok = false;
    let why = 'another program (or another hotkey of this app) already uses it';
    try {
      ok = shortcuts.register(accelerator, handlers[action]);
    } catch (err) {
      why = (err as Error).message;
    }
    if (ok) registered[action] = accelerator;
    else problems.push({ action, accelerator, reason: why });
  }

  if (problems.length > 0) {
    const lines = problems.map((p) => `- ${p.action} (${p.accelerator}): ${p.reason}`);
    targets.report(`Some hotkeys could not be set up:\n${lines.join('\n')}\nChoose other keys under "hotkeys" in the settings; the others work.`);
  }

  return {
    problems,
    registered,
    unregister() {
      for (const accelerator of Object.values(registered)) shortcuts.unregister(accelerator);
      for (const k of Object.keys(registered)) delete registered[k];
    },
  };
}

/** The key event that presses or releases a hotkey in a page (webContents.sendInputEvent). */
export function keyEventFor(accelerator: string, down: boolean): { type: 'keyDown' | 'keyUp'; keyCode: string; modifiers: Array<'shift' | 'control' | 'alt' | 'meta'> } | undefined {
  const a = parseAccelerator(accelerator);
  if ('error' in a) return undefined;
  const modifiers: Array<'shift' | 'control' | 'alt' | 'meta'> = [];
  if (a.shift) modifiers.push('shift');
  if (a.ctrl || (a.cmdOrCtrl && process.platform !== 'darwin')) modifiers.push('control');
  if (a.meta || (a.cmdOrCtrl && process.platform === 'darwin')) modifiers.push('meta');
  if (a.alt) modifiers.push('alt');
  return { type: down ? 'keyDown' : 'keyUp', keyCode: a.key, modifiers };
}

/** A control API call on the app's own gateway, with its token. */
export async function controlRequest(gatewayUrl: string, token: string, command: string): Promise<{ ok: boolean; muted?: boolean; code?: string; error?: string }> {
  const res = await fetch(`${gatewayUrl}/api/control/${command}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{}',
  });
  return (await res.json()) as { ok: boolean; muted?: boolean; code?: string; error?: string };
}
