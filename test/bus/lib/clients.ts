/**
 * The two Redis client libraries the conformance suite drives, behind one small interface. Replies
 * are taken RAW (no per-command reply transformers) and errors become `{ error: text }` values so a
 * transcript of replies, error replies included, can be compared with `toEqual`.
 *
 *  - ioredis (RESP2 pinned): commands go through `sendCommand(new Command(NAME, args))`. ioredis keys its reply
 *    transformers (HGETALL -> object, XREAD -> ...) by the exact lowercase command name, so the
 *    upper-cased name gets the server's reply untouched.
 *  - node-redis: `client.sendCommand([...])` with `RESP: 2`. node-redis 6 defaults to RESP3 (it opens
 *    with `HELLO 3`), which the embedded bus does not speak; the app's workers use RESP2 (ioredis).
 * Pub/sub goes through each library's own subscribe API (raw SUBSCRIBE would confuse their
 * subscriber-mode bookkeeping); messages are collected as ['message', channel, text] /
 * ['pmessage', pattern, channel, text].
 */
import { Command, Redis } from 'ioredis';
import { createClient } from 'redis';

export type Reply = string | number | null | { error: string } | Reply[];
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

export interface ClientKind {
  name: 'ioredis' | 'node-redis';
  open(port: number): Promise<ClientConn>;
}

/** Converts a client's decoded reply into the plain comparable form. */
export function plain(v: unknown): Reply {
  if (v === null || v === undefined) return null;
  if (v instanceof Error) return { error: v.message };
  if (Array.isArray(v)) return v.map(plain);
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
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
  async open(port) {
    const r = new Redis({
      port,
      host: '127.0.0.1',
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

const nodeRedisKind: ClientKind = {
  name: 'node-redis',
  async open(port) {
    const c = createClient({ RESP: 2, socket: { host: '127.0.0.1', port, reconnectStrategy: false } });
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
};

export const CLIENTS: ClientKind[] = [ioredisKind, nodeRedisKind];
