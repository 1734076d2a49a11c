/**
 * The command table: name -> spec. Lookups try the name as sent first and then lowercased, and
 * every command is registered under both its lower- and upper-case spelling, so the common cases
 * ("GET", "get") are a single Map hit on the latin1 string the parser produced.
 */
import type { Client } from './client.js';
import type { Arg } from './resp-parser.js';

export const F_WRITE = 1;
/** Allowed while the connection is in RESP2 subscribed mode. */
export const F_PUBSUB = 2;
/** Allowed before AUTH when a password is set. */
export const F_NOAUTH = 4;
/** Executed immediately even inside MULTI (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET). */
export const F_NOQUEUE = 8;
/** May block the client. */
export const F_BLOCKING = 16;
export const F_READONLY = 32;
/** Not allowed inside MULTI (WATCH). */
export const F_NOMULTI = 64;

export interface CommandSpec {
  /** Lowercase name as Redis reports it. */
  name: string;
  /** Redis arity: N = exactly N args (name included), -N = at least N. */
  arity: number;
  flags: number;
  /** Key positions for COMMAND INFO (first, last, step); 0 0 0 for keyless commands. */
  keys?: [number, number, number];
  run: (c: Client, argv: Arg[]) => void;
}

export class CommandTable {
  private readonly map = new Map<string, CommandSpec>();
  readonly specs: CommandSpec[] = [];

  add(specs: CommandSpec[]): void {
    for (const s of specs) {
      this.specs.push(s);
      this.map.set(s.name, s);
      this.map.set(s.name.toUpperCase(), s);
    }
  }

  lookup(name: Arg): CommandSpec | undefined {
    if (typeof name !== 'string') return undefined;
    return this.map.get(name) ?? this.map.get(name.toLowerCase());
  }

  get size(): number {
    return this.specs.length;
  }
}

/** Redis 7's flag words for COMMAND output. */
export function flagWords(spec: CommandSpec): string[] {
  const out: string[] = [];
  if (spec.flags & F_WRITE) out.push('write');
  if (spec.flags & F_READONLY) out.push('readonly');
  if (spec.flags & F_PUBSUB) out.push('pubsub');
  if (spec.flags & F_NOAUTH) out.push('no_auth');
  if (spec.flags & F_BLOCKING) out.push('blocking');
  if (spec.flags & F_NOMULTI) out.push('no_multi');
  out.push('fast');
  return out;
}
