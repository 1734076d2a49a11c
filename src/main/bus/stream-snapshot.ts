/**
 * A stream's JSON snapshot (the bus snapshot stores it as an opaque record): ids as "ms-seq",
 * Buffers as { b64 }, strings as they are. Loading checks everything a corrupt or hand-edited file
 * could get wrong and throws Error("invalid stream snapshot: ...") instead of building a broken stream.
 */
import { compareId, formatId, MAX_ID_PART, type Field, type StreamId } from './stream-id.js';
import { RedisStream, type StreamState } from './stream.js';

export function streamToJSON(stream: RedisStream): unknown {
  const s = stream.state();
  const enc = (f: Field) => (typeof f === 'string' ? f : { b64: f.toString('base64') });
  return {
    format: SNAPSHOT_FORMAT,
    lastId: formatId(s.last),
    entriesAdded: s.entriesAdded,
    maxDeletedId: formatId(s.maxDeletedId),
    entries: s.entries.map((e) => [formatId(e.id), e.fields.map(enc)]),
    groups: s.groups.map((g) => ({
      name: g.name,
      lastId: formatId(g.lastId),
      entriesRead: g.entriesRead,
      consumers: g.consumers,
      pending: g.pending.map((p) => [formatId(p.id), p.consumer, p.deliveredAt, p.deliveryCount]),
    })),
  };
}

/** Rebuilds a stream from streamToJSON()'s output. */
export function streamFromJSON(v: unknown): RedisStream {
  const o = obj(v, 'snapshot');
  if (o.format !== SNAPSHOT_FORMAT) bad(`format must be ${SNAPSHOT_FORMAT}`);
  const s: StreamState = {
    last: snapId(o.lastId, 'lastId'),
    maxDeletedId: snapId(o.maxDeletedId, 'maxDeletedId'),
    entriesAdded: count(o.entriesAdded, 'entriesAdded'),
    entries: [],
    groups: [],
  };
  let prev: StreamId | null = null;
  for (const [i, e] of arr(o.entries, 'entries').entries()) {
    const pair = arr(e, `entries[${i}]`);
    const id = snapId(pair[0], `entries[${i}] id`);
    if (prev && compareId(prev, id) >= 0) bad(`entries[${i}] is out of order`);
    if (compareId(id, s.last) > 0) bad(`entries[${i}] is past lastId`);
    const fields = arr(pair[1], `entries[${i}] fields`).map((f, j) => decodeField(f, `entries[${i}] field ${j}`));
    if (pair.length !== 2 || fields.length === 0 || fields.length % 2) bad(`entries[${i}] must be [id, [field, value, ...]]`);
    s.entries.push({ id, fields });
    prev = id;
  }
  if (s.entriesAdded < s.entries.length) bad('entriesAdded is smaller than the number of entries');
  const names = new Set<string>();
  for (const [i, gv] of arr(o.groups, 'groups').entries()) {
    const go = obj(gv, `groups[${i}]`);
    const name = str(go.name, `groups[${i}].name`);
    if (names.has(name)) bad(`group ${name} appears twice`);
    names.add(name);
    const group: StreamState['groups'][number] = {
      name,
      lastId: snapId(go.lastId, `groups[${i}].lastId`),
      entriesRead: go.entriesRead === null ? null : count(go.entriesRead, `groups[${i}].entriesRead`),
      consumers: [],
      pending: [],
    };
    const consumers = new Set<string>();
    for (const [j, cv] of arr(go.consumers, `groups[${i}].consumers`).entries()) {
      const co = obj(cv, `groups[${i}].consumers[${j}]`);
      const cname = str(co.name, `groups[${i}].consumers[${j}].name`);
      if (consumers.has(cname)) bad(`consumer ${cname} appears twice in group ${name}`);
      consumers.add(cname);
      group.consumers.push({ name: cname, seenTime: num(co.seenTime, `consumer ${cname} seenTime`) });
    }
    let prevPending: StreamId | null = null;
    for (const [j, pv] of arr(go.pending, `groups[${i}].pending`).entries()) {
      const p = arr(pv, `groups[${i}].pending[${j}]`);
      const id = snapId(p[0], `groups[${i}].pending[${j}] id`);
      if (prevPending && compareId(prevPending, id) >= 0) bad(`groups[${i}].pending[${j}] is out of order`);
      const consumer = str(p[1], `groups[${i}].pending[${j}] consumer`);
      if (!consumers.has(consumer)) bad(`groups[${i}].pending[${j}] names an unknown consumer`);
      group.pending.push({ id, consumer, deliveredAt: num(p[2], 'deliveredAt'), deliveryCount: count(p[3], 'deliveryCount') });
      prevPending = id;
    }
    s.groups.push(group);
  }
  return RedisStream.fromState(s);
}

const SNAPSHOT_FORMAT = 'fav-stream/1';

function bad(what: string): never {
  throw new Error(`invalid stream snapshot: ${what}`);
}
function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(`${what} must be an object`);
  return v as Record<string, unknown>;
}
function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) bad(`${what} must be an array`);
  return v as unknown[];
}
function str(v: unknown, what: string): string {
  if (typeof v !== 'string') bad(`${what} must be a string`);
  return v as string;
}
function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(`${what} must be a finite number`);
  return v as number;
}
function count(v: unknown, what: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) bad(`${what} must be a non-negative integer`);
  return v as number;
}
function snapId(v: unknown, what: string): StreamId {
  if (typeof v !== 'string' || !/^[0-9]{1,16}-[0-9]{1,16}$/.test(v)) bad(`${what} must be an id "ms-seq"`);
  const [ms, seq] = (v as string).split('-').map(Number);
  if (ms > MAX_ID_PART || seq > MAX_ID_PART) bad(`${what} is out of range`);
  return { ms, seq };
}
function decodeField(v: unknown, what: string): Field {
  if (typeof v === 'string') return v;
  const o = obj(v, what);
  if (typeof o.b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(o.b64)) bad(`${what} must be a string or { b64 }`);
  return Buffer.from(o.b64 as string, 'base64');
}
