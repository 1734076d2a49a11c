/**
 * Structured logs of a worker: pino JSON, one line per record, on stdout, with the service and
 * instance in every record. The supervisor parses these lines (src/main/logging).
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createWorkerLogger(service: string, instance: string, level: string): Logger {
  const dest = pino.destination({ dest: 1, sync: true });
  // When the parent is gone the pipe breaks (EPIPE): logging must not kill the shutdown path.
  dest.on('error', () => undefined);
  return pino(
    {
      level,
      base: { service, instance, pid: process.pid },
      redact: { paths: ['password', '*.password', 'apiKey', '*.apiKey', 'api_key', '*.api_key'], censor: '[REDACTED]' },
    },
    dest,
  );
}
