/**
 * `npm run bench:bus [-- --quick] [-- --json out.json]`
 *
 * Measures the embedded bus against a real redis-server IN THE SAME RUN (the machine is shared and
 * noisy, so only ratios within one run mean anything):
 *  1. redis-benchmark (-c 50, unpipelined and -P 16) for PING_INLINE PING_MBULK SET GET LPUSH RPOP
 *     and PUBLISH, servers alternated round by round, median of the rounds;
 *  2. pub/sub deliveries per second with 10 subscribers (scripts/lib/pubsub-load.ts, own process);
 *  3. RSS of each server process after loading the same N small keys (1M; DBSIZE checked), beside
 *     the RSS at start (before any load) and after FLUSHALL at the end of the throughput runs (V8
 *     keeps heap pages it grew during them: that figure is not an empty-process figure).
 * The bus runs in its own child process (scripts/lib/bus-child.ts), so it shares no event loop with
 * any load generator. It runs under tsx like `fav bus` does; tsx's loader (esbuild service,
 * transformed sources) accounts for ~35 MiB of the start RSS and for no measurable throughput. It reports; a MISS is not a failure (exit 0 unless something broke).
 * Every child process is killed on the way out, on errors and on the overall time limit too.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedisServer, type RedisServerHandle } from '../test/helpers/redis-server.js';
import { loadKeys, median, oneLine, parseBenchmarkCsv, rssKiB, run } from './lib/bench-util.js';

const REDIS_BENCHMARK = '/usr/bin/redis-benchmark';
const TESTS = ['PING_INLINE', 'PING_MBULK', 'SET', 'GET', 'LPUSH', 'RPOP', 'PUBLISH'] as const;
const MODES = [
  { mode: 'unpipelined', extra: [] as string[], target: 0.9 },
  { mode: 'pipelined -P 16', extra: ['-P', '16'], target: 0.8 },
];

const { values: opts } = parseArgs({ options: { quick: { type: 'boolean', default: false }, json: { type: 'string' } } });
const cfg = opts.quick
  ? { requests: 5_000, pipelinedRequests: 40_000, rounds: 1, pubsubSeconds: 1, keys: 100_000, limitMs: 150_000 }
  : { requests: 50_000, pipelinedRequests: 1_000_000, rounds: 3, pubsubSeconds: 3, keys: 1_000_000, limitMs: 900_000 };

interface Server {
  name: 'redis-server' | 'embedded';
  port: number;
  pid: number;
  /** RSS in KiB right after start-up, before any load. */
  startKiB?: number;
  stop(): Promise<void>;
}

function forkBus(): Promise<Server> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./lib/bus-child.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => (clearTimeout(kill), resolve()));
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (void stop(), reject(new Error('embedded bus did not start within 20 s'))), 20_000);
    child.once('message', (m: { port: number }) => {
      clearTimeout(timer);
      resolve({ name: 'embedded', port: m.port, pid: child.pid!, stop });
    });
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`embedded bus exited early (code ${code})`))));
  });
}

async function redisBenchmark(s: Server, requests: number, extra: string[]): Promise<Record<string, number>> {
  const base = ['-h', '127.0.0.1', '-p', String(s.port), '-c', '50', '-n', String(requests), ...extra, '--csv'];
  const limit = 180_000;
  const std = await run(REDIS_BENCHMARK, [...base, '-t', 'ping,set,get,lpush,rpop'], limit);
  // redis-benchmark has no PUBLISH test: a custom command line is benchmarked under its own name.
  const pub = await run(REDIS_BENCHMARK, [...base, 'PUBLISH', 'chan', 'hello'], limit);
  const out = { ...parseBenchmarkCsv(std.stdout) };
  const pubRps = Object.entries(parseBenchmarkCsv(pub.stdout)).find(([k]) => k.startsWith('PUBLISH'))?.[1];
  if (pubRps !== undefined) out.PUBLISH = pubRps;
  for (const t of TESTS) if (!(t in out)) throw new Error(`redis-benchmark gave no ${t} figure for ${s.name}: ${std.stderr}${pub.stderr}`);
  return out;
}

async function pubsubRate(s: Server, seconds: number): Promise<number> {
  const script = fileURLToPath(new URL('./lib/pubsub-load.ts', import.meta.url));
  const r = await run(process.execPath, ['--import', 'tsx', script, String(s.port), '10', '2', String(seconds)], (seconds + 40) * 1000);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !line.startsWith('{')) throw new Error(`pubsub-load against ${s.name} failed: ${r.stderr}`);
  return (JSON.parse(line) as { deliveriesPerSec: number }).deliveriesPerSec;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pad = (s: string, w: number) => s.padEnd(w);
const padL = (s: string, w: number) => s.padStart(w);

async function main(servers: Server[]): Promise<Record<string, unknown>> {
  const [redis, bus] = servers;
  for (const s of servers) s.startKiB = rssKiB(s.pid);
  const version = (await run('/usr/bin/redis-server', ['--version'], 10_000)).stdout.trim();
  console.log(`machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), node ${process.version}, ${version}`);
  console.log(`mode: ${opts.quick ? 'quick (smoke run, figures are rough)' : 'full'}; ${cfg.rounds} round(s), servers alternated, median\n`);

  // 1. redis-benchmark. One unrecorded pass first: the bus's JIT (and both servers' allocators)
  // warm up on it, otherwise the first figures measure V8's compiler rather than the server.
  for (const s of servers) await redisBenchmark(s, cfg.requests, ['-P', '16']);
  const samples: Record<string, Record<string, number[]>> = {};
  for (let round = 0; round < cfg.rounds; round++) {
    const order = round % 2 ? [bus, redis] : [redis, bus];
    for (const m of MODES) {
      for (const s of order) {
        const res = await redisBenchmark(s, m.extra.length ? cfg.pipelinedRequests : cfg.requests, m.extra);
        for (const t of TESTS) ((samples[`${m.mode}|${t}`] ??= {})[s.name] ??= []).push(res[t]);
      }
    }
  }
  const rows = MODES.flatMap((m) =>
    TESTS.map((t) => {
      const smp = samples[`${m.mode}|${t}`];
      const r = median(smp['redis-server']);
      const e = median(smp.embedded);
      return { command: t, mode: m.mode, redis: r, embedded: e, ratio: e / r, target: m.target, pass: e / r >= m.target };
    }),
  );
  console.log(`${pad('command', 12)} ${pad('mode', 16)} ${padL('redis-server/s', 15)} ${padL('embedded/s', 12)} ${padL('ratio', 6)} ${padL('target', 7)}  result`);
  for (const r of rows) {
    console.log(
      `${pad(r.command, 12)} ${pad(r.mode, 16)} ${padL(fmt(r.redis), 15)} ${padL(fmt(r.embedded), 12)} ${padL(r.ratio.toFixed(2), 6)} ${padL(`>=${r.target}`, 7)}  ${r.pass ? 'PASS' : 'MISS'}`,
    );
  }

  // 2. pub/sub fan-out
  const rates: Record<string, number[]> = { 'redis-server': [], embedded: [] };
  for (let round = 0; round < cfg.rounds; round++) {
    for (const s of round % 2 ? [bus, redis] : [redis, bus]) rates[s.name].push(await pubsubRate(s, cfg.pubsubSeconds));
  }
  const pr = median(rates['redis-server']);
  const pe = median(rates.embedded);
  const pubsub = { subscribers: 10, publishers: 2, redis: pr, embedded: pe, ratio: pe / pr, target: 0.85, pass: pe / pr >= 0.85 };
  console.log(`\npub/sub deliveries/s, 10 subscribers: redis-server ${fmt(pr)}, embedded ${fmt(pe)}, ratio ${pubsub.ratio.toFixed(2)} (target >=0.85) ${pubsub.pass ? 'PASS' : 'MISS'}`);

  // 3. memory with N small keys
  const mem: Record<string, { start: number; before: number; after: number; keys: number }> = {};
  for (const s of servers) {
    await oneLine(s.port, ['FLUSHALL']);
    const before = rssKiB(s.pid);
    await loadKeys(s.port, cfg.keys, 300_000);
    const keys = Number((await oneLine(s.port, ['DBSIZE'])).slice(1));
    if (keys !== cfg.keys) throw new Error(`${s.name} holds ${keys} keys after loading ${cfg.keys}`);
    mem[s.name] = { start: s.startKiB ?? NaN, before, after: rssKiB(s.pid), keys };
  }
  const mr = mem['redis-server'].after;
  const me = mem.embedded.after;
  const memory = { keys: cfg.keys, redisKiB: mr, embeddedKiB: me, ratio: me / mr, target: 2.0, pass: me / mr <= 2.0, detail: mem };
  console.log(
    `RSS with ${fmt(cfg.keys)} keys (DBSIZE checked): redis-server ${fmt(mr / 1024)} MiB, embedded ${fmt(me / 1024)} MiB, ratio ${memory.ratio.toFixed(2)} (target <=2.0) ${memory.pass ? 'PASS' : 'MISS'}` +
      `\n  [at start: redis ${fmt(mem['redis-server'].start / 1024)} MiB, embedded ${fmt(mem.embedded.start / 1024)} MiB;` +
      ` after FLUSHALL following the throughput runs: redis ${fmt(mem['redis-server'].before / 1024)} MiB, embedded ${fmt(mem.embedded.before / 1024)} MiB]`,
  );
  return { machine: { cpus: os.cpus().length, node: process.version, redisServer: version }, quick: opts.quick, config: cfg, benchmark: rows, pubsub, memory };
}

const servers: Server[] = [];
let exitCode = 0;
const cleanup = () => Promise.allSettled(servers.map((s) => s.stop()));
const watchdog = setTimeout(() => {
  console.error(`bench-bus: over the ${cfg.limitMs / 1000} s limit, stopping`);
  void cleanup().finally(() => process.exit(1));
}, cfg.limitMs);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().finally(() => process.exit(130)));

try {
  const redis: RedisServerHandle = await startRedisServer();
  servers.push({ name: 'redis-server', port: redis.port, pid: redis.proc.pid!, stop: () => redis.stop() });
  servers.push(await forkBus());
  const report = await main(servers);
  if (opts.json) {
    writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nwrote ${opts.json}`);
  }
} catch (err) {
  console.error(`bench-bus: ${(err as Error).stack ?? String(err)}`);
  exitCode = 1;
} finally {
  clearTimeout(watchdog);
  await cleanup();
}
process.exit(exitCode);
