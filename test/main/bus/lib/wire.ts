/**
 * The byte-level differential harness (raw sockets): a wire case writes commands or bytes on bare
 * connections and records the exact reply bytes; the same case runs against every target and the
 * logs must be equal. Used by wire.test.ts (RESP2) and wire-resp3.test.ts (RESP3).
 */
import { expect } from 'vitest';
import type { Conformance } from './differential.js';
import { RawConn } from './raw-conn.js';
import { showBytes } from './resp.js';
import type { Target } from './targets.js';

export interface Wire {
  open(label: string): Promise<WireConn>;
  record(step: string, value: unknown): void;
}

export interface WireConn {
  /** Sends a multibulk command and records its reply's bytes. */
  cmd(...args: string[]): Promise<void>;
  /**
   * Sends a command and records `mask(reply bytes)`, for replies holding values two correct
   * servers differ in (client ids, idle times, internals); the mask must keep everything else.
   */
  cmdMasked(mask: (shown: string) => string, ...args: string[]): Promise<void>;
  /** Writes bytes as they are and records the next `n` replies. */
  raw(bytes: string, n: number): Promise<void>;
  /** Writes bytes as they are and records everything until the server closes (and that it closed). */
  rawUntilClose(bytes: string): Promise<void>;
  /** Records the next `n` replies (push frames) without sending anything. */
  read(n: number): Promise<void>;
  send(...args: string[]): void;
}

export interface WireCase {
  name: string;
  run(w: Wire): Promise<void>;
}

export async function runWire(t: Target, c: WireCase): Promise<Array<[string, unknown]>> {
  const log: Array<[string, unknown]> = [];
  const conns: RawConn[] = [];
  const w: Wire = {
    record: (step, value) => void log.push([step, value]),
    async open(label) {
      const conn = await RawConn.open(t.port);
      conns.push(conn);
      const rec = async (step: string, n: number, mask: (s: string) => string = (s) => s) => {
        try {
          log.push([`${label}> ${step}`, mask(showBytes(await conn.read(n)))]);
        } catch (err) {
          log.push([`${label}> ${step}`, `READ FAILED: ${(err as Error).message}`]);
        }
      };
      return {
        send: (...args) => conn.send(...args),
        cmd: (...args) => (conn.send(...args), rec(args.join(' '), 1)),
        cmdMasked: (mask, ...args) => (conn.send(...args), rec(args.join(' '), 1, mask)),
        raw: (bytes, n) => (conn.write(bytes), rec(showBytes(Buffer.from(bytes)), n)),
        read: (n) => rec('(read)', n),
        async rawUntilClose(bytes) {
          conn.write(bytes);
          const { data, closed } = await conn.readUntilClose(2000);
          log.push([`${label}> ${showBytes(Buffer.from(bytes))}`, { data: showBytes(Buffer.from(data, 'latin1')), closed }]);
        },
      };
    },
  };
  try {
    await c.run(w);
  } finally {
    for (const conn of conns) conn.close();
  }
  return log;
}

/**
 * Runs a wire case on every target (after FLUSHALL) and compares each log with the reference's.
 * `password`: the one the targets were started with (FLUSHALL authenticates first).
 */
export async function checkWire(conf: Conformance, c: WireCase, password?: string): Promise<void> {
  const targets = conf.targets();
  const logs: Array<Array<[string, unknown]>> = [];
  for (const t of targets) {
    const flush = await RawConn.open(t.port);
    if (password) await flush.call('AUTH', password);
    await flush.call('FLUSHALL');
    flush.close();
    logs.push(await runWire(t, c));
  }
  if (process.env.BUS_CONFORMANCE_DUMP) console.log(`${c.name}\n${logs[0].map((e) => JSON.stringify(e)).join('\n')}`);
  for (let i = 1; i < targets.length; i++) {
    expect(logs[i], `${c.name}: ${targets[i].name} vs ${targets[0].name}`).toEqual(logs[0]);
  }
}
