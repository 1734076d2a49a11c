import { describe, expect, it } from 'vitest';
import { HotkeyRouter, isTyping } from './hotkeys.js';

const ev = (code: string, extra: Record<string, unknown> = {}) => {
  const e = { key: code.startsWith('F') ? code : code.replace(/^Key/, '').toLowerCase(), code, ctrlKey: false, altKey: false, shiftKey: false, metaKey: false, repeat: false, target: null as unknown, prevented: false, preventDefault() {
    e.prevented = true;
  }, ...extra };
  return e;
};

function rig(bindings = { pushToTalk: 'F8', mute: 'F9', stop: 'Control+Shift+S', skip: 'F7' }) {
  const calls: string[] = [];
  const router = new HotkeyRouter(bindings, {
    pushToTalk: (down) => calls.push(down ? 'talk-down' : 'talk-up'),
    mute: () => calls.push('mute'),
    stop: () => calls.push('stop'),
    skip: () => calls.push('skip'),
  });
  return { router, calls };
}

describe('page hotkeys', () => {
  it('push-to-talk is held: down once (auto-repeat ignored), up on the release of its key', () => {
    const { router, calls } = rig();
    const down = ev('F8');
    router.keydown(down);
    router.keydown(ev('F8', { repeat: true }));
    router.keyup(ev('F9'));
    router.keyup(ev('F8'));
    expect(calls).toEqual(['talk-down', 'talk-up']);
    expect(down.prevented).toBe(true); // the browser's own F8 does nothing
  });

  it('a held push-to-talk is released when the page loses focus', () => {
    const { router, calls } = rig();
    router.keydown(ev('F8'));
    router.blur();
    router.keyup(ev('F8'));
    router.blur();
    expect(calls).toEqual(['talk-down', 'talk-up']);
  });

  it('mute, stop and skip fire once per press, with exact modifiers', () => {
    const { router, calls } = rig();
    router.keydown(ev('F9'));
    router.keydown(ev('F9', { repeat: true }));
    router.keydown(ev('KeyS', { ctrlKey: true }));
    router.keydown(ev('KeyS', { ctrlKey: true, shiftKey: true }));
    router.keydown(ev('F7'));
    const other = ev('F6');
    router.keydown(other);
    expect(calls).toEqual(['mute', 'stop', 'skip']);
    expect(other.prevented).toBe(false);
  });

  it('keys typed into a text field are text, not hotkeys; buttons and checkboxes do not count as typing', () => {
    const { router, calls } = rig({ pushToTalk: 'F8', mute: 'M', stop: '', skip: '' });
    router.keydown(ev('KeyM', { target: { tagName: 'INPUT', type: 'text' } }));
    router.keydown(ev('KeyM', { target: { tagName: 'TEXTAREA' } }));
    router.keydown(ev('KeyM', { target: { tagName: 'DIV', isContentEditable: true } }));
    router.keydown(ev('KeyM', { target: { tagName: 'BUTTON' } }));
    expect(calls).toEqual(['mute']);
    expect(isTyping({ tagName: 'INPUT', type: 'checkbox' })).toBe(false);
    expect(isTyping({ tagName: 'input' })).toBe(true);
  });
});
