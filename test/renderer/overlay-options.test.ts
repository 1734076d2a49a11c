/**
 * The overlay's and the subtitles layer's query options (src/renderer/overlay/options.ts,
 * subtitle-options.ts): defaults, every option, key colours, and bad values named with their fix
 * while the default stays.
 */
import { describe, expect, it } from 'vitest';
import { KEY_COLOURS, OVERLAY_DEFAULTS, hexColour, parseOverlayOptions } from '../../src/renderer/overlay/options.js';
import { SUBTITLE_DEFAULTS, outlineShadow, parseSubtitleOptions } from '../../src/renderer/overlay/subtitle-options.js';

describe('overlay options', () => {
  it('an empty query gives the defaults: transparent, audio off, follow off, 60 fps, the selected model', () => {
    expect(parseOverlayOptions('')).toEqual({ options: OVERLAY_DEFAULTS, problems: [] });
    expect(OVERLAY_DEFAULTS).toEqual({ fps: 60, audio: false, background: 'transparent', follow: false });
  });

  it('reads every option', () => {
    const { options, problems } = parseOverlayOptions('?model=haru&scale=1.5&x=-0.25&y=0.1&fps=30&audio=1&bg=green&follow=on&session=s1');
    expect(problems).toEqual([]);
    expect(options).toEqual({ model: 'haru', scale: 1.5, x: -0.25, y: 0.1, fps: 30, audio: true, background: '#00FF00', follow: true });
  });

  it('key colours are OBS presets; hex colours with or without # (%23), short or long, come out as #RRGGBB', () => {
    expect(KEY_COLOURS).toEqual({ green: '#00FF00', magenta: '#FF00FF' });
    expect(parseOverlayOptions('bg=magenta').options.background).toBe('#FF00FF');
    expect(parseOverlayOptions('bg=%2300b140').options.background).toBe('#00B140');
    expect(parseOverlayOptions('bg=0f0').options.background).toBe('#00FF00');
    expect(parseOverlayOptions('bg=transparent').options.background).toBe('transparent');
    expect(hexColour('#12345')).toBeUndefined();
  });

  it('flags take 1/0, true/false, on/off, yes/no; a bare flag is on', () => {
    for (const on of ['1', 'true', 'on', 'yes', 'ON']) expect(parseOverlayOptions(`audio=${on}`).options.audio).toBe(true);
    for (const off of ['0', 'false', 'off', 'no']) expect(parseOverlayOptions(`audio=1&audio=${off}`).options.audio).toBe(false);
    expect(parseOverlayOptions('follow').options.follow).toBe(true);
  });

  it('bad values are named with the fix and the default stays', () => {
    const { options, problems } = parseOverlayOptions('scale=huge&x=5&fps=0&audio=maybe&bg=red&model=../etc&zoom=2');
    expect(options).toEqual(OVERLAY_DEFAULTS);
    expect(problems).toEqual([
      'scale=huge is not a number from 0.05 to 10',
      'x=5 is not a number from -2 to 2',
      'fps=0 is not a number from 1 to 240',
      'audio=maybe is not on or off: use audio=1 or audio=0',
      'bg=red is not a background: use transparent, green (#00FF00), magenta (#FF00FF) or a hex colour (bg=%2300B140 or bg=00B140)',
      "model=../etc is not a model id: use the id the studio's model list shows (e.g. model=shizuku)",
      "unknown option 'zoom': the overlay takes model, scale, x, y, fps, audio, bg, follow, session and lang",
    ]);
  });

  it('fps is rounded; session and token are left to the session store', () => {
    expect(parseOverlayOptions('fps=29.6&session=a&token=b')).toEqual({ options: { ...OVERLAY_DEFAULTS, fps: 30 }, problems: [] });
  });
});

describe('subtitle options', () => {
  it('defaults', () => {
    expect(parseSubtitleOptions('')).toEqual({ options: SUBTITLE_DEFAULTS, problems: [] });
  });

  it('reads every option', () => {
    const q = 'font=Noto Sans, sans-serif&size=48&color=ffcc00&outline=%23102030&outline_width=0&position=top&align=left&fade=1500&max_lines=2&question=1';
    expect(parseSubtitleOptions(q)).toEqual({
      options: { font: 'Noto Sans, sans-serif', size: 48, color: '#FFCC00', outline: '#102030', outlineWidth: 0, position: 'top', align: 'left', fadeMs: 1500, maxLines: 2, question: true },
      problems: [],
    });
  });

  it('refuses anything that could leave the style it is meant for, naming the fix', () => {
    const { options, problems } = parseSubtitleOptions('font=x;}body{display:none&color=red&position=middle&max_lines=0&fade=-1');
    expect(options).toEqual(SUBTITLE_DEFAULTS);
    expect(problems).toEqual([
      'font=x;}body{display:none is not a font name: letters, digits, spaces, commas and quotes only (e.g. font=Noto Sans)',
      'color=red is not a hex colour: e.g. color=FFFFFF or color=%23FFFFFF',
      'position=middle is not one of top, bottom',
      'max_lines=0 is not a number from 1 to 20',
      'fade=-1 is not a number from 0 to 600000',
    ]);
  });
});

describe('subtitle outline', () => {
  it('is a ring of 16 text-shadows at the width, in the colour; none at width 0', () => {
    expect(outlineShadow(0, '#000000')).toBe('none');
    const parts = outlineShadow(2, '#102030').split(', ');
    expect(parts).toHaveLength(16);
    expect(parts[0]).toBe('2.00px 0.00px 0 #102030');
    expect(parts[4]).toBe('0.00px 2.00px 0 #102030');
    expect(parts[8]).toBe('-2.00px 0.00px 0 #102030');
  });
});
