/**
 * The studio page's side of stream control: the page hotkeys (hotkeys.ts) bound to the talk panel,
 * with the keys and the push-to-talk mode from the settings (GET /api/control/state). Mute and skip
 * go through the control API, so a deck, a hotkey and the page agree on one state: the page mutes
 * when the gateway's `mic_mute` comes back (use-talk.ts obeys it).
 */
import { onBeforeUnmount, onMounted, ref } from 'vue';
import { HotkeyRouter, type HotkeyBindings, type HotkeyHandlers } from './hotkeys.js';
import { getSessionId, getToken } from './token.js';
import type { useTalk } from './use-talk.js';

type Talk = ReturnType<typeof useTalk>;

interface ControlState {
  ok: boolean;
  muted?: boolean;
  hotkeys?: HotkeyBindings & { pushToTalkMode?: boolean };
  code?: string;
  error?: string;
}

/** One control API call with the page's token; the answer's JSON ({ ok, ... } or { ok: false, code, error }). */
export async function controlCall(command: string, body: Record<string, unknown> = {}): Promise<ControlState> {
  const token = await getToken();
  if (!token) return { ok: false, code: 'unauthorized', error: 'this page has no studio token' };
  try {
    const res = await fetch(`/api/control/${command}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ session: getSessionId(), ...body }),
      cache: 'no-store',
    });
    return (await res.json()) as ControlState;
  } catch (err) {
    return { ok: false, code: 'offline', error: (err as Error).message };
  }
}

/** Listens on the window until the returned function is called. */
function installHotkeys(win: Window, bindings: HotkeyBindings, handlers: HotkeyHandlers): () => void {
  const router = new HotkeyRouter(bindings, handlers, /Mac|iPhone|iPad/.test(win.navigator.platform ?? ''));
  const down = (e: KeyboardEvent) => router.keydown(e);
  const up = (e: KeyboardEvent) => router.keyup(e);
  const blur = () => router.blur();
  win.addEventListener('keydown', down);
  win.addEventListener('keyup', up);
  win.addEventListener('blur', blur);
  return () => {
    win.removeEventListener('keydown', down);
    win.removeEventListener('keyup', up);
    win.removeEventListener('blur', blur);
  };
}

export function useControl(talk: Talk) {
  const hotkeys = ref<HotkeyBindings>({});
  let uninstall: (() => void) | undefined;
  let disposed = false;

  const handlers = {
    pushToTalk(down: boolean) {
      if (talk.micMode.value === 'push') void (down ? talk.startMic() : talk.stopMic());
      else if (down) void talk.toggleMic();
    },
    mute() {
      void controlCall(talk.muted.value ? 'unmute' : 'mute');
    },
    stop() {
      talk.stop();
    },
    skip() {
      void controlCall('skip');
    },
  };

  onMounted(async () => {
    const state = await controlCall('state');
    if (disposed || !state.ok) return;
    // A page opened (or reloaded) while the session is muted stays muted.
    if (state.muted) talk.setMuted(true);
    if (!state.hotkeys) return;
    const { pushToTalkMode, ...keys } = state.hotkeys;
    hotkeys.value = keys;
    if (pushToTalkMode) talk.micMode.value = 'push';
    uninstall = installHotkeys(window, keys, handlers);
  });

  onBeforeUnmount(() => {
    disposed = true;
    uninstall?.();
  });

  return { hotkeys };
}
