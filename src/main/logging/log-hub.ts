/**
 * The supervisor's log hub: takes raw output of worker processes (and the supervisor's own
 * records), turns it into redacted records, keeps the latest ones in bounded ring buffers (one per
 * service and one global) for the gateway to tail and stream, and writes them to rotating files.
 */
import { FileSink, type FileSinkOptions } from './file-sink.js';
import { LineSplitter, parseLine, type LogLevel, type LogRecord } from './log-record.js';
import { Redactor } from './redact.js';

export interface LogHubOptions {
  /** Records kept per service and globally (default 2000). */
  capacity?: number;
  /** Files; omitted => no files (memory only). */
  files?: FileSinkOptions;
  /** Shared redactor (e.g. one that knows the bus password). */
  redactor?: Redactor;
}

/** Fixed-size ring buffer. */
class Ring<T> {
  private buf: T[] = [];
  private start = 0;
  constructor(private readonly cap: number) {}
  push(v: T): void {
    if (this.buf.length < this.cap) this.buf.push(v);
    else {
      this.buf[this.start] = v;
      this.start = (this.start + 1) % this.cap;
    }
  }
  last(n: number): T[] {
    const ordered = this.start === 0 ? this.buf : [...this.buf.slice(this.start), ...this.buf.slice(0, this.start)];
    return n >= ordered.length ? ordered.slice() : ordered.slice(ordered.length - n);
  }
}

export type LogListener = (rec: LogRecord) => void;

export class LogHub {
  readonly redactor: Redactor;
  private readonly capacity: number;
  private readonly global: Ring<LogRecord>;
  private readonly perService = new Map<string, Ring<LogRecord>>();
  private readonly splitters = new Map<string, LineSplitter>();
  private readonly listeners = new Set<LogListener>();
  private readonly files: FileSink | undefined;
  private seq = 0;

  constructor(opts: LogHubOptions = {}) {
    this.capacity = opts.capacity ?? 2000;
    this.global = new Ring(this.capacity);
    this.redactor = opts.redactor ?? new Redactor();
    this.files = opts.files ? new FileSink(opts.files) : undefined;
  }

  /** Raw output chunk of a process. Lines are split across chunks per (instance, stream). */
  ingest(service: string, instance: string, stream: 'stdout' | 'stderr', chunk: string): LogRecord[] {
    const key = `${instance}\u0000${stream}`;
    let sp = this.splitters.get(key);
    if (!sp) this.splitters.set(key, (sp = new LineSplitter()));
    return sp.push(chunk).map((line) => this.addLine(service, instance, stream, line));
  }

  /** The process of this instance ended: emit its unterminated last line, if any. */
  endOf(service: string, instance: string): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const key = `${instance}\u0000${stream}`;
      const sp = this.splitters.get(key);
      if (!sp) continue;
      this.splitters.delete(key);
      for (const line of sp.flush()) this.addLine(service, instance, stream, line);
    }
  }

  /** A record of the supervisor itself, about a service (or 'supervisor'). */
  note(service: string, level: LogLevel, msg: string, fields?: Record<string, unknown>): LogRecord {
    const text = this.redactor.redact(msg);
    const f = fields ? (JSON.parse(this.redactor.redact(JSON.stringify(fields))) as Record<string, unknown>) : undefined;
    return this.add({ ts: Date.now(), service, instance: 'supervisor', level, msg: text, stream: 'supervisor', ...(f ? { fields: f } : {}) });
  }

  /** The latest n records, of one service or of all. */
  tail(n: number, service?: string): LogRecord[] {
    const ring = service === undefined ? this.global : this.perService.get(service);
    return ring ? ring.last(Math.max(0, n)) : [];
  }

  subscribe(listener: LogListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  filePath(service: string): string | undefined {
    return this.files?.pathOf(service);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.files?.close();
  }

  private addLine(service: string, instance: string, stream: 'stdout' | 'stderr', line: string): LogRecord {
    // Redact the raw line first: the patterns keep JSON valid, so parsing after is safe.
    return this.add(parseLine(this.redactor.redact(line), { service, instance, stream }));
  }

  private add(partial: Omit<LogRecord, 'seq'>): LogRecord {
    const rec: LogRecord = { seq: ++this.seq, ...partial };
    this.global.push(rec);
    let ring = this.perService.get(rec.service);
    if (!ring) this.perService.set(rec.service, (ring = new Ring(this.capacity)));
    ring.push(rec);
    this.files?.write(rec);
    for (const l of [...this.listeners]) {
      try {
        l(rec);
      } catch {
        // A faulty listener must not break logging for the others.
      }
    }
    return rec;
  }
}
