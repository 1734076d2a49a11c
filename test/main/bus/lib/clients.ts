/**
 * The two Redis client libraries the conformance suite drives, behind one small interface. Replies
 * are taken RAW (no per-command reply transformers) and errors become `{ error: text }` values so a
 * transcript of replies, error replies included, can be compared with `toEqual`.
 *
 *  - ioredis (RESP2 pinned): commands go through `sendCommand(new Command(NAME, args))`. ioredis keys its reply
 *    transformers (HGETALL -> object, XREAD -> ...) by the exact lowercase command name, so the
 *    upper-cased name gets the server's reply untouched.
 *  - node-redis: `client.sendCommand([...])` with `RESP: 2`.
 *  - node-redis (RESP3): node-redis 6 with its DEFAULT options, which open with `HELLO 3`. Replies
 *    come through its default RESP3 type mapping: null `_` -> null, map `%` -> object (recorded
 *    here as `{ map: [[key, value], ...] }` in wire order), set `~` -> array, double -> number,
 *    verbatim `=` -> string. What distinguishes `~` from `*` is only visible raw (wire.test.ts).
 * Pub/sub goes through each library's own subscribe API (raw SUBSCRIBE would confuse their
 * subscriber-mode bookkeeping); messages are collected as ['message', channel, text] /
 * ['pmessage', pattern, channel, text].
 */
import { Command, Redis } from 'ioredis';
import { createClient } from 'redis';

export type Reply = string | number | boolean | null | { error: string } | ReplyMap | Reply[];
/** A RESP3 map as a client decoded it, entries in the order the client saw them. */
export interface ReplyMap {
  map: Array<[string, Reply]>;
}
export type PubSubMessage = [kind: 'message', channel: string, text: string] | [kind: 'pmessage', pattern: string, channel: string, text: string];

export interface ClientConn {
  /** Sends one command; an error reply (or a client-side failure) resolves to `{ error }`. */
  call(args: string[]): Promise<Reply>;
  subscribe(channels: string[]): Promise<Reply>;
  psubscribe(patterns: string[]): Promise<Reply>;
  unsubscribe(channels: string[]): Promise<Reply>;
  readonly messages: PubSubMessage[];
  close(): Promise<void>;
}

export interface OpenOptions {
  /** The database the client selects itself on connecting (its `db` / `database` option, redis://host/N). */
  db?: number;
}

export interface ClientKind {
  name: 'ioredis' | 'node-redis' | 'node-redis (RESP3)';
  open(port: number, opts?: OpenOptions): Promise<ClientConn>;
}

/** Converts a client's decoded reply into the plain comparable form. */
export function plain(v: unknown): Reply {
  if (v === null || v === undefined) return null;
  if (v instanceof Error) return { error: v.message };
  if (Array.isArray(v)) return v.map(plain);
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v;
  // node-redis decodes a RESP3 map to a plain object by default.
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return { map: Object.entries(v as Record<string, unknown>).map(([k, x]): [string, Reply] => [k, plain(x)]) };
  }
  throw new Error(`unexpected reply value from client: ${String(v)}`);
}

async function settle(p: Promise<unknown>): Promise<Reply> {
  try {
    return plain(await p);
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

const ioredisKind: ClientKind = {
  name: 'ioredis',
  async open(port, opts = {}) {
    const r = new Redis({
      port,
      host: '127.0.0.1',
      db: opts.db ?? 0,
      lazyConnect: true,
      // No INFO ready-check (it would hit NOAUTH in the AUTH cases), no reconnects after QUIT or a
      // protocol error, no silent re-subscribe: the test sees exactly what the server did.
      enableReadyCheck: false,
      retryStrategy: () => null,
      autoResubscribe: false,
      maxRetriesPerRequest: 0,
      // ioredis 6 opens with HELLO 3 and falls back to RESP2 on NOPROTO; pin RESP2 so both servers
      // are spoken to alike (the fallback itself is covered in client-defaults.test.ts).
      protocol: 2,
    });
    r.on('error', () => undefined);
    await r.connect();
    const messages: PubSubMessage[] = [];
    r.on('message', (channel: string, text: string) => messages.push(['message', channel, text]));
    r.on('pmessage', (pattern: string, channel: string, text: string) => messages.push(['pmessage', pattern, channel, text]));
    return {
      messages,
      call: ([name, ...rest]) => settle(r.sendCommand(new Command(name.toUpperCase(), rest, { replyEncoding: 'utf8' })) as Promise<unknown>),
      subscribe: (chs) => settle(r.subscribe(...chs)),
      psubscribe: (pats) => settle(r.psubscribe(...pats)),
      unsubscribe: (chs) => settle(r.unsubscribe(...chs)),
      close: async () => {
        r.disconnect();
      },
    };
  },
};

/** node-redis pinned to RESP2 (`RESP: 2`), or with its default options (RESP3, `HELLO 3`). */
const nodeRedis = (resp: 2 | 'default'): ClientKind => ({
  name: resp === 2 ? 'node-redis' : 'node-redis (RESP3)',
  async open(port, opts = {}) {
    const socket = { host: '127.0.0.1', port, reconnectStrategy: false as const };
    const database = opts.db;
    const c = resp === 2 ? createClient({ RESP: 2, socket, database }) : createClient({ socket, database });
    c.on('error', () => undefined);
    await c.connect();
    const messages: PubSubMessage[] = [];
    const onMessage = (text: string, channel: string) => messages.push(['message', channel, text]);
    return {
      messages,
      call: (args) => settle(c.sendCommand(args)),
      // node-redis resolves (un)subscribe with nothing: recorded as null on every target alike.
      subscribe: (chs) => settle(c.subscribe(chs, onMessage)),
      psubscribe: async (pats) => {
        const results: Reply[] = [];
        for (const pat of pats) {
          results.push(await settle(c.pSubscribe(pat, (text: string, channel: string) => messages.push(['pmessage', pat, channel, text]))));
        }
        return results;
      },
      unsubscribe: (chs) => settle(c.unsubscribe(chs)),
      close: async () => {
        if (c.isOpen) c.destroy();
      },
    };
  },
});

export const CLIENTS: ClientKind[] = [ioredisKind, nodeRedis(2), nodeRedis('default')];
