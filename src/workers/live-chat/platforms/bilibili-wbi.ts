/**
 * Bilibili's "WBI" request signature, which getDanmuInfo has required since May 2025 (without it
 * the answer is code -352). From the public description of the algorithm:
 *   - nav (/x/web-interface/nav, also when logged out) gives data.wbi_img.img_url and sub_url; the
 *     file names (without extension) are `img_key` and `sub_key` (they change daily);
 *   - mixin key: img_key + sub_key reordered by the fixed 64-entry table below, first 32 characters;
 *   - signature: add `wts` (unix seconds), drop the characters !'()* from the values, sort by key,
 *     encode as a query (encodeURIComponent: upper-case hex, space as %20), append the mixin key,
 *     MD5 in hex = `w_rid`, added to the query.
 */
import { createHash } from 'node:crypto';

/** The reordering of img_key + sub_key (a protocol constant of Bilibili's web client). */
const MIXIN_ORDER = [
  46, 47, 18, 2, 53, 8, 23, 32, 15, 50, 10, 31, 58, 3, 45, 35, 27, 43, 5, 49, 33, 9, 42, 19, 29, 28, 14, 39, 12, 38, 41, 13, 37, 48, 7, 16, 24, 55, 40, 61, 26, 17,
  0, 1, 60, 51, 30, 4, 22, 25, 54, 21, 56, 59, 6, 63, 57, 62, 11, 36, 20, 34, 44, 52,
];

export interface WbiKeys {
  imgKey: string;
  subKey: string;
}

/** The keys from nav's data (undefined when nav gave none). */
export function wbiKeys(navData: unknown): WbiKeys | undefined {
  const img = (navData as { wbi_img?: { img_url?: unknown; sub_url?: unknown } } | undefined)?.wbi_img;
  const name = (url: unknown) => (typeof url === 'string' ? /([^/]+?)(?:\.[a-z0-9]+)?$/i.exec(url)?.[1] : undefined);
  const imgKey = name(img?.img_url);
  const subKey = name(img?.sub_url);
  return imgKey && subKey ? { imgKey, subKey } : undefined;
}

export function mixinKey({ imgKey, subKey }: WbiKeys): string {
  const raw = imgKey + subKey;
  return MIXIN_ORDER.map((i) => raw[i] ?? '')
    .join('')
    .slice(0, 32);
}

/** `params` as a signed query string: sorted, with wts and w_rid. */
export function signWbi(params: Record<string, string | number>, keys: WbiKeys, wts: number): string {
  const all: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...params, wts })) all[k] = String(v).replace(/[!'()*]/g, '');
  const query = Object.keys(all)
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(all[k])}`)
    .join('&');
  const wRid = createHash('md5').update(query + mixinKey(keys)).digest('hex');
  return `${query}&w_rid=${wRid}`;
}
