import { describe, expect, it } from 'vitest';
import { formatAccelerator, isKeyOf, matchesKey, parseAccelerator, type Accelerator, type KeyLike } from './accelerator.js';
import { ConfigSchema } from './config.js';

const ok = (text: string): Accelerator => {
  const r = parseAccelerator(text);
  if ('error' in r) throw new Error(r.error);
  return r;
};
const key = (code: string, extra: Partial<KeyLike> = {}): KeyLike => ({ key: code.replace(/^Key|^Digit/, ''), code, ctrlKey: false, altKey: false, shiftKey: false, metaKey: false, ...extra });

describe('accelerators', () => {
  it('parses Electron accelerators, any case and spacing, into one canonical form', () => {
    expect(ok('F8')).toEqual({ key: 'F8', ctrl: false, alt: false, shift: false, meta: false, cmdOrCtrl: false });
    expect(formatAccelerator(ok('cmdorctrl + shift + m'))).toBe('CommandOrControl+Shift+M');
    expect(formatAccelerator(ok('Ctrl+Alt+Return'))).toBe('Control+Alt+Enter');
    expect(formatAccelerator(ok('Super+esc'))).toBe('Super+Escape');
    expect(formatAccelerator(ok('Option+f24'))).toBe('Alt+F24');
    expect(ok('Shift+7').key).toBe('7');
  });

  it('refuses what it cannot match, saying what is wrong and how to write it', () => {
    const err = (t: string) => (parseAccelerator(t) as { error: string }).error;
    expect(err('')).toMatch(/empty hotkey.*e\.g\. "F8"/);
    expect(err('Ctrl+')).toMatch(/empty part/);
    expect(err('Ctrl+Shift')).toMatch(/no key after its modifiers/);
    expect(err('Hyper+F8')).toMatch(/"Hyper" is not a modifier/);
    expect(err('F25')).toMatch(/"F25" is not a key this app knows/);
    expect(err('F8+F9')).toMatch(/"F8" is not a modifier/);
  });

  it('matches key events by physical key and exact modifiers; CommandOrControl is Meta on macOS', () => {
    const f8 = ok('F8');
    expect(matchesKey(f8, { ...key('F8'), key: 'F8' })).toBe(true);
    expect(matchesKey(f8, { ...key('F8', { shiftKey: true }), key: 'F8' })).toBe(false);
    const m = ok('CommandOrControl+Shift+M');
    expect(matchesKey(m, key('KeyM', { ctrlKey: true, shiftKey: true, key: 'M' }))).toBe(true);
    expect(matchesKey(m, key('KeyM', { metaKey: true, shiftKey: true }), true)).toBe(true);
    expect(matchesKey(m, key('KeyM', { ctrlKey: true, shiftKey: true }), true)).toBe(false);
    expect(matchesKey(m, key('KeyN', { ctrlKey: true, shiftKey: true }))).toBe(false);
    // A layout that puts another letter on the key: the code still says which key it is.
    expect(matchesKey(ok('Alt+Q'), key('KeyQ', { altKey: true, key: 'a' }))).toBe(true);
    expect(matchesKey(ok('5'), key('Numpad5'))).toBe(true);
    expect(matchesKey(ok('Up'), key('ArrowUp'))).toBe(true);
    // The release of the key counts whatever modifiers were let go first.
    expect(isKeyOf(ok('Control+Space'), key('Space'))).toBe(true);
  });

  it('the config schema takes hotkeys only in this grammar, with F7-F10 by default', () => {
    const base = { dataDir: '/tmp/x' };
    expect(ConfigSchema.parse(base).hotkeys).toEqual({ pushToTalk: 'F8', mute: 'F9', stop: 'F10', skip: 'F7', pushToTalkMode: false });
    expect(ConfigSchema.parse({ ...base, hotkeys: { mute: '' } }).hotkeys.mute).toBe('');
    const bad = ConfigSchema.safeParse({ ...base, hotkeys: { stop: 'Ctrl+Banana' } });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]).toMatchObject({ path: ['hotkeys', 'stop'] });
    expect(bad.error!.issues[0]!.message).toMatch(/"Banana" is not a key/);
  });
});
