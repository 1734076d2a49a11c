/**
 * Downloaded ONNX embedding models: `<dataDir>/models/embeddings/<name>/` holds one model's files
 * (their repo paths) and a `manifest.json` saying what was accepted (URLs, sha256, sizes).
 *
 * A missing model is fetched file by file from `<downloadBaseUrl>/<repo>/resolve/main/<path>`
 * (Hugging Face or a mirror such as https://hf-mirror.com):
 *   - each into `<root>/.downloads/<name>/<path>.part`, resumed with Range after a dropped
 *     connection (common/download.ts);
 *   - verified against its sha256 where the spec knows it (a mismatch deletes the .part file);
 *   - all files then moved into a temporary folder beside the model folder, and that renamed into
 *     place at once, so a crash never leaves a half model under its real name.
 * A folder that exists but lacks a required file is broken: the error names the file and the fix.
 * One long-term-memory service runs per data dir (a singleton), so no cross-process lock is taken.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../../runtime/index.js';
import { DownloadNotFound, downloadFile, sha256File } from '../../common/download.js';
import type { OnnxModelSpec } from './onnx-models.js';
import { EmbedderError } from './types.js';

export interface OnnxManifest {
  name: string;
  repo: string;
  files: Array<{ path: string; url: string; sha256: string; verified: boolean; bytes: number }>;
  /** Optional files the server did not have. */
  absent: string[];
  acceptedAt: string;
}

export interface ModelDownloadOptions {
  dataDir: string;
  downloadBaseUrl: string;
  log: Pick<Logger, 'info' | 'warn'>;
  /** Overall progress 0..1. */
  onProgress?(fraction: number): void;
  signal?: AbortSignal;
  attempts?: number;
  stallMs?: number;
  retryBaseMs?: number;
}

export function embeddingModelsRoot(dataDir: string): string {
  return join(dataDir, 'models', 'embeddings');
}

export function modelDir(dataDir: string, spec: OnnxModelSpec): string {
  return join(embeddingModelsRoot(dataDir), spec.name);
}

export function fileUrl(baseUrl: string, spec: OnnxModelSpec, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${spec.repo}/resolve/main/${path}`;
}

/** Throws EmbedderError('broken') naming the required files a model folder lacks. */
export function checkModelDir(dir: string, spec: OnnxModelSpec): void {
  const missing = spec.files.filter((f) => !f.optional && !existsSync(join(dir, f.path))).map((f) => f.path);
  if (missing.length > 0)
    throw new EmbedderError(
      `the ${spec.name} embedding model folder ${dir} is incomplete: ${missing.join(', ')} missing. Delete the folder to download the model again`,
      'broken',
    );
}

/** The model's folder, downloading it first when it is not there. */
export async function ensureOnnxModel(spec: OnnxModelSpec, o: ModelDownloadOptions): Promise<string> {
  const dir = modelDir(o.dataDir, spec);
  if (existsSync(dir)) {
    checkModelDir(dir, spec);
    return dir;
  }
  const root = embeddingModelsRoot(o.dataDir);
  const parts = join(root, '.downloads', spec.name);
  const weights = spec.files.map((f) => f.approxBytes ?? 1_000_000);
  const allWeight = weights.reduce((a, b) => a + b, 0);
  let doneWeight = 0;
  const manifest: OnnxManifest = { name: spec.name, repo: spec.repo, files: [], absent: [], acceptedAt: '' };
  o.log.info({ model: spec.name, from: o.downloadBaseUrl }, 'downloading embedding model');
  for (const [i, f] of spec.files.entries()) {
    const url = fileUrl(o.downloadBaseUrl, spec, f.path);
    const part = join(parts, `${f.path}.part`);
    await mkdir(dirname(part), { recursive: true });
    let bytes: number;
    try {
      bytes = await downloadFile({
        url,
        part,
        signal: o.signal,
        attempts: o.attempts,
        stallMs: o.stallMs,
        retryBaseMs: o.retryBaseMs,
        onProgress: (p) => {
          const frac = p.totalBytes ? Math.min(1, p.receivedBytes / p.totalBytes) : 0;
          o.onProgress?.(Math.min(1, (doneWeight + frac * weights[i]!) / allWeight));
        },
        onRetry: (r) => o.log.warn({ model: spec.name, file: f.path, ...r }, 'embedding model download interrupted; resuming'),
      });
    } catch (e) {
      if (e instanceof DownloadNotFound && f.optional) {
        manifest.absent.push(f.path);
        doneWeight += weights[i]!;
        continue;
      }
      if (o.signal?.aborted) throw e;
      const fix = e instanceof DownloadNotFound ? `is memory.embedder.downloadBaseUrl (${o.downloadBaseUrl}) a Hugging Face mirror?` : 'check the network or set memory.embedder.downloadBaseUrl to a mirror (e.g. https://hf-mirror.com); the download resumes at the next start';
      throw new EmbedderError(`the ${spec.name} embedding model could not be downloaded: ${(e as Error).message}: ${fix}`, 'missing');
    }
    const sha256 = await sha256File(part);
    if (f.sha256 && sha256 !== f.sha256.toLowerCase()) {
      await unlink(part).catch(() => undefined);
      throw new EmbedderError(`the download of ${url} is corrupt: sha256 ${sha256} instead of ${f.sha256}; it was deleted, the next start downloads it again`, 'broken');
    }
    manifest.files.push({ path: f.path, url, sha256, verified: Boolean(f.sha256), bytes });
    doneWeight += weights[i]!;
  }
  manifest.acceptedAt = new Date().toISOString();
  const tmp = join(root, `.tmp-${spec.name}-${randomBytes(4).toString('hex')}`);
  try {
    for (const f of manifest.files) {
      await mkdir(dirname(join(tmp, f.path)), { recursive: true });
      await rename(join(parts, `${f.path}.part`), join(tmp, f.path));
    }
    await writeFile(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(tmp, dir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  await rm(parts, { recursive: true, force: true });
  await rmdir(dirname(parts)).catch(() => undefined); // only when no other model's download waits there
  o.onProgress?.(1);
  o.log.info({ model: spec.name, dir, bytes: manifest.files.reduce((n, f) => n + f.bytes, 0) }, 'embedding model installed');
  return dir;
}
