/**
 * A WASI preview1 host in plain JavaScript for flite.wasm: the 13 calls it imports, over files
 * kept in memory under one preopened directory. A program is loaded (instantiated: a fresh
 * instance, whose memory allocation is most of the cost) ahead of time and run once.
 *
 * Why not `node:wasi`: on Node 20 its calls are V8 "fast API" callbacks when optimised wasm calls
 * them, and uvwasi allocates inside them through an allocator that reports to
 * `Isolate::AdjustAmountOfExternalAllocatedMemory`. That can run a full GC inside the fast call,
 * where V8 does not walk the stack: whatever only the stack holds looks dead, including the running
 * program's own WASI object, whose destructor (uvwasi_destroy) then runs under it. Seen here as
 * SIGABRT in uv_mutex_destroy (the fd mutex fd_write holds) within ~20 sentences, and as SIGSEGV
 * (use after free) in the field; `--no-turbo-fast-api-calls` makes it go away. Plain JS imports
 * are ordinary calls, where a GC is safe. No temp files and no file descriptors either (uvwasi
 * also kept one per instance open on the preopened directory).
 *
 * `loadWasiProgram` must stay self-contained (no imports, no outer names): the flite thread runs
 * its source text (`String(loadWasiProgram)`), see flite.ts.
 */

export interface WasiRun {
  /** The program's exit code (proc_exit, or 0 when `_start` returns). */
  code: number;
  /** Everything written to fd 1 and 2, UTF-8. */
  stdout: string;
  /** The files the program left in the preopened directory, by name. */
  files: Record<string, Uint8Array>;
}

export interface WasiProgram {
  /**
   * Runs `_start` with `args` (argv[0] included), once. Throws what the program traps with; a
   * `proc_exit` gives its code.
   */
  run(args: string[]): WasiRun;
}

/**
 * Instantiates a WASI command module (a compiled `WebAssembly.Module`) with `preopen` (e.g.
 * '/out') as its one directory, in memory, ready to run.
 */
export function loadWasiProgram(module: unknown, preopen: string): WasiProgram {
  type Fn = (...a: never[]) => unknown;
  interface WasmApi {
    Instance: new (m: unknown, imports: Record<string, Record<string, Fn>>) => { exports: Record<string, unknown> };
  }
  interface MemFile {
    data: Uint8Array;
    size: number;
  }
  type Open = { kind: 'std' } | { kind: 'dir' } | { kind: 'file'; file: MemFile; pos: number; append: boolean };

  const E = { success: 0, badf: 8, exist: 20, inval: 28, isdir: 31, noent: 44, notcapable: 76, spipe: 70 };
  const FILETYPE = { chardev: 2, dir: 3, file: 4 };
  const OFLAGS = { creat: 1, directory: 2, excl: 4, trunc: 8 };
  const FDFLAG_APPEND = 1;
  const ALL_RIGHTS = 0x1fffffffn;
  const PREOPEN_FD = 3;

  const enc = new TextEncoder();
  const dec = new TextDecoder();
  let argBytes: Uint8Array[] = [];
  const preopenName = enc.encode(preopen);
  const files = new Map<string, MemFile>();
  const fds = new Map<number, Open>([
    [0, { kind: 'std' }],
    [1, { kind: 'std' }],
    [2, { kind: 'std' }],
    [PREOPEN_FD, { kind: 'dir' }],
  ]);
  let nextFd = PREOPEN_FD + 1;
  const out: Uint8Array[] = [];
  const exit = { code: 0 };
  /** The instance's memory, once it exists. */
  const mem = { current: undefined as { buffer: ArrayBuffer } | undefined };

  // The buffer is replaced whenever the program grows its memory: take a fresh view per call.
  const buffer = () => mem.current!.buffer;
  const view = () => new DataView(buffer());
  const u8 = () => new Uint8Array(buffer());

  /** The bytes an iovec array points at, in order. */
  const gather = (iovs: number, n: number): Uint8Array[] => {
    const v = view();
    const parts: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const ptr = v.getUint32(iovs + i * 8, true);
      const len = v.getUint32(iovs + i * 8 + 4, true);
      parts.push(new Uint8Array(buffer(), ptr, len));
    }
    return parts;
  };

  const writeFile = (o: Extract<Open, { kind: 'file' }>, bytes: Uint8Array) => {
    const f = o.file;
    if (o.append) o.pos = f.size;
    const end = o.pos + bytes.length;
    if (end > f.data.length) {
      const grown = new Uint8Array(Math.max(end, f.data.length * 2, 4096));
      grown.set(f.data.subarray(0, f.size));
      f.data = grown;
    }
    f.data.set(bytes, o.pos);
    o.pos = end;
    f.size = Math.max(f.size, end);
  };

  const imports: Record<string, Fn> = {
    args_sizes_get(argcPtr: number, bufSizePtr: number) {
      const v = view();
      v.setUint32(argcPtr, argBytes.length, true);
      v.setUint32(
        bufSizePtr,
        argBytes.reduce((n, a) => n + a.length, 0),
        true,
      );
      return E.success;
    },
    args_get(argvPtr: number, bufPtr: number) {
      const v = view();
      const m = u8();
      let at = bufPtr;
      argBytes.forEach((a, i) => {
        v.setUint32(argvPtr + i * 4, at, true);
        m.set(a, at);
        at += a.length;
      });
      return E.success;
    },
    clock_time_get(id: number, _precision: bigint, timePtr: number) {
      const ns = id === 0 ? BigInt(Date.now()) * 1_000_000n : BigInt(Math.round(performance.now() * 1e6));
      view().setBigUint64(timePtr, ns, true);
      return E.success;
    },
    fd_close(fd: number) {
      if (!fds.has(fd)) return E.badf;
      if (fd > PREOPEN_FD) fds.delete(fd);
      return E.success;
    },
    fd_fdstat_get(fd: number, statPtr: number) {
      const o = fds.get(fd);
      if (!o) return E.badf;
      const v = view();
      // stdout as a plain file: the program buffers it fully instead of line by line.
      v.setUint8(statPtr, o.kind === 'dir' ? FILETYPE.dir : FILETYPE.file);
      v.setUint16(statPtr + 2, 0, true);
      v.setBigUint64(statPtr + 8, ALL_RIGHTS, true);
      v.setBigUint64(statPtr + 16, ALL_RIGHTS, true);
      return E.success;
    },
    fd_fdstat_set_flags(fd: number) {
      return fds.has(fd) ? E.success : E.badf;
    },
    fd_prestat_get(fd: number, ptr: number) {
      if (fd !== PREOPEN_FD) return E.badf;
      const v = view();
      v.setUint8(ptr, 0); // a directory
      v.setUint32(ptr + 4, preopenName.length, true);
      return E.success;
    },
    fd_prestat_dir_name(fd: number, pathPtr: number, len: number) {
      if (fd !== PREOPEN_FD) return E.badf;
      u8().set(preopenName.subarray(0, len), pathPtr);
      return E.success;
    },
    fd_read(fd: number, iovs: number, iovsLen: number, nreadPtr: number) {
      const o = fds.get(fd);
      if (!o) return E.badf;
      if (o.kind === 'dir') return E.isdir;
      let n = 0;
      if (o.kind === 'file') {
        for (const part of gather(iovs, iovsLen)) {
          const chunk = o.file.data.subarray(o.pos, Math.min(o.file.size, o.pos + part.length));
          part.set(chunk);
          o.pos += chunk.length;
          n += chunk.length;
          if (chunk.length < part.length) break;
        }
      }
      view().setUint32(nreadPtr, n, true);
      return E.success;
    },
    fd_seek(fd: number, offset: bigint, whence: number, newOffsetPtr: number) {
      const o = fds.get(fd);
      if (!o) return E.badf;
      if (o.kind !== 'file') return E.spipe;
      const base = whence === 0 ? 0 : whence === 1 ? o.pos : whence === 2 ? o.file.size : -1;
      const pos = base + Number(offset);
      if (base < 0 || pos < 0) return E.inval;
      o.pos = pos;
      view().setBigUint64(newOffsetPtr, BigInt(pos), true);
      return E.success;
    },
    fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number) {
      const o = fds.get(fd);
      if (!o) return E.badf;
      if (o.kind === 'dir') return E.isdir;
      let n = 0;
      for (const part of gather(iovs, iovsLen)) {
        if (o.kind === 'std') out.push(part.slice());
        else writeFile(o, part);
        n += part.length;
      }
      view().setUint32(nwrittenPtr, n, true);
      return E.success;
    },
    path_open(dirFd: number, _dirFlags: number, pathPtr: number, pathLen: number, oflags: number, _rightsBase: bigint, _rightsInh: bigint, fdFlags: number, fdPtr: number) {
      if (fds.get(dirFd)?.kind !== 'dir') return E.badf;
      const name = dec
        .decode(u8().slice(pathPtr, pathPtr + pathLen))
        .replace(/^(\.\/)+/, '')
        .replace(/\/+$/, '');
      if (name.split('/').includes('..')) return E.notcapable;
      let o: Open;
      if (name === '' || name === '.') {
        o = { kind: 'dir' };
      } else {
        if (oflags & OFLAGS.directory) return E.noent;
        let file = files.get(name);
        if (file && oflags & OFLAGS.creat && oflags & OFLAGS.excl) return E.exist;
        if (!file) {
          if (!(oflags & OFLAGS.creat)) return E.noent;
          file = { data: new Uint8Array(0), size: 0 };
          files.set(name, file);
        }
        if (oflags & OFLAGS.trunc) file.size = 0;
        o = { kind: 'file', file, pos: 0, append: (fdFlags & FDFLAG_APPEND) !== 0 };
      }
      const fd = nextFd++;
      fds.set(fd, o);
      view().setUint32(fdPtr, fd, true);
      return E.success;
    },
    proc_exit(code: number) {
      exit.code = code;
      throw exit;
    },
  };

  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const instance = new wasm.Instance(module, { wasi_snapshot_preview1: imports });
  mem.current = instance.exports.memory as { buffer: ArrayBuffer };
  let started = false;
  return {
    run(args: string[]): WasiRun {
      if (started) throw new Error('a WASI program runs once: load another');
      started = true;
      argBytes = args.map((a) => enc.encode(`${a}\0`));
      let code = 0;
      try {
        (instance.exports._start as () => void)();
      } catch (e) {
        if (e !== exit) throw e;
        code = exit.code;
      }
      const result: Record<string, Uint8Array> = {};
      for (const [name, f] of files) result[name] = f.data.slice(0, f.size);
      const total = out.reduce((n, b) => n + b.length, 0);
      const joined = new Uint8Array(total);
      let at = 0;
      for (const b of out) {
        joined.set(b, at);
        at += b.length;
      }
      return { code, stdout: dec.decode(joined), files: result };
    },
  };
}
