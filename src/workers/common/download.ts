/**
 * Downloading one file of an on-device model over HTTP(S), the way the ASR models are fetched
 * (workers/asr/models.ts):
 *   - into a `.part` file, written chunk by chunk (each write before the next read, so a dropped
 *     connection loses only what was in flight);
 *   - resumed with an HTTP Range request after a dropped or stalled connection (a few attempts in
 *     this run; across runs the `.part` file stays and the next run resumes from it);
 *   - progress through a callback (bytes received and the total when the server says it);
 *   - a 404 is final (`DownloadNotFound`); anything else is retried.
 * Checking the bytes (sha256) and moving them into place are the caller's part, so that a model
 * made of several files is installed with one rename of its folder.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, unlink } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';

export interface FileProgress {
  receivedBytes: number;
  totalBytes: number | undefined;
}

export interface DownloadFileOptions {
  url: string;
  /** The `.part` file (its folder must exist); resumed from its size when present. */
  part: string;
  signal?: AbortSignal;
  onProgress?(p: FileProgress): void;
  /** Logged when a connection drops and the download resumes. */
  onRetry?(info: { attempt: number; have: number; err: string }): void;
  /** Attempts (each resumes where the last stopped); default 4. */
  attempts?: number;
  /** A connection that delivers nothing for this long is dropped and retried, ms; default 30 s. */
  stallMs?: number;
  /** Wait before attempt n is min(2000, retryBaseMs * n), ms; default 200. */
  retryBaseMs?: number;
}

/** The server has no such file (HTTP 404): retrying will not help. */
export class DownloadNotFound extends Error {
  override readonly name = 'DownloadNotFound';
}

/** Downloads `url` into `part` (resuming), returns the file's size once complete. */
export async function downloadFile(o: DownloadFileOptions): Promise<number> {
  const attempts = o.attempts ?? 4;
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    o.signal?.throwIfAborted();
    try {
      return await fetchOnce(o);
    } catch (e) {
      lastError = e as Error;
      if (e instanceof DownloadNotFound || o.signal?.aborted) throw e;
      if (attempt < attempts) {
        o.onRetry?.({ attempt, have: await sizeOf(o.part), err: lastError.message });
        await new Promise((r) => setTimeout(r, Math.min(2000, (o.retryBaseMs ?? 200) * attempt)));
      }
    }
  }
  throw new Error(`the download of ${o.url} failed after ${attempts} attempts: ${lastError?.message}`);
}

async function fetchOnce(o: DownloadFileOptions): Promise<number> {
  const have = await sizeOf(o.part);
  const ac = new AbortController();
  const onAbort = () => ac.abort(o.signal?.reason);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  let stall: NodeJS.Timeout | undefined;
  const stallMs = o.stallMs ?? 30_000;
  const armStall = () => {
    clearTimeout(stall);
    stall = setTimeout(() => ac.abort(new Error(`no data for ${stallMs / 1000} s`)), stallMs);
  };
  try {
    armStall();
    const res = await fetch(o.url, { headers: have > 0 ? { range: `bytes=${have}-` } : {}, signal: ac.signal, redirect: 'follow' });
    if (res.status === 416 && have > 0) {
      // The .part file already holds everything (or more than the server has): check its size.
      const total = Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1]);
      await res.body?.cancel();
      if (total === have) return have;
      await unlink(o.part).catch(() => undefined);
      throw new Error(`the partial download did not match the server's file (${have} of ${total} bytes); starting over`);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      throw new DownloadNotFound(`${o.url} was not found (HTTP 404)`);
    }
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText} from ${o.url}`);
    const resumed = res.status === 206;
    let received = resumed ? have : 0;
    const length = Number(res.headers.get('content-length'));
    const total = resumed
      ? Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1]) || (Number.isFinite(length) ? have + length : undefined)
      : Number.isFinite(length) && length > 0
        ? length
        : undefined;
    let lastReport = 0;
    const fh = await open(o.part, resumed ? 'a' : 'w');
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        await fh.write(chunk);
        received += chunk.length;
        armStall();
        const now = performance.now();
        if (now - lastReport > 250) {
          lastReport = now;
          o.onProgress?.({ receivedBytes: received, totalBytes: total });
        }
      }
    } finally {
      await fh.close();
    }
    if (total !== undefined && received !== total) throw new Error(`connection closed at ${received} of ${total} bytes`);
    o.onProgress?.({ receivedBytes: received, totalBytes: total ?? received });
    return received;
  } catch (e) {
    if (ac.signal.aborted && ac.signal.reason instanceof Error && !o.signal?.aborted) throw ac.signal.reason;
    throw e;
  } finally {
    clearTimeout(stall);
    o.signal?.removeEventListener('abort', onAbort);
  }
}

export async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}
