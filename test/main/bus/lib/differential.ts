/**
 * The differential runner. A case is an async script of commands written once; it runs against the
 * reference redis-server and against every other target with the same client library, and each run
 * yields a transcript: one entry per command, in the order the commands were ISSUED (so concurrent
 * blocking calls record deterministically), holding the reply after an optional per-step normaliser.
 * The transcripts must be equal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENTS, type ClientConn, type ClientKind, type OpenOptions, type PubSubMessage, type Reply } from './clients.js';
import { RawConn } from './raw-conn.js';
import { startTargets, stopTargets, type Target, type TargetOptions } from './targets.js';

export type Normaliser = (reply: Reply) => unknown;

export interface Entry {
  step: string;
  value: unknown;
}

export interface SessionConn {
  readonly label: string;
  /** Sends a command and records its reply. */
  call(...args: string[]): Promise<Reply>;
  /** Sends a command and records `norm(reply)`; say in the case why the raw reply can't be compared. */
  callAs(norm: Normaliser, ...args: string[]): Promise<Reply>;
  /** Sends a command without recording it (set-up whose replies another step already covers). */
  quiet(...args: string[]): Promise<Reply>;
  subscribe(...channels: string[]): Promise<Reply>;
  psubscribe(...patterns: string[]): Promise<Reply>;
  unsubscribe(...channels: string[]): Promise<Reply>;
  readonly messages: PubSubMessage[];
  /** Waits until `n` pub/sub messages have arrived (or `ms` pass) and records them. */
  recordMessages(n: number, ms?: number): Promise<void>;
  close(): Promise<void>;
}

export interface Session extends SessionConn {
  /** Opens another connection to the same server with the same client library (opts: its connect options). */
  conn(label: string, opts?: OpenOptions): Promise<SessionConn>;
  /** Records a value the case derived itself (a timing bucket, a comparison result). */
  record(step: string, value: unknown): void;
  sleep(ms: number): Promise<void>;
}

export interface Case {
  name: string;
  run(s: Session): Promise<void>;
}

/** A command with no reply within this long is recorded as a timeout instead of hanging the test. */
const CALL_TIMEOUT_MS = 5000;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function withTimeout(p: Promise<Reply>, what: string): Promise<Reply> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<Reply>((resolve) => {
    timer = setTimeout(() => resolve({ error: `TIMEOUT: no reply to ${what} in ${CALL_TIMEOUT_MS} ms` }), CALL_TIMEOUT_MS);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function wrap(label: string, conn: ClientConn, transcript: Entry[], pending: Set<Promise<unknown>>): SessionConn {
  const slot = (step: string): number => transcript.push({ step: `${label}> ${step}`, value: '<pending>' }) - 1;
  const recorded = async (norm: Normaliser | null, step: string, p: Promise<Reply>): Promise<Reply> => {
    const i = slot(step);
    const done = withTimeout(p, step).then((reply) => {
      transcript[i].value = norm ? norm(reply) : reply;
      pending.delete(done);
      return reply;
    });
    // A case may leave a call outstanding (a blocked BLPOP on a connection it then closes): the
    // runner awaits these after closing the connections, so no slot stays '<pending>'.
    pending.add(done);
    return done;
  };
  return {
    label,
    messages: conn.messages,
    call: (...args) => recorded(null, args.join(' '), conn.call(args)),
    callAs: (norm, ...args) => recorded(norm, args.join(' '), conn.call(args)),
    quiet: (...args) => withTimeout(conn.call(args), args.join(' ')),
    subscribe: (...chs) => recorded(null, `(subscribe) ${chs.join(' ')}`, conn.subscribe(chs)),
    psubscribe: (...pats) => recorded(null, `(psubscribe) ${pats.join(' ')}`, conn.psubscribe(pats)),
    unsubscribe: (...chs) => recorded(null, `(unsubscribe) ${chs.join(' ')}`, conn.unsubscribe(chs)),
    async recordMessages(n, ms = 2000) {
      const deadline = Date.now() + ms;
      while (conn.messages.length < n && Date.now() < deadline) await sleep(5);
      transcript.push({ step: `${label}> (messages)`, value: conn.messages.splice(0, conn.messages.length) });
    },
    close: () => conn.close(),
  };
}

/** Runs one case against one target and returns its transcript. Closes every connection it opened. */
export async function runCase(target: Target, client: ClientKind, c: Case): Promise<Entry[]> {
  const transcript: Entry[] = [];
  const opened: ClientConn[] = [];
  const pending = new Set<Promise<unknown>>();
  const open = async (opts?: OpenOptions) => {
    const conn = await client.open(target.port, opts);
    opened.push(conn);
    return conn;
  };
  try {
    let first: ClientConn;
    try {
      first = await open();
    } catch (err) {
      // A client that cannot even connect (node-redis's HELLO 3 before AUTH on a server with a
      // password) is a result to compare too: both servers must refuse it alike.
      transcript.push({ step: 'c1> (connect)', value: { error: err instanceof Error ? err.message : String(err) } });
      return transcript;
    }
    const main = wrap('c1', first, transcript, pending);
    const session: Session = {
      ...main,
      conn: async (label, opts) => wrap(label, await open(opts), transcript, pending),
      record: (step, value) => void transcript.push({ step: `note: ${step}`, value }),
      sleep,
    };
    await c.run(session);
  } finally {
    await Promise.allSettled(opened.map((o) => o.close()));
  }
  await Promise.allSettled([...pending]);
  return transcript;
}

/** Empties a target between cases over a bare socket (authenticating first where it has a password). */
async function flushAll(t: Target, password?: string): Promise<void> {
  const raw = await RawConn.open(t.port);
  try {
    if (password) await raw.call('AUTH', password);
    const reply = await raw.call('FLUSHALL');
    if (reply !== '+OK\r\n') throw new Error(`FLUSHALL on ${t.name} answered ${JSON.stringify(reply)}`);
  } finally {
    raw.close();
  }
}

export interface Conformance {
  targets(): Target[];
  /** Runs the case on every target (one after another: timings stay undisturbed) and compares. */
  check(client: ClientKind, c: Case): Promise<void>;
}

/**
 * Registers beforeAll/afterAll for one server pair per test file. `FLUSHALL` runs before each case
 * on each target so cases never see each other's keys.
 */
export function useConformance(opts: TargetOptions = {}): Conformance {
  let targets: Target[] = [];
  beforeAll(async () => {
    targets = await startTargets(opts);
  });
  afterAll(async () => {
    await stopTargets(targets);
  });
  return {
    targets: () => targets,
    async check(client, c) {
      const results: Array<{ target: string; transcript: Entry[] }> = [];
      for (const t of targets) {
        await flushAll(t, opts.password);
        results.push({ target: t.name, transcript: await runCase(t, client, c) });
      }
      const [ref, ...others] = results;
      // BUS_CONFORMANCE_DUMP=1 prints the reference transcript (to review what a case really checks).
      if (process.env.BUS_CONFORMANCE_DUMP) console.log(`${client.name} / ${c.name}\n${JSON.stringify(ref.transcript, null, 1)}`);
      for (const o of others) {
        expect(o.transcript, `${c.name}: ${o.target} vs ${ref.target} (${client.name})`).toEqual(ref.transcript);
      }
    },
  };
}

/** One describe per client library, one test per case, one server pair for the whole file. */
export function conformanceSuite(cases: Case[], opts: TargetOptions = {}): Conformance {
  const conf = useConformance(opts);
  describe.each(CLIENTS)('$name', (client) => {
    it.each(cases)('$name', (c) => conf.check(client, c));
  });
  return conf;
}
