/**
 * The desktop app's global hotkeys (electron/hotkeys.ts) on a recording stand-in for Electron's
 * globalShortcut: every configured key registered in its canonical form, a key another program
 * holds reported once (not thrown) while the others work, each key's action, and unregistering.
 */
import { describe, expect, it } from 'vitest';
import { keyEventFor, registerHotkeys, type ShortcutApi } from '../../electron/hotkeys.js';
import { ConfigSchema } from '../../src/shared/config.js';

function shortcuts(taken: string[] = []) {
  const callbacks = new Map<string, () => void>();
  const api: ShortcutApi & { callbacks: typeof callbacks; unregistered: string[] } = {
    callbacks,
    unregistered: [],
    register(accelerator, cb) {
      if (taken.includes(accelerator) || callbacks.has(accelerator)) return false;
      callbacks.set(accelerator, cb);
      return true;
    },
    unregister(accelerator) {
      api.unregistered.push(accelerator);
      callbacks.delete(accelerator);
    },
  };
  return api;
}
const keys = (hotkeys: Record<string, unknown> = {}) => ConfigSchema.parse({ dataDir: '/tmp/x', hotkeys }).hotkeys;
const flush = () => new Promise((r) => setTimeout(r, 0));

describe('global hotkeys', () => {
  it('registers the configured keys; a key already taken is reported once with the setting to change, the rest work', () => {
    const api = shortcuts(['F10']);
    const reports: string[] = [];
    const r = registerHotkeys(api, keys({ mute: 'ctrl+shift+m', skip: '' }), { control: async () => ({ ok: true }), pushToTalk: () => {}, report: (m) => reports.push(m) });
    expect(r.registered).toEqual({ pushToTalk: 'F8', mute: 'Control+Shift+M' });
    expect(r.problems).toEqual([{ action: 'stop', accelerator: 'F10', reason: expect.stringMatching(/already uses it/) }]);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatch(/stop \(F10\).*\n.*"hotkeys" in the settings/s);
    r.unregister();
    expect(api.unregistered.sort()).toEqual(['Control+Shift+M', 'F8']);
    expect(api.callbacks.size).toBe(0);
  });

  it('an exception from Electron (a key it cannot take) is a problem, not a crash', () => {
    const api = shortcuts();
    api.register = () => {
      throw new Error('conversion failure');
    };
    const reports: string[] = [];
    const r = registerHotkeys(api, keys(), { control: async () => ({ ok: true }), pushToTalk: () => {}, report: (m) => reports.push(m) });
    expect(r.problems.map((p) => [p.action, p.reason])).toEqual(['pushToTalk', 'mute', 'stop', 'skip'].map((a) => [a, 'conversion failure']));
    expect(reports).toHaveLength(1);
  });

  it('stop and skip call the control API; mute toggles from the current state; push-to-talk presses, then releases', async () => {
    const api = shortcuts();
    const calls: string[] = [];
    let muted = false;
    const talk: boolean[] = [];
    const reports: string[] = [];
    registerHotkeys(api, keys(), {
      async control(command) {
        calls.push(command);
        if (command === 'mute' || command === 'unmute') muted = command === 'mute';
        if (command === 'skip') return { ok: false, code: 'bus_unavailable', error: 'the pipeline is unreachable' };
        return { ok: true, muted };
      },
      pushToTalk: (down) => talk.push(down),
      report: (m) => reports.push(m),
    });
    for (const k of ['F9', 'F9', 'F10', 'F7', 'F8', 'F8']) {
      api.callbacks.get(k)!();
      await flush();
      await flush();
    }
    expect(calls).toEqual(['state', 'mute', 'state', 'unmute', 'stop', 'skip']);
    expect(talk).toEqual([true, false]);
    expect(reports).toEqual(['The skip hotkey did not work: the pipeline is unreachable']);
  });

  it('turns an accelerator into the page key event that stands for it', () => {
    expect(keyEventFor('F8', true)).toEqual({ type: 'keyDown', keyCode: 'F8', modifiers: [] });
    expect(keyEventFor('Shift+Alt+T', false)).toEqual({ type: 'keyUp', keyCode: 'T', modifiers: ['shift', 'alt'] });
    expect(keyEventFor('Nope+', true)).toBeUndefined();
  });
});
