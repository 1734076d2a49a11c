/**
 * Phones to mouth shapes (the `Viseme` set of src/shared/voice.ts):
 *   sil  silence (pauses)            A  open (aa ae ah ax ay aw, hh)
 *   I    spread (iy ih y)            U  rounded narrow (uw uh w r)
 *   E    mid (eh ey er)              O  rounded open (ao ow oy)
 *   M    closed lips (m b p)         F  lip on teeth (f v)
 *   T    tongue / teeth (t d n l s z th dh sh zh ch jh k g ng)
 * Flite's phone set is CMU ARPAbet in lower case (plus `pau`); anything unknown counts as 'T'
 * (a consonant-ish half-open mouth) rather than being dropped, so timing stays continuous.
 */
import type { Viseme } from '../../shared/voice.js';

const GROUPS: Record<string, string[]> = {
  sil: ['pau', 'h#', 'sil', 'brth'],
  A: ['aa', 'ae', 'ah', 'ax', 'ay', 'aw', 'hh'],
  I: ['iy', 'ih', 'y'],
  U: ['uw', 'uh', 'w', 'r'],
  E: ['eh', 'ey', 'er', 'axr'],
  O: ['ao', 'ow', 'oy'],
  M: ['m', 'b', 'p'],
  F: ['f', 'v'],
  T: ['t', 'd', 'n', 'l', 's', 'z', 'th', 'dh', 'sh', 'zh', 'ch', 'jh', 'k', 'g', 'ng', 'dx', 'el', 'en'],
};

const PHONE_TO_VISEME = new Map<string, string>();
for (const [v, phones] of Object.entries(GROUPS)) for (const p of phones) PHONE_TO_VISEME.set(p, v);

export function visemeOf(phone: string): string {
  return PHONE_TO_VISEME.get(phone.toLowerCase().replace(/[0-9]/g, '')) ?? 'T';
}

/**
 * Parses flite's `-psdur` output (`phone:endSeconds` separated by spaces, possibly over several
 * lines) into visemes starting at each phone's start (the previous phone's end), in ms from the
 * sentence start. Consecutive phones with the same shape merge into one viseme. Times that go
 * backwards (a new utterance restarting at 0) are offset so the result stays monotonic.
 */
export function visemesFromPhoneTimes(text: string): Viseme[] {
  const out: Viseme[] = [];
  let start = 0;
  let offset = 0;
  let lastEnd = 0;
  for (const tok of text.split(/\s+/)) {
    const m = /^([A-Za-z#]+[0-9]?):(\d+(?:\.\d+)?)$/.exec(tok);
    if (!m) continue;
    const phone = m[1]!;
    let end = Number(m[2]) * 1000 + offset;
    if (end < lastEnd) {
      offset = lastEnd;
      end = Number(m[2]) * 1000 + offset;
    }
    lastEnd = end;
    const v = visemeOf(phone);
    const prev = out[out.length - 1];
    if (!prev || prev.v !== v) out.push({ t_ms: Math.round(start * 10) / 10, v, phone });
    start = end;
  }
  return out;
}
