/**
 * Downloaded ASR models (sherpa-onnx): `<dataDir>/models/asr/<name>/` holds one model's files and a
 * `manifest.json` saying what was accepted (archive, URL, sha256, size, files).
 *
 * A missing model is fetched from `<baseUrl>/<archive>.tar.bz2`:
 *   - into `<dataDir>/models/asr/.downloads/<archive>.tar.bz2.part`, resumed with an HTTP Range
 *     request after a dropped connection (within this run, a few retries; across runs, the .part
 *     file stays);
 *   - progress as log lines (every 10%) and through a callback;
 *   - verified: the sha256 against the known value where we have one, and always by extracting the
 *     whole archive (bzip2 and tar check their own integrity) and finding the model's files;
 *   - extracted with the system `tar -xjf` (no bzip2 decoder is among the npm dependencies; Debian
 *     and macOS ship tar and bzip2) into a temporary folder beside the cache, then moved into place
 *     with one rename, so a crash never leaves a half-written model folder under its real name.
 * A folder that exists but lacks a required file is reported as broken, naming the file and the fix.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File, sizeOf } from '../common/download.js';
import type { Logger } from '../runtime/index.js';

export type SherpaModelName = 'sense-voice' | 'whisper-tiny' | 'whisper-base' | 'zipformer-bilingual';

export interface ModelSpec {
  name: string;
  /** Archive name without `.tar.bz2`; also the folder the archive unpacks to. */
  archive: string;
  /** sha256 of the archive, when known. */
  sha256?: string;
  /** Files the model folder must hold (relative paths). */
  files: readonly string[];
}

/** The sherpa-onnx models the settings can name (archives of the k2-fsa `asr-models` release). */
export const SHERPA_MODELS: Record<SherpaModelName, ModelSpec> = {
  'sense-voice': {
    name: 'sense-voice',
    archive: 'sherpa-onnx-sense-voice-zh-en-ja-ko-yue-int8-2024-07-17',
    files: ['model.int8.onnx', 'tokens.txt'],
  },
  'whisper-tiny': {
    name: 'whisper-tiny',
    archive: 'sherpa-onnx-whisper-tiny',
    files: ['tiny-encoder.int8.onnx', 'tiny-decoder.int8.onnx', 'tiny-tokens.txt'],
  },
  'whisper-base': {
    name: 'whisper-base',
    archive: 'sherpa-onnx-whisper-base',
    files: ['base-encoder.int8.onnx', 'base-decoder.int8.onnx', 'base-tokens.txt'],
  },
  'zipformer-bilingual': {
    name: 'zipformer-bilingual',
    archive: 'sherpa-onnx-streaming-zipformer-bilingual-zh-en-2023-02-20',
    files: ['encoder-epoch-99-avg-1.int8.onnx', 'decoder-epoch-99-avg-1.onnx', 'joiner-epoch-99-avg-1.int8.onnx', 'tokens.txt'],
  },
};

export interface Manifest {
  name: string;
  archive: string;
  url: string;
  sha256: string;
  /** Whether sha256 was checked against a known value (else it only records what was accepted). */
  verified: boolean;
  bytes: number;
  files: string[];
  acceptedAt: string;
}

export interface DownloadProgress {
  model: string;
  receivedBytes: number;
  totalBytes: number | undefined;
  done: boolean;
}

/** A model folder is unusable or a download failed; the message says what to do. */
export class ModelError extends Error {
  override readonly name = 'ModelError';
}

export interface ModelManagerOptions {
  /** The app's data dir: models go to <dataDir>/models/asr/. */
  dataDir: string;
  /** Archives are fetched from `${baseUrl}/${archive}.tar.bz2`. */
  baseUrl: string;
  log: Logger;
  onProgress?(p: DownloadProgress): void;
  /** Attempts per download (each resumes where the last stopped). */
  attempts?: number;
  /** A connection that delivers nothing for this long is dropped and retried, ms. */
  stallMs?: number;
}

export class ModelManager {
  readonly root: string;

  constructor(private readonly opts: ModelManagerOptions) {
    this.root = join(opts.dataDir, 'models', 'asr');
  }

  dirOf(spec: ModelSpec): string {
    return join(this.root, spec.name);
  }

  urlOf(spec: ModelSpec): string {
    return `${this.opts.baseUrl.replace(/\/+$/, '')}/${spec.archive}.tar.bz2`;
  }

  /** The model's folder, downloading and unpacking it first when it is not there. */
  async ensure(spec: ModelSpec, signal?: AbortSignal): Promise<string> {
    const dir = this.dirOf(spec);
    if (existsSync(dir)) {
      checkModelDir(dir, spec);
      return dir;
    }
    await mkdir(join(this.root, '.downloads'), { recursive: true });
    const part = join(this.root, '.downloads', `${spec.archive}.tar.bz2.part`);
    const url = this.urlOf(spec);
    const lock = await this.lock(spec);
    try {
      if (existsSync(dir)) return (checkModelDir(dir, spec), dir); // another process finished it meanwhile
      const bytes = await this.download(spec, url, part, signal);
      const sha256 = await sha256File(part);
      if (spec.sha256 && sha256 !== spec.sha256.toLowerCase()) {
        await unlink(part).catch(() => undefined);
        throw new ModelError(`the download of ${url} is corrupt: sha256 ${sha256} instead of ${spec.sha256}`);
      }
      await this.install(spec, part, { name: spec.name, archive: spec.archive, url, sha256, verified: Boolean(spec.sha256), bytes, files: [...spec.files], acceptedAt: new Date().toISOString() });
      await unlink(part).catch(() => undefined);
      this.opts.log.info({ model: spec.name, dir, bytes, sha256 }, 'model installed');
      return dir;
    } finally {
      await lock.release();
    }
  }

  /** Reads the manifest of an installed model (undefined when there is none). */
  async manifest(spec: ModelSpec): Promise<Manifest | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dirOf(spec), 'manifest.json'), 'utf8')) as Manifest;
    } catch {
      return undefined;
    }
  }

  // ---- download ------------------------------------------------------------------------------

  private async download(spec: ModelSpec, url: string, part: string, signal?: AbortSignal): Promise<number> {
    const attempts = this.opts.attempts ?? 4;
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      signal?.throwIfAborted();
      try {
        return await this.fetchOnce(spec, url, part, signal);
      } catch (e) {
        lastError = e as Error;
        if (e instanceof ModelError || signal?.aborted) throw e;
        const have = await sizeOf(part);
        this.opts.log.warn({ model: spec.name, attempt, have, err: lastError.message }, 'model download interrupted; resuming');
        await new Promise((r) => setTimeout(r, Math.min(2000, 200 * attempt)));
      }
    }
    throw new ModelError(`the download of ${url} failed after ${attempts} attempts: ${lastError?.message}`);
  }

  /** One HTTP request: resumes from the .part file's size when there is one. */
  private async fetchOnce(spec: ModelSpec, url: string, part: string, signal?: AbortSignal): Promise<number> {
    const have = await sizeOf(part);
    const ac = new AbortController();
    const onAbort = () => ac.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let stall: NodeJS.Timeout | undefined;
    const stallMs = this.opts.stallMs ?? 30_000;
    const armStall = () => {
      clearTimeout(stall);
      stall = setTimeout(() => ac.abort(new Error(`no data for ${stallMs / 1000} s`)), stallMs);
    };
    try {
      armStall();
      const res = await fetch(url, { headers: have > 0 ? { range: `bytes=${have}-` } : {}, signal: ac.signal, redirect: 'follow' });
      if (res.status === 416 && have > 0) {
        // The .part file already holds everything (or more than the server has): check its size.
        const total = Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1]);
        await res.body?.cancel();
        if (total === have) return have;
        await unlink(part).catch(() => undefined);
        throw new Error(`the partial download did not match the server's file (${have} of ${total} bytes); starting over`);
      }
      if (res.status === 404) throw new ModelError(`${url} was not found (HTTP 404)`);
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText} from ${url}`);
      const resumed = res.status === 206;
      let received = resumed ? have : 0;
      const length = Number(res.headers.get('content-length'));
      const total = resumed
        ? Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1]) || (Number.isFinite(length) ? have + length : undefined)
        : Number.isFinite(length) && length > 0
          ? length
          : undefined;
      if (resumed) this.opts.log.info({ model: spec.name, from: have, total }, 'resuming model download');
      else this.opts.log.info({ model: spec.name, url, total }, 'downloading model');
      let nextLog = 0.1;
      let lastReport = 0;
      const report = (done: boolean) => {
        this.opts.onProgress?.({ model: spec.name, receivedBytes: received, totalBytes: total, done });
        if (total && received / total >= nextLog && !done) {
          this.opts.log.info({ model: spec.name, received, total, percent: Math.floor((100 * received) / total) }, 'model download progress');
          while (received / total >= nextLog) nextLog += 0.1;
        }
      };
      // Chunk by chunk, each written before the next is read: a dropped connection loses only what
      // was still in flight, and the next attempt resumes from the file's size.
      const fh = await open(part, resumed ? 'a' : 'w');
      try {
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          await fh.write(chunk);
          received += chunk.length;
          armStall();
          const now = performance.now();
          if (now - lastReport > 250) {
            lastReport = now;
            report(false);
          }
        }
      } finally {
        await fh.close();
      }
      if (total !== undefined && received !== total) throw new Error(`connection closed at ${received} of ${total} bytes`);
      report(true);
      return received;
    } catch (e) {
      if (ac.signal.aborted && ac.signal.reason instanceof Error && !signal?.aborted) throw ac.signal.reason;
      throw e;
    } finally {
      clearTimeout(stall);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  // ---- install -------------------------------------------------------------------------------

  private async install(spec: ModelSpec, archive: string, manifest: Manifest): Promise<void> {
    const tmp = join(this.root, `.tmp-${spec.name}-${randomBytes(4).toString('hex')}`);
    await mkdir(tmp, { recursive: true });
    try {
      try {
        await run('tar', ['-xjf', archive, '-C', tmp]);
      } catch (e) {
        await unlink(archive).catch(() => undefined);
        throw new ModelError(`the archive ${spec.archive}.tar.bz2 is corrupt or not a tar.bz2 file (${(e as Error).message}); it was deleted, the next start downloads it again`);
      }
      // Archives hold one top folder named after them; accept the files at the top level too.
      let src = tmp;
      const entries = await readdir(tmp, { withFileTypes: true });
      if (!spec.files.some((f) => existsSync(join(tmp, f)))) {
        const dirs = entries.filter((e) => e.isDirectory());
        const sub = dirs.find((e) => e.name === spec.archive) ?? (dirs.length === 1 ? dirs[0] : undefined);
        if (sub) src = join(tmp, sub.name);
      }
      const missing = spec.files.filter((f) => !existsSync(join(src, f)));
      if (missing.length > 0) {
        await unlink(archive).catch(() => undefined);
        throw new ModelError(`the archive ${spec.archive}.tar.bz2 does not contain ${missing.join(', ')}: is asr.sherpa.modelsBaseUrl pointing at the right release?`);
      }
      await writeFile(join(src, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      const dir = this.dirOf(spec);
      await rename(src, dir);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** One download per model at a time across processes (several asr workers may share a data dir). */
  private async lock(spec: ModelSpec): Promise<{ release(): Promise<void> }> {
    const path = join(this.root, '.downloads', `${spec.name}.lock`);
    for (;;) {
      try {
        const fh = await open(path, 'wx');
        await fh.writeFile(String(process.pid));
        await fh.close();
        return { release: () => unlink(path).catch(() => undefined) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const owner = Number(await readFile(path, 'utf8').catch(() => ''));
        if (!owner || !pidAlive(owner)) {
          await unlink(path).catch(() => undefined); // its process is gone
          continue;
        }
        if (existsSync(this.dirOf(spec))) return { release: async () => undefined };
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}

/** Throws a ModelError naming the missing files of a model folder. */
export function checkModelDir(dir: string, spec: ModelSpec): void {
  const missing = spec.files.filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) {
    throw new ModelError(
      `the ${spec.name} model folder ${dir} is incomplete: ${missing.join(', ')} missing. Delete the folder to download it again, ` +
        `or unpack ${spec.archive}.tar.bz2 there`,
    );
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}


/** Runs a command; rejects with its last stderr lines when it fails. */
function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString('utf8')).slice(-2000);
    });
    child.on('error', (e) => reject(new Error(`${cmd} could not run: ${e.message}${cmd === 'tar' ? ' (install tar and bzip2)' : ''}`)));
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(err.trim().split('\n').slice(-2).join(' ') || `${cmd} exited with ${code}`));
    });
  });
}
