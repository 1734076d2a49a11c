/**
 * One log record as the supervisor keeps and streams it. Workers write pino JSON lines to stdout;
 * anything else (plain stdout text, every stderr line) is wrapped into a record here.
 */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface LogRecord {
  /** Monotonic sequence number given by the hub (for streaming clients to resume). */
  seq: number;
  /** Unix epoch milliseconds. */
  ts: number;
  service: string;
  instance: string;
  level: LogLevel;
  msg: string;
  /** Which output of the process it came from ('supervisor' for the supervisor's own records). */
  stream: 'stdout' | 'stderr' | 'supervisor';
  /** Structured fields of a JSON record, minus the ones lifted above. */
  fields?: Record<string, unknown>;
}

const PINO_LEVELS: Record<number, LogLevel> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const LEVEL_NAMES = new Set<string>(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

function levelOf(v: unknown, fallback: LogLevel): LogLevel {
  if (typeof v === 'number') return PINO_LEVELS[v] ?? (v >= 50 ? 'error' : v >= 40 ? 'warn' : fallback);
  if (typeof v === 'string' && LEVEL_NAMES.has(v)) return v as LogLevel;
  return fallback;
}

/** Fields of a pino line that become record properties rather than `fields`. */
const LIFTED = new Set(['level', 'time', 'msg', 'service', 'instance', 'pid', 'hostname', 'v']);

/**
 * Turns one output line into a record (without seq). JSON object lines are taken as structured
 * records; other lines are plain text: 'info' on stdout, 'error' on stderr.
 */
export function parseLine(
  line: string,
  origin: { service: string; instance: string; stream: 'stdout' | 'stderr' },
  now = Date.now(),
): Omit<LogRecord, 'seq'> {
  const plainLevel: LogLevel = origin.stream === 'stderr' ? 'error' : 'info';
  if (line.startsWith('{')) {
    try {
      const obj = JSON.parse(line) as unknown;
      if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
        const o = obj as Record<string, unknown>;
        const fields: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(o)) if (!LIFTED.has(k)) fields[k] = v;
        return {
          ts: typeof o.time === 'number' ? o.time : now,
          service: origin.service,
          instance: typeof o.instance === 'string' ? o.instance : origin.instance,
          level: levelOf(o.level, plainLevel),
          msg: typeof o.msg === 'string' ? o.msg : '',
          stream: origin.stream,
          ...(Object.keys(fields).length ? { fields } : {}),
        };
      }
    } catch {
      // Not JSON after all: fall through to a plain record.
    }
  }
  return { ts: now, service: origin.service, instance: origin.instance, level: plainLevel, msg: line, stream: origin.stream };
}

/** Splits a byte stream into lines, keeping an unterminated tail for the next chunk. */
export class LineSplitter {
  private rest = '';
  constructor(private readonly maxLine = 64 * 1024) {}

  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const parts = text.split(/\r?\n/);
    this.rest = parts.pop() ?? '';
    // A runaway line without newline is cut so memory stays bounded.
    if (this.rest.length > this.maxLine) {
      parts.push(this.rest.slice(0, this.maxLine));
      this.rest = '';
    }
    return parts.filter((l) => l.length > 0);
  }

  /** Whatever is left when the stream ends. */
  flush(): string[] {
    const r = this.rest;
    this.rest = '';
    return r ? [r] : [];
  }
}
