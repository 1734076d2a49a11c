/**
 * The OBS browser source's options, read from its URL query (`/overlay?scale=1.2&bg=green`), so a
 * streamer sets the overlay up in OBS's URL field alone. A value that does not parse is named in
 * `problems` (the page shows them) and its default is used: one typo never leaves OBS with an
 * empty source.
 *
 * No DOM: the page passes `location.search`; tests pass strings.
 */
import { translate } from '../i18n/core.js';

/** OBS's standard key colours (its Chroma Key filter's presets). */
export const KEY_COLOURS = { green: '#00FF00', magenta: '#FF00FF' } as const;

export interface OverlayOptions {
  /** Model id; undefined: the model selected in the studio. */
  model?: string;
  /** Overrides of the model's saved transform (canvas fractions from the centre, scale factor). */
  scale?: number;
  x?: number;
  y?: number;
  /** Frame-rate cap of the avatar's render loop. */
  fps: number;
  /** This page plays the reply (takes the session's audio); off: the mouth follows the timing. */
  audio: boolean;
  /** 'transparent', or an opaque CSS hex colour (`#RRGGBB`) filling everything outside the model. */
  background: 'transparent' | `#${string}`;
  /** Eyes and head follow the pointer. */
  follow: boolean;
}

export interface Parsed<T> {
  options: T;
  /** One readable line per refused value, naming the fix. */
  problems: string[];
}

export const OVERLAY_DEFAULTS: OverlayOptions = { fps: 60, audio: false, background: 'transparent', follow: false };

const MODEL_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** A number in [min, max], or a problem line. */
export function numberIn(name: string, raw: string, min: number, max: number, problems: string[]): number | undefined {
  const n = raw.trim() === '' ? NaN : Number(raw);
  if (Number.isFinite(n) && n >= min && n <= max) return n;
  problems.push(translate('overlay.notNumber', { name, raw, min, max }));
  return undefined;
}

/** 1/0, true/false, on/off, yes/no; or a problem line. */
export function flag(name: string, raw: string, problems: string[]): boolean | undefined {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'on', 'yes', ''].includes(v)) return true;
  if (['0', 'false', 'off', 'no'].includes(v)) return false;
  problems.push(translate('overlay.notFlag', { name, raw }));
  return undefined;
}

/**
 * A hex colour as `#RRGGBB` (uppercase; `#rgb` expanded), with or without the `#` (which must be
 * written `%23` in a URL), or undefined.
 */
export function hexColour(raw: string): `#${string}` | undefined {
  const m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(raw.trim());
  if (!m) return undefined;
  const h = m[1]!.length === 3 ? [...m[1]!].map((c) => c + c).join('') : m[1]!;
  return `#${h.toUpperCase()}`;
}

export function parseBackground(raw: string, problems: string[]): OverlayOptions['background'] | undefined {
  const v = raw.trim().toLowerCase();
  if (v === 'transparent' || v === 'none') return 'transparent';
  if (v in KEY_COLOURS) return KEY_COLOURS[v as keyof typeof KEY_COLOURS];
  const hex = hexColour(v);
  if (hex) return hex;
  problems.push(translate('overlay.notBackground', { raw }));
  return undefined;
}

/** The overlay's options from a query string (`?a=1&b=2`, leading `?` optional). */
export function parseOverlayOptions(search: string): Parsed<OverlayOptions> {
  const q = new URLSearchParams(search);
  const problems: string[] = [];
  const options: OverlayOptions = { ...OVERLAY_DEFAULTS };
  for (const [key, raw] of q) {
    switch (key) {
      case 'model':
        if (MODEL_ID.test(raw)) options.model = raw;
        else problems.push(translate('overlay.notModel', { raw }));
        break;
      case 'scale':
        options.scale = numberIn('scale', raw, 0.05, 10, problems) ?? options.scale;
        break;
      case 'x':
      case 'y':
        options[key] = numberIn(key, raw, -2, 2, problems) ?? options[key];
        break;
      case 'fps': {
        const n = numberIn('fps', raw, 1, 240, problems);
        if (n !== undefined) options.fps = Math.round(n);
        break;
      }
      case 'audio':
      case 'follow':
        options[key] = flag(key, raw, problems) ?? options[key];
        break;
      case 'bg':
        options.background = parseBackground(raw, problems) ?? options.background;
        break;
      // Read by the session store (voice/token.ts), not here.
      case 'session':
      case 'token':
      case 'lang': // the page's language, read by src/renderer/i18n
        break;
      default:
        problems.push(translate('overlay.unknownOverlay', { key }));
    }
  }
  return { options, problems };
}
