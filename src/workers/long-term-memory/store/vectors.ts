/**
 * Vector spaces of the memory store: one per embedder id, each with its full vectors in `vectors`
 * (int16, see schema.ts) and a vec0 table of their one-bit quantisation for the KNN scan, by
 * persona (partition key), with the subject's number (metadata column). The KNN's candidates (by
 * Hamming distance) are re-ranked by exact cosine (`cosine`) in memory-store.ts.
 */
import type { Db } from '../../common/sqlite.js';

export interface Space {
  id: number;
  space: string;
  dim: number | null;
}

const INT16 = 32767;

/** Unit-length float vector -> int16 blob. */
export function encodeVector(vec: Float32Array): Buffer {
  const out = new Int16Array(vec.length);
  for (let i = 0; i < vec.length; i++) out[i] = Math.max(-INT16, Math.min(INT16, Math.round(vec[i]! * INT16)));
  return Buffer.from(out.buffer);
}

export function decodeVector(blob: Buffer): Float32Array {
  const n = blob.length >> 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = blob.readInt16LE(i * 2) / INT16;
  return out;
}

/** The int16 values of a stored vector (a view when the blob is aligned, else a copy). */
function int16s(blob: Buffer): Int16Array {
  if (blob.byteOffset % 2 === 0) return new Int16Array(blob.buffer, blob.byteOffset, blob.length >> 1);
  return new Int16Array(Uint8Array.prototype.slice.call(blob).buffer);
}

/** Cosine of a unit query and a stored int16 vector (dot product: both are unit length). */
export function cosine(query: Float32Array, blob: Buffer): number {
  const v = int16s(blob);
  const n = Math.min(query.length, v.length);
  let dot = 0;
  for (let i = 0; i < n; i++) dot += query[i]! * v[i]!;
  return dot / INT16;
}

/** vec0 bit[] columns need a multiple of 8 dimensions: pad with zeros (quantised the same everywhere). */
export function padded(vec: Float32Array): Float32Array {
  const rem = vec.length % 8;
  if (rem === 0) return vec;
  const out = new Float32Array(vec.length + 8 - rem);
  out.set(vec);
  return out;
}

export const vecTable = (spaceId: number) => `vec_${spaceId}`;

/** The vec0 table of a space: one bit a dimension (padded to a multiple of 8), by persona, with the subject's number. */
export function createVecTable(db: Db, spaceId: number, dim: number): void {
  const bits = dim % 8 === 0 ? dim : dim + 8 - (dim % 8);
  db.exec(
    `CREATE VIRTUAL TABLE IF NOT EXISTS ${vecTable(spaceId)} USING vec0 (
       id INTEGER PRIMARY KEY, embedding bit[${bits}], persona TEXT PARTITION KEY, subject_id INTEGER)`,
  );
}

export class VectorSpaces {
  private readonly cache = new Map<string, Space>();
  private readonly st;

  constructor(private readonly db: Db) {
    this.st = {
      get: db.prepare<[string], Space>('SELECT id, space, dim FROM vector_spaces WHERE space = ?'),
      all: db.prepare<[], Space>('SELECT id, space, dim FROM vector_spaces ORDER BY id'),
      insert: db.prepare<[string, number | null, number]>('INSERT INTO vector_spaces (space, dim, created_at) VALUES (?, ?, ?)'),
      setDim: db.prepare<[number, number]>('UPDATE vector_spaces SET dim = ? WHERE id = ?'),
      remove: db.prepare<[number]>('DELETE FROM vector_spaces WHERE id = ?'),
    };
  }

  get(space: string): Space | undefined {
    const hit = this.cache.get(space);
    if (hit) return hit;
    const row = this.st.get.get(space);
    if (row) this.cache.set(space, row);
    return row;
  }

  all(): Space[] {
    return this.st.all.all();
  }

  /** The space, created when new; with `dim`, its vec0 table too (a different dim is refused). */
  ensure(space: string, dim?: number): Space {
    let s = this.get(space);
    if (!s) {
      const r = this.st.insert.run(space, null, Date.now());
      s = { id: Number(r.lastInsertRowid), space, dim: null };
      this.cache.set(space, s);
    }
    if (dim !== undefined && s.dim === null) {
      createVecTable(this.db, s.id, dim);
      this.st.setDim.run(dim, s.id);
      s.dim = dim;
    } else if (dim !== undefined && s.dim !== dim) {
      throw new Error(`vector space ${space} holds ${s.dim}-d vectors; a ${dim}-d vector cannot join it`);
    }
    return s;
  }

  drop(s: Space): void {
    this.db.exec(`DROP TABLE IF EXISTS ${vecTable(s.id)}`);
    this.st.remove.run(s.id);
    this.cache.delete(s.space);
  }

  /** Forgets cached rows (after a transaction that created spaces was rolled back). */
  reset(): void {
    this.cache.clear();
  }
}
