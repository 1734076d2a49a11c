/**
 * The subtitles layer's style, read from its URL query (`/overlay/subtitles?size=48&color=ffffff`).
 * Colours and the font are checked against narrow patterns before they reach CSS, so a query can
 * only ever style the text, never inject rules. Bad values are named and replaced by the defaults,
 * as in options.ts.
 */
import { translate } from '../i18n/core.js';
import { flag, hexColour, numberIn, type Parsed } from './options.js';

export interface SubtitleOptions {
  /** CSS font-family list (letters, digits, spaces, commas, quotes and hyphens only). */
  font: string;
  /** Font size in CSS pixels. */
  size: number;
  /** Text colour, `#RRGGBB`. */
  color: `#${string}`;
  /** Outline colour, `#RRGGBB`. */
  outline: `#${string}`;
  /** Outline width in CSS pixels (0: none). */
  outlineWidth: number;
  position: 'top' | 'bottom';
  align: 'left' | 'center' | 'right';
  /** How long the last sentence stays once the reply has ended, in ms. */
  fadeMs: number;
  /** Lines of text at most (longer sentences are cut with an ellipsis). */
  maxLines: number;
  /** Show the viewer's question above the answer. */
  question: boolean;
}

export const SUBTITLE_DEFAULTS: SubtitleOptions = {
  font: 'sans-serif',
  size: 36,
  color: '#FFFFFF',
  outline: '#000000',
  outlineWidth: 3,
  position: 'bottom',
  align: 'center',
  fadeMs: 3000,
  maxLines: 3,
  question: false,
};

const FONT = /^[\p{L}\p{N} ,'"-]{1,100}$/u;

function colour(name: string, raw: string, problems: string[]): `#${string}` | undefined {
  const hex = hexColour(raw);
  if (!hex) problems.push(translate('overlay.notColour', { name, raw }));
  return hex;
}

function oneOf<T extends string>(name: string, raw: string, values: readonly T[], problems: string[]): T | undefined {
  const v = raw.trim().toLowerCase() as T;
  if (values.includes(v)) return v;
  problems.push(translate('overlay.notOneOf', { name, raw, values: values.join(', ') }));
  return undefined;
}

export function parseSubtitleOptions(search: string): Parsed<SubtitleOptions> {
  const q = new URLSearchParams(search);
  const problems: string[] = [];
  const o: SubtitleOptions = { ...SUBTITLE_DEFAULTS };
  for (const [key, raw] of q) {
    switch (key) {
      case 'font':
        if (FONT.test(raw.trim())) o.font = raw.trim();
        else problems.push(translate('overlay.notFont', { raw }));
        break;
      case 'size':
        o.size = numberIn('size', raw, 8, 300, problems) ?? o.size;
        break;
      case 'color':
        o.color = colour('color', raw, problems) ?? o.color;
        break;
      case 'outline':
        o.outline = colour('outline', raw, problems) ?? o.outline;
        break;
      case 'outline_width':
        o.outlineWidth = numberIn('outline_width', raw, 0, 20, problems) ?? o.outlineWidth;
        break;
      case 'position':
        o.position = oneOf('position', raw, ['top', 'bottom'] as const, problems) ?? o.position;
        break;
      case 'align':
        o.align = oneOf('align', raw, ['left', 'center', 'right'] as const, problems) ?? o.align;
        break;
      case 'fade': {
        const n = numberIn('fade', raw, 0, 600_000, problems);
        if (n !== undefined) o.fadeMs = Math.round(n);
        break;
      }
      case 'max_lines': {
        const n = numberIn('max_lines', raw, 1, 20, problems);
        if (n !== undefined) o.maxLines = Math.round(n);
        break;
      }
      case 'question':
        o.question = flag('question', raw, problems) ?? o.question;
        break;
      case 'session':
      case 'token':
      case 'lang': // the page's language, read by src/renderer/i18n
        break;
      default:
        problems.push(translate('overlay.unknownSubtitles', { key }));
    }
  }
  return { options: o, problems };
}

/** An outline drawn with text-shadows (16 directions): works in every Chromium OBS ships, unlike paint-order. */
export function outlineShadow(width: number, colour: string): string {
  if (width <= 0) return 'none';
  const steps = 16;
  return Array.from({ length: steps }, (_, i) => {
    const a = (2 * Math.PI * i) / steps;
    return `${(Math.cos(a) * width).toFixed(2)}px ${(Math.sin(a) * width).toFixed(2)}px 0 ${colour}`;
  }).join(', ');
}
