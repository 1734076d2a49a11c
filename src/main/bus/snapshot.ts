/**
 * Snapshot file: all live keys with their TTLs, written atomically (temp file, fsync, rename) and
 * verified on load.
 *
 * Format (version 2), little endian:
 *   "FAVBUS\0" u8 version | records... | u8 0xFF | 20-byte SHA-1 of everything before it
 *   record = u8 0xFE, u8 db (the database of the records that follow; 0 until the first one)
 *          | u8 type, bulk key, f64 expireAt (-1 = none), payload
 *   Version 1 files (one database, no 0xFE records) still load.
 *     string: bulk | list/set: u32 n, n bulks | hash: u32 n, n (bulk field, bulk value)
 *     stream: bulk (opaque bytes from the stream codec)
 *   bulk = u32 length, bytes (latin1 strings are written byte-for-char)
 */
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { Deque } from './deque.js';
import type { Bulk, Keyspace, Value } from './keyspace.js';
import { BIG_BULK } from './resp-parser.js';

const MAGIC = Buffer.from('FAVBUS\0', 'latin1');
const VERSION = 2;
const T_STRING = 0;
const T_LIST = 1;
const T_HASH = 2;
const T_SET = 3;
const T_STREAM = 4;
const T_SELECT = 0xfe;
const T_END = 0xff;

/** Serializes stream values; provided by the stream command glue. */
export interface StreamCodec {
  is(v: unknown): boolean;
  encode(v: unknown): Buffer;
  decode(b: Buffer): Value;
}

class FileWriter {
  private buf = Buffer.allocUnsafe(1 << 20);
  private off = 0;
  private readonly hash: Hash = createHash('sha1');
  constructor(private readonly fd: number) {}

  private ensure(n: number): void {
    if (this.off + n > this.buf.length) this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }

  flush(): void {
    if (this.off === 0) return;
    const chunk = this.buf.subarray(0, this.off);
    this.hash.update(chunk);
    let done = 0;
    while (done < chunk.length) done += fs.writeSync(this.fd, chunk, done);
    this.off = 0;
  }

  raw(b: Buffer): void {
    this.ensure(b.length);
    this.off += b.copy(this.buf, this.off);
  }
  u8(n: number): void {
    this.ensure(1);
    this.buf[this.off++] = n;
  }
  u32(n: number): void {
    this.ensure(4);
    this.off = this.buf.writeUInt32LE(n, this.off);
  }
  f64(n: number): void {
    this.ensure(8);
    this.off = this.buf.writeDoubleLE(n, this.off);
  }
  bulk(v: Bulk): void {
    this.u32(v.length);
    this.ensure(v.length);
    if (typeof v === 'string') this.off += this.buf.write(v, this.off, 'latin1');
    else this.off += v.copy(this.buf, this.off);
  }
  finish(): void {
    this.flush();
    const digest = this.hash.digest();
    fs.writeSync(this.fd, digest);
  }
}

export function writeSnapshot(path: string, dbs: readonly Keyspace[], codec?: StreamCodec): number {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  let n = 0;
  try {
    const w = new FileWriter(fd);
    w.raw(MAGIC);
    w.u8(VERSION);
    const now = Date.now();
    for (const db of dbs) {
      if (db.size === 0) continue;
      w.u8(T_SELECT);
      w.u8(db.index);
      n += writeRecords(w, db, now, codec);
    }
    w.u8(T_END);
    w.finish();
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, path);
  return n;
}

function writeRecords(w: FileWriter, db: Keyspace, now: number, codec?: StreamCodec): number {
  let n = 0;
  for (const [key, v] of db.data) {
    const at = db.expires.get(key);
    if (at !== undefined && at <= now) continue;
    if (typeof v === 'string' || Buffer.isBuffer(v)) {
      header(w, T_STRING, key, at);
      w.bulk(v);
    } else if (v instanceof Deque) {
      header(w, T_LIST, key, at);
      w.u32(v.length);
      for (const item of v as Deque<Bulk>) w.bulk(item);
    } else if (v instanceof Map) {
      header(w, T_HASH, key, at);
      w.u32(v.size);
      for (const [f, fv] of v as Map<string, Bulk>) {
        w.bulk(f);
        w.bulk(fv);
      }
    } else if (v instanceof Set) {
      header(w, T_SET, key, at);
      w.u32(v.size);
      for (const m of v as Set<string>) w.bulk(m);
    } else if (codec?.is(v)) {
      header(w, T_STREAM, key, at);
      w.bulk(codec.encode(v));
    } else continue;
    n++;
  }
  return n;
}

function header(w: FileWriter, type: number, key: string, at: number | undefined): void {
  w.u8(type);
  w.bulk(key);
  w.f64(at ?? -1);
}

export class SnapshotError extends Error {}

/** Loads a snapshot into dbs (which should be empty); throws SnapshotError when the file is corrupt. */
export function readSnapshot(path: string, dbs: readonly Keyspace[], codec?: StreamCodec): number {
  const data = fs.readFileSync(path);
  if (data.length < MAGIC.length + 1 + 1 + 20 || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new SnapshotError('not a bus snapshot (bad header)');
  }
  const version = data[MAGIC.length];
  if (version !== 1 && version !== VERSION) throw new SnapshotError(`unsupported snapshot version ${data[MAGIC.length]}`);
  const body = data.subarray(0, data.length - 20);
  if (!createHash('sha1').update(body).digest().equals(data.subarray(data.length - 20))) {
    throw new SnapshotError('checksum mismatch (truncated or corrupted file)');
  }
  let off = MAGIC.length + 1;
  const need = (n: number) => {
    if (off + n > body.length) throw new SnapshotError('unexpected end of snapshot');
  };
  const u32 = () => (need(4), (off += 4), body.readUInt32LE(off - 4));
  const bulk = (): Bulk => {
    const len = u32();
    need(len);
    off += len;
    if (len < BIG_BULK) return body.latin1Slice(off - len, off);
    return Buffer.from(body.subarray(off - len, off));
  };
  const str = (): string => {
    const b = bulk();
    return typeof b === 'string' ? b : b.latin1Slice(0, b.length);
  };
  const now = Date.now();
  let n = 0;
  let db = dbs[0];
  for (;;) {
    need(1);
    const type = body[off++];
    if (type === T_END) break;
    if (type === T_SELECT && version >= 2) {
      need(1);
      const index = body[off++];
      if (index >= dbs.length) throw new SnapshotError(`database ${index} is out of range (the bus has ${dbs.length})`);
      db = dbs[index];
      continue;
    }
    const key = str();
    need(8);
    const at = body.readDoubleLE(off);
    off += 8;
    let v: Value;
    if (type === T_STRING) v = bulk();
    else if (type === T_LIST) {
      const d = new Deque<Bulk>();
      for (let i = u32(); i > 0; i--) d.pushBack(bulk());
      v = d;
    } else if (type === T_HASH) {
      const h = new Map<string, Bulk>();
      for (let i = u32(); i > 0; i--) h.set(str(), bulk());
      v = h;
    } else if (type === T_SET) {
      const s = new Set<string>();
      for (let i = u32(); i > 0; i--) s.add(str());
      v = s;
    } else if (type === T_STREAM) {
      const b = bulk();
      if (!codec) throw new SnapshotError('snapshot holds a stream but no stream codec is available');
      v = codec.decode(typeof b === 'string' ? Buffer.from(b, 'latin1') : b);
    } else throw new SnapshotError(`unknown record type ${type}`);
    if (at !== -1 && at <= now) continue;
    db.data.set(key, v);
    if (at !== -1) db.expires.set(key, at);
    n++;
  }
  if (off !== body.length) throw new SnapshotError('trailing bytes after end marker');
  return n;
}
