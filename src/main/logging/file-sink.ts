/**
 * Writes log records as JSON lines to `<dir>/<service>.log`, one rotating file per service
 * (rotating-file-stream, size based: the current `<service>.log` plus the last `maxFiles` rotated
 * files `<service>.log.<n>`, n growing; older ones are deleted).
 */
import { mkdirSync } from 'node:fs';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import type { LogRecord } from './log-record.js';

export interface FileSinkOptions {
  /** Directory of the files, normally `<dataDir>/logs`. */
  dir: string;
  /** Rotate when a file reaches this size, rotating-file-stream syntax (default '10M'). */
  size?: `${number}${'B' | 'K' | 'M' | 'G'}`;
  /** Rotated files kept per service (default 5). */
  maxFiles?: number;
}

const SAFE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;

export class FileSink {
  private readonly streams = new Map<string, RotatingFileStream>();
  private closed = false;

  constructor(private readonly opts: FileSinkOptions) {
    mkdirSync(opts.dir, { recursive: true });
  }

  write(rec: LogRecord): void {
    if (this.closed) return;
    this.stream(rec.service)?.write(JSON.stringify(rec) + '\n');
  }

  /** Path of a service's current file. */
  pathOf(service: string): string {
    return `${this.opts.dir}/${service}.log`;
  }

  private stream(service: string): RotatingFileStream | undefined {
    // A service name becomes a file name: refuse anything that could escape the directory.
    if (!SAFE_NAME.test(service)) return undefined;
    let s = this.streams.get(service);
    if (!s) {
      s = createStream((time, index) => (time && index ? `${service}.log.${index}` : `${service}.log`), {
        path: this.opts.dir,
        size: this.opts.size ?? '10M',
        maxFiles: this.opts.maxFiles ?? 5,
        // rotating-file-stream tracks rotated files in a history file; keep it out of the way.
        history: `.${service}.log.history`,
      });
      // A full disk or a removed directory must not take the supervisor down.
      s.on('error', () => undefined);
      this.streams.set(service, s);
    }
    return s;
  }

  /** Flushes and closes every file. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.streams.values()];
    this.streams.clear();
    await Promise.all(
      all.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.once('finish', () => resolve());
            s.once('error', () => resolve());
            s.end();
          }),
      ),
    );
  }
}
