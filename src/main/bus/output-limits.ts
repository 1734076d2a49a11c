/**
 * `client-output-buffer-limit`, with redis-server's defaults, syntax and rule: per client class a
 * hard limit (the client is closed as soon as its pending output reaches it) and a soft limit (closed
 * once its output has stayed at or above it for more than `soft_seconds`; dropping below resets the
 * timer). 0 disables a limit. The bus has no replicas, so the `slave` class is stored and reported
 * for clients that read it but never applies.
 */
import { RedisError } from './errors.js';

export type ClientClass = 'normal' | 'slave' | 'pubsub';

export interface Limit {
  hard: bigint;
  soft: bigint;
  softSeconds: number;
}

const CLASSES: readonly ClientClass[] = ['normal', 'slave', 'pubsub'];
const MAX_U64 = (1n << 64n) - 1n;
const MB = 1024n * 1024n;

/** The outcome of one check: keep the client, or close it (and why, for the log). */
export type Verdict = 'ok' | 'hard' | 'soft';

/** A client's soft-limit state: when its output first reached the soft limit (-1: it is below). */
export interface SoftState {
  obufSoftSince: number;
}

function configError(reason: string): RedisError {
  return new RedisError(`ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - ${reason}`);
}

/** redis's memtoull: digits and an optional unit (b, k, kb, m, mb, g, gb; k = 1000, kb = 1024), saturating. */
function parseBytes(s: string): bigint | null {
  const m = /^([0-9]+)(b|k|kb|m|mb|g|gb)?$/i.exec(s);
  if (m === null) return null;
  const unit = (m[2] ?? 'b').toLowerCase();
  const mul = { b: 1n, k: 1000n, kb: 1024n, m: 1000_000n, mb: MB, g: 1000_000_000n, gb: 1024n * MB }[unit]!;
  const v = BigInt(m[1]) * mul;
  return v > MAX_U64 ? MAX_U64 : v;
}

function parseSeconds(s: string): number | null {
  if (!/^[+-]?[0-9]+$/.test(s)) return null;
  const v = Number(s);
  return v >= 0 && v <= 2147483647 ? v : null;
}

function parseClass(s: string): ClientClass | null {
  const n = s.toLowerCase();
  if (n === 'replica') return 'slave';
  return (CLASSES as readonly string[]).includes(n) ? (n as ClientClass) : null;
}

export class OutputLimits {
  private readonly limits: Record<ClientClass, Limit> = {
    normal: { hard: 0n, soft: 0n, softSeconds: 0 },
    slave: { hard: 256n * MB, soft: 64n * MB, softSeconds: 60 },
    pubsub: { hard: 32n * MB, soft: 8n * MB, softSeconds: 60 },
  };
  /** Per class, the smallest non-zero limit in bytes (Infinity: none), so the common case is one compare. */
  private floor: Record<ClientClass, number> = { normal: Infinity, slave: Infinity, pubsub: Infinity };

  constructor() {
    this.recompute();
  }

  get(cls: ClientClass): Readonly<Limit> {
    return this.limits[cls];
  }

  /** The CONFIG GET value, in redis's order and words. */
  format(): string {
    return CLASSES.map((c) => `${c} ${this.limits[c].hard} ${this.limits[c].soft} ${this.limits[c].softSeconds}`).join(' ');
  }

  /**
   * Applies a CONFIG SET value ("<class> <hard> <soft> <seconds>" repeated, single spaces): every
   * group is checked before any is applied; the errors are redis-server's.
   */
  set(value: string): void {
    const words = value === '' ? [] : value.split(' ');
    if (words.length % 4 !== 0) throw configError('Wrong number of arguments in buffer limit configuration.');
    const parsed: Array<[ClientClass, Limit]> = [];
    for (let i = 0; i < words.length; i += 4) {
      const cls = parseClass(words[i]);
      if (cls === null) throw configError('Invalid client class specified in buffer limit configuration.');
      const hard = parseBytes(words[i + 1]);
      const soft = parseBytes(words[i + 2]);
      const softSeconds = parseSeconds(words[i + 3]);
      if (hard === null || soft === null || softSeconds === null) {
        throw configError('Error in hard, soft or soft_seconds setting in buffer limit configuration.');
      }
      parsed.push([cls, { hard, soft, softSeconds }]);
    }
    for (const [cls, limit] of parsed) this.limits[cls] = limit;
    this.recompute();
  }

  private recompute(): void {
    for (const c of CLASSES) {
      const { hard, soft } = this.limits[c];
      const nonZero = [hard, soft].filter((v) => v > 0n).map(Number);
      this.floor[c] = nonZero.length ? Math.min(...nonZero) : Infinity;
    }
  }

  /** True when `used` bytes might break a limit of cls (or a soft timer runs): check() is then due. */
  due(cls: ClientClass, used: number, st: SoftState): boolean {
    return used >= this.floor[cls] || st.obufSoftSince !== -1;
  }

  /**
   * redis-server's rule for a client of class cls with `used` bytes of output pending at `now` (ms):
   * at or above hard -> close; at or above soft for more than softSeconds -> close; the soft timer
   * starts at the first check above soft and resets at the first check below it.
   */
  check(cls: ClientClass, used: number, st: SoftState, now: number): Verdict {
    const { hard, soft, softSeconds } = this.limits[cls];
    if (hard > 0n && used >= Number(hard)) return 'hard';
    if (soft > 0n && used >= Number(soft)) {
      if (st.obufSoftSince === -1) {
        st.obufSoftSince = now;
        return 'ok';
      }
      return now - st.obufSoftSince > softSeconds * 1000 ? 'soft' : 'ok';
    }
    st.obufSoftSince = -1;
    return 'ok';
  }
}
