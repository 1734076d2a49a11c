/**
 * The files of one model, wherever they are: a folder on disk (built-in and imported models) or the
 * entries of an uploaded zip held in memory (validated before anything is written). Paths are
 * relative to the model's root, with forward slashes.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';

export interface ModelFiles {
  /** Every regular file, relative to the root. */
  list(): string[];
  /** The bytes of a file, or undefined when there is none. */
  read(rel: string): Buffer | undefined;
  /** The first `n` bytes (fewer for a shorter file), or undefined when there is none: textures and motions are only checked, not read. */
  head(rel: string, n: number): Buffer | undefined;
}

/** A model folder on disk. Symbolic links are not followed (an imported model never has one). */
export function folderFiles(root: string, maxFiles = 20_000): ModelFiles {
  let listed: string[] | undefined;
  return {
    list() {
      if (listed) return listed;
      const out: string[] = [];
      const walk = (dir: string, prefix: string) => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          if (out.length >= maxFiles) return;
          const rel = prefix ? `${prefix}/${e.name}` : e.name;
          if (e.isDirectory()) walk(path.join(dir, e.name), rel);
          else if (e.isFile()) out.push(rel);
        }
      };
      walk(root, '');
      return (listed = out.sort());
    },
    read(rel) {
      const file = path.join(root, ...rel.split('/'));
      try {
        if (!statSync(file).isFile()) return undefined;
        return readFileSync(file);
      } catch {
        return undefined;
      }
    },
    head(rel, n) {
      const file = path.join(root, ...rel.split('/'));
      let fd: number | undefined;
      try {
        if (!statSync(file).isFile()) return undefined;
        fd = openSync(file, 'r');
        const buf = Buffer.alloc(n);
        return buf.subarray(0, readSync(fd, buf, 0, n, 0));
      } catch {
        return undefined;
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    },
  };
}

/** Files held in memory (an unzipped upload), rooted at `prefix` ('' or 'some/folder/'). */
export function memoryFiles(entries: ReadonlyMap<string, Uint8Array>, prefix = ''): ModelFiles {
  const rels = [...entries.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  return {
    list: () => rels.slice().sort(),
    read(rel) {
      const data = entries.get(prefix + rel);
      return data ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : undefined;
    },
    head(rel, n) {
      const data = entries.get(prefix + rel);
      return data ? Buffer.from(data.buffer, data.byteOffset, Math.min(n, data.byteLength)) : undefined;
    },
  };
}

/**
 * A model file's reference resolved against the folder of the file naming it: forward slashes, no
 * `.` segments. Undefined when it is absolute or climbs out of the model's root.
 */
export function resolveRef(fromDir: string, ref: string): string | undefined {
  const clean = ref.replace(/\\/g, '/');
  if (clean.startsWith('/') || /^[a-zA-Z]:/.test(clean) || /^[a-z]+:\/\//i.test(clean)) return undefined;
  const joined = path.posix.normalize(path.posix.join(fromDir || '.', clean));
  if (joined === '..' || joined.startsWith('../') || joined === '.') return undefined;
  return joined;
}
