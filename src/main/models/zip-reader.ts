/**
 * Reads an uploaded model zip into memory, refusing what could write outside the model's folder or
 * exhaust the machine before anything is inflated: entry names that climb out (`../`, zip-slip) or
 * are absolute, symbolic links, more entries than the limit, and more bytes once unzipped than the
 * limit (a zip bomb). fflate inflates each entry into a buffer of its declared size and never
 * beyond, so the declared sizes checked here bound the memory used even when they lie.
 */
import { unzipSync } from 'fflate';
import type { ModelProblem } from '../../shared/models.js';

export interface ZipLimits {
  /** Total bytes of all files once unzipped. */
  maxUnzippedBytes: number;
  /** Number of entries (files and folders). */
  maxFiles: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxUnzippedBytes: 512 * 1024 * 1024, maxFiles: 5000 };

/** An import refused, with what is wrong file by file (the gateway answers it as ModelImportError). */
export class ModelImportFailure extends Error {
  constructor(
    message: string,
    readonly problems: ModelProblem[],
  ) {
    super(message);
    this.name = 'ModelImportFailure';
  }
}

interface CentralEntry {
  name: string;
  size: number;
  /** Unix mode from the external attributes when the zip was made on a Unix-like system. */
  unixMode?: number;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/** The central directory's entries (names, declared sizes, Unix modes), or a reason it cannot be read. */
function centralDirectory(zip: Uint8Array): CentralEntry[] | string {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const u16 = (o: number) => view.getUint16(o, true);
  const u32 = (o: number) => view.getUint32(o, true);
  let eocd = zip.length - 22;
  while (eocd >= 0 && u32(eocd) !== 0x06054b50) {
    if (zip.length - eocd > 22 + 0xffff) return 'no zip directory found';
    eocd--;
  }
  if (eocd < 0) return 'no zip directory found';
  let count = u16(eocd + 10);
  let offset = u32(eocd + 16);
  // Zip64: the real count and offset are in the zip64 end record the locator points at.
  if (eocd >= 20 && u32(eocd - 20) === 0x07064b50) {
    const z = Number(view.getBigUint64(eocd - 12, true));
    if (z + 56 > zip.length || u32(z) !== 0x06064b50) return 'its zip64 directory is damaged';
    count = Number(view.getBigUint64(z + 32, true));
    offset = Number(view.getBigUint64(z + 48, true));
  }
  const entries: CentralEntry[] = [];
  const decoder = new TextDecoder();
  for (let i = 0, o = offset; i < count; i++) {
    if (o + 46 > zip.length || u32(o) !== 0x02014b50) return 'its directory is damaged';
    const madeBy = u16(o + 4) >> 8;
    const nameLen = u16(o + 28);
    const extraLen = u16(o + 30);
    const commentLen = u16(o + 32);
    let size = u32(o + 24);
    const attrs = u32(o + 38);
    // Bit 11: the name is UTF-8; otherwise each byte is one character (as fflate decodes it too).
    const nameBytes = zip.subarray(o + 46, o + 46 + nameLen);
    const name = u16(o + 8) & 0x800 ? decoder.decode(nameBytes) : String.fromCharCode(...nameBytes);
    // A zip64 size sits in the extra field (id 1) when the 32-bit one is saturated.
    if (size === 0xffffffff) {
      for (let e = o + 46 + nameLen; e + 4 <= o + 46 + nameLen + extraLen; e += 4 + u16(e + 2)) {
        if (u16(e) === 1) size = Number(view.getBigUint64(e + 4, true));
      }
    }
    // 3 = Unix, 19 = macOS (OS X): both keep st_mode in the high 16 bits.
    entries.push({ name, size, unixMode: madeBy === 3 || madeBy === 19 ? attrs >>> 16 : undefined });
    o += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** The entry's path with forward slashes, or why it may not be written anywhere. */
function checkName(raw: string): string | { problem: string } {
  const name = raw.replace(/\\/g, '/');
  if (name.includes('\0')) return { problem: 'its name holds a NUL character' };
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) return { problem: 'is an absolute path: a model zip holds paths relative to its own folder' };
  if (name.split('/').some((s) => s === '..')) return { problem: "climbs out of the model's folder with '..' (zip-slip): refused" };
  return name;
}

/** Bytes as people read them in a message (KiB under a MiB). */
export const formatBytes = (n: number): string => (n < 1024 * 1024 ? `${Math.ceil(n / 1024)} KiB` : `${Math.round((n / 1024 / 1024) * 10) / 10} MiB`);

/** The zip's files (folders and macOS resource forks dropped), path -> bytes. Throws ModelImportFailure. */
export function readModelZip(zip: Uint8Array, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Map<string, Uint8Array> {
  const dir = centralDirectory(zip);
  if (typeof dir === 'string') throw new ModelImportFailure(`not a zip file (${dir})`, [{ file: '(upload)', message: `not a readable zip file: ${dir}; zip the model's folder again` }]);
  if (dir.length > limits.maxFiles) {
    throw new ModelImportFailure('the zip holds too many files', [
      { file: '(upload)', message: `holds ${dir.length} entries, more than the ${limits.maxFiles} a model may have: zip only the model's folder` },
    ]);
  }
  const problems: ModelProblem[] = [];
  let total = 0;
  const wanted = new Map<string, string>();
  for (const e of dir) {
    const checked = checkName(e.name);
    if (typeof checked !== 'string') {
      problems.push({ file: e.name, message: checked.problem });
      continue;
    }
    if (e.unixMode !== undefined && (e.unixMode & S_IFMT) === S_IFLNK) {
      problems.push({ file: e.name, message: 'is a symbolic link: a model zip may hold only plain files and folders' });
      continue;
    }
    if (checked.endsWith('/') || checked.startsWith('__MACOSX/') || checked.split('/').pop()?.startsWith('._')) continue;
    total += e.size;
    wanted.set(e.name, checked);
  }
  if (problems.length > 0) throw new ModelImportFailure('the zip holds paths that may not be unpacked', problems);
  if (total > limits.maxUnzippedBytes) {
    throw new ModelImportFailure('the zip is too large once unzipped', [
      { file: '(upload)', message: `unzips to ${formatBytes(total)}, more than the ${formatBytes(limits.maxUnzippedBytes)} a model may take` },
    ]);
  }
  let raw: Record<string, Uint8Array>;
  try {
    raw = unzipSync(zip, { filter: (f) => wanted.has(f.name) });
  } catch (err) {
    throw new ModelImportFailure('the zip could not be unpacked', [{ file: '(upload)', message: `could not be unpacked (${(err as Error).message}): zip the model's folder again` }]);
  }
  const out = new Map<string, Uint8Array>();
  for (const [name, data] of Object.entries(raw)) out.set(wanted.get(name) ?? name, data);
  return out;
}
