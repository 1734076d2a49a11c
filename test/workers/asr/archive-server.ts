/**
 * A local stand-in for the sherpa-onnx release server: archives by name with Range support, and
 * knobs to drop, stall, hold or corrupt the next responses; and a tar.bz2 built like a release
 * archive (one top folder named after it). Used by the model manager's and the model admin's tests.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ModelSpec } from '../../../src/workers/asr/models.js';

export interface Served {
  range?: string;
  status: number;
  bytes: number;
}

/** Serves archives by name with Range support; knobs to drop, stall or corrupt the next responses. */
export class ArchiveServer {
  readonly files = new Map<string, Buffer>();
  readonly served: Served[] = [];
  /** The next N responses end (connection closed) after this many body bytes. */
  drop: { after: number; times: number } | undefined;
  /** The next response sends this many bytes and then nothing. */
  stallAfter: number | undefined;
  /** The next response sends this many bytes, then the rest once `release()` is called. */
  holdAfter: number | undefined;
  private held: Array<() => void> = [];
  private server!: http.Server;
  url = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/asr-models`;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const name = decodeURIComponent((req.url ?? '').replace(/^\/asr-models\//, ''));
    const body = this.files.get(name);
    const rec: Served = { range: req.headers.range, status: 200, bytes: 0 };
    this.served.push(rec);
    if (!body) {
      rec.status = 404;
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }
    if (req.method === 'HEAD') {
      // A size probe: headers only, and the knobs stay for the download.
      res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes' }).end();
      return;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m) {
      start = Number(m[1]);
      if (start >= body.length) {
        rec.status = 416;
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      rec.status = 206;
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, 'accept-ranges': 'bytes' });
    } else {
      res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes' });
    }
    const rest = body.subarray(start);
    if (this.stallAfter !== undefined) {
      const n = this.stallAfter;
      this.stallAfter = undefined;
      rec.bytes = n;
      res.write(rest.subarray(0, n));
      return; // never ends: the client's stall timer must give up
    }
    if (this.holdAfter !== undefined) {
      const n = Math.min(this.holdAfter, rest.length);
      this.holdAfter = undefined;
      rec.bytes = n;
      res.write(rest.subarray(0, n));
      this.held.push(() => {
        rec.bytes = rest.length;
        res.end(rest.subarray(n));
      });
      return;
    }
    if (this.drop && this.drop.times > 0) {
      this.drop.times--;
      const n = Math.min(this.drop.after, rest.length);
      rec.bytes = n;
      // Half-close after the bytes: they all arrive, then the connection ends short of its length.
      res.write(rest.subarray(0, n), () => res.socket?.end());
      return;
    }
    rec.bytes = rest.length;
    res.end(rest);
  }

  /** Sends the rest of the held responses (a client that went away meanwhile gets nothing). */
  release(): void {
    for (const send of this.held.splice(0)) send();
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

/** A tar.bz2 like a sherpa-onnx release: one top folder named after the archive holding `files`. */
export function buildModelArchive(tmp: string, spec: ModelSpec, files: Record<string, Buffer>): Buffer {
  const root = mkdtempSync(join(tmp, 'build-'));
  const top = join(root, spec.archive);
  mkdirSync(top);
  for (const [name, data] of Object.entries(files)) writeFileSync(join(top, name), data);
  const out = join(root, 'a.tar.bz2');
  execFileSync('tar', ['-cjf', out, '-C', root, spec.archive]);
  return readFileSync(out);
}

