/**
 * Per-step normalisers for replies that legitimately differ between two correct servers (ids,
 * clocks, hash-table order, server-specific text). Each maps a reply to something that still fails
 * when the server is wrong: a type/shape, a range check, a sorted copy, a set of required fields.
 * Errors pass through every normaliser unchanged, so an error where a value was due still shows.
 * RESP3 maps (`{ map: [...] }`, see clients.ts) are walked like arrays of [key, value] pairs.
 */
import type { Reply, ReplyMap } from './clients.js';
import type { Normaliser } from './differential.js';

const isError = (r: Reply): r is { error: string } => r !== null && typeof r === 'object' && 'error' in r;
export const isMap = (r: Reply): r is ReplyMap => r !== null && typeof r === 'object' && !Array.isArray(r) && 'map' in r;

const passErrors =
  (f: (r: Reply) => unknown): Normaliser =>
  (r) =>
    isError(r) ? r : f(r);

/** Replaces every scalar with its type name, keeping nil, array lengths and nesting. */
export const shape: Normaliser = passErrors(function sh(r: Reply): unknown {
  if (r === null) return null;
  if (Array.isArray(r)) return r.map((x) => sh(x));
  if (isError(r)) return r;
  if (isMap(r)) return { map: r.map.map(([k, v]) => [k, sh(v)]) };
  return typeof r === 'number' ? '<int>' : typeof r === 'boolean' ? '<bool>' : '<str>';
});

/** An integer within [lo, hi] (for TTLs and clocks): records 'in range' or the offending value. */
export const within = (lo: number, hi: number): Normaliser =>
  passErrors((r) => (typeof r === 'number' && r >= lo && r <= hi ? `integer in [${lo}, ${hi}]` : { outOfRange: r, lo, hi }));

/** An unordered array (SMEMBERS, KEYS, PUBSUB CHANNELS): Redis's order is its hash table's. */
export const sorted: Normaliser = passErrors((r) => (Array.isArray(r) ? [...r].map(String).sort() : r));

/** A flat field/value array (HGETALL; a map in RESP3) as sorted pairs: Redis documents no field order. */
export const sortedPairs: Normaliser = passErrors((r) => {
  if (isMap(r)) return r.map.map(([k, v]) => `${k}=${String(v)}`).sort();
  if (!Array.isArray(r)) return r;
  const pairs: string[] = [];
  for (let i = 0; i < r.length; i += 2) pairs.push(`${String(r[i])}=${String(r[i + 1])}`);
  return pairs.sort();
});

const STREAM_ID = /^\d+-\d+$/;

/** Any stream id ('<ms>-<seq>') becomes '<id>'; everything else is kept. For auto-generated ids. */
export const streamIds: Normaliser = passErrors(function ids(r: Reply): unknown {
  if (Array.isArray(r)) return r.map((x) => ids(x));
  if (isMap(r)) return { map: r.map.map(([k, v]) => [k, ids(v)]) };
  return typeof r === 'string' && STREAM_ID.test(r) ? '<id>' : r;
});

/** An INFO text: which of the given sections and fields it has (values differ between servers). */
export const infoHas = (sections: string[], fields: string[]): Normaliser =>
  passErrors((r) => {
    if (typeof r !== 'string') return { notText: r };
    const lines = r.split('\r\n');
    return {
      sections: sections.filter((s) => lines.includes(`# ${s}`)),
      fields: fields.filter((f) => lines.some((l) => l.startsWith(`${f}:`))),
      wellFormed: lines.every((l) => l === '' || l.startsWith('# ') || /^[A-Za-z0-9_]+:/.test(l)),
    };
  });

/**
 * A CLIENT LIST text: per line the fields the suite relies on (name, db) and whether id/addr are
 * well formed. Field order, ages, fds and buffer sizes are server internals.
 */
export const clientList: Normaliser = passErrors((r) => {
  if (typeof r !== 'string') return { notText: r };
  return r
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const f = new Map(line.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
      return {
        id: /^\d+$/.test(f.get('id') ?? ''),
        addr: /^127\.0\.0\.1:\d+$/.test(f.get('addr') ?? ''),
        name: f.get('name'),
        db: f.get('db'),
      };
    })
    .sort((a, b) => String(a.name).localeCompare(String(b.name)));
});

/** Decodes a RESP2 flat key/value array (HELLO 2) or a RESP3 map into pairs, applying `values` per key. */
export const flatMap = (values: Record<string, Normaliser>): Normaliser =>
  passErrors((r) => {
    if (isMap(r)) return r.map.map(([k, v]) => [k, values[k] ? values[k](v) : v]);
    if (!Array.isArray(r)) return { notArray: r };
    const out: Array<[unknown, unknown]> = [];
    for (let i = 0; i < r.length; i += 2) {
      const k = String(r[i]);
      out.push([k, values[k] ? values[k](r[i + 1]) : r[i + 1]]);
    }
    return out;
  });
