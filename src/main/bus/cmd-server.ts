/** Server commands: INFO TIME COMMAND CONFIG SAVE LASTSAVE. */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Client } from './client.js';
import { flagWords, type CommandSpec } from './command-table.js';
import { RedisError } from './errors.js';
import { globMatch } from './glob.js';
import { DATABASES } from './keyspace.js';
import { REDIS_VERSION } from './cmd-connection.js';
import { argStr, bulkStr, intReply, mapHeader, optUpper, R_OK, setHeader, verbatimText, type Proto } from './reply.js';
import type { Arg } from './resp-parser.js';

const RUN_ID = randomBytes(20).toString('hex');

function human(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`;
  const units = ['K', 'M', 'G', 'T'];
  let v = bytes;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(2)}${units[u]}`;
}

function infoSections(c: Client): Record<string, string[]> {
  const core = c.core;
  const mem = process.memoryUsage();
  const uptime = Math.floor((Date.now() - core.startedAt) / 1000);
  const cpu = process.cpuUsage();
  return {
    server: [
      `redis_version:${REDIS_VERSION}`, 'redis_git_sha1:00000000', 'redis_git_dirty:0', 'redis_build_id:0',
      'redis_mode:standalone', `os:${os.type()} ${os.release()} ${os.arch()}`, 'arch_bits:64',
      'multiplexing_api:epoll', `process_id:${process.pid}`, `run_id:${RUN_ID}`, `tcp_port:${core.port}`,
      `server_time_usec:${Date.now() * 1000}`, `uptime_in_seconds:${uptime}`,
      `uptime_in_days:${Math.floor(uptime / 86400)}`, 'hz:10', 'configured_hz:10',
      `executable:${process.execPath}`, 'config_file:', 'fav_bus:1',
    ],
    clients: [
      `connected_clients:${core.clients.size}`, 'cluster_connections:0', `maxclients:${core.opts.maxClients}`,
      `blocked_clients:${core.blocking.blockedClients}`, 'tracking_clients:0',
    ],
    memory: [
      `used_memory:${mem.heapUsed + mem.external}`, `used_memory_human:${human(mem.heapUsed + mem.external)}`,
      `used_memory_rss:${mem.rss}`, `used_memory_rss_human:${human(mem.rss)}`,
      `used_memory_peak:${mem.rss}`, `total_system_memory:${os.totalmem()}`, 'maxmemory:0',
      'maxmemory_human:0B', 'maxmemory_policy:noeviction', 'mem_allocator:v8',
    ],
    persistence: [
      'loading:0', 'async_loading:0', 'rdb_changes_since_last_save:0', 'rdb_bgsave_in_progress:0',
      `rdb_last_save_time:${core.lastSave}`, 'rdb_last_bgsave_status:ok', 'aof_enabled:0', 'aof_rewrite_in_progress:0',
    ],
    stats: [
      `total_connections_received:${core.connectionsReceived}`, `total_commands_processed:${core.commandsProcessed}`,
      'instantaneous_ops_per_sec:0', `rejected_connections:${core.rejectedConnections}`,
      `expired_keys:${core.dbs.reduce((n, db) => n + db.expiredKeys, 0)}`, 'evicted_keys:0', 'keyspace_hits:0', 'keyspace_misses:0',
      `pubsub_channels:${core.pubsub.channels.size}`, `pubsub_patterns:${core.pubsub.patterns.size}`,
    ],
    replication: ['role:master', 'connected_slaves:0', 'master_repl_offset:0'],
    cpu: [`used_cpu_sys:${(cpu.system / 1e6).toFixed(6)}`, `used_cpu_user:${(cpu.user / 1e6).toFixed(6)}`],
    keyspace: core.dbs.filter((db) => db.size > 0).map((db) => `db${db.index}:keys=${db.size},expires=${db.expires.size},avg_ttl=0`),
  };
}

const TITLES: Record<string, string> = {
  server: 'Server', clients: 'Clients', memory: 'Memory', persistence: 'Persistence', stats: 'Stats',
  replication: 'Replication', cpu: 'CPU', keyspace: 'Keyspace',
};

function info(c: Client, argv: Arg[]): void {
  const all = infoSections(c);
  let wanted = argv.slice(1).map((a) => argStr(a).toLowerCase());
  if (wanted.length === 0 || wanted.some((w) => w === 'all' || w === 'everything' || w === 'default')) {
    wanted = Object.keys(all);
  }
  const parts: string[] = [];
  for (const w of wanted) {
    const lines = all[w];
    if (lines === undefined) continue;
    parts.push([`# ${TITLES[w]}`, ...lines].join('\r\n') + '\r\n');
  }
  c.send(verbatimText(c, parts.join('\r\n')));
}

/** One COMMAND INFO entry; flags, ACL categories and tips are sets in RESP3, key specs and subcommands arrays. */
function commandEntry(p: Proto, s: CommandSpec): string {
  const [first, last, step] = s.keys ?? [0, 0, 0];
  const flags = flagWords(s);
  const emptySet = setHeader(p, 0);
  return (
    '*10\r\n' + bulkStr(s.name) + intReply(s.arity) + setHeader(p, flags.length) + flags.map((f) => `+${f}\r\n`).join('') +
    intReply(first) + intReply(last) + intReply(step) + emptySet + emptySet + '*0\r\n*0\r\n'
  );
}

function command(c: Client, argv: Arg[]): void {
  const specs = c.core.table.specs;
  if (argv.length === 1) {
    c.send(`*${specs.length}\r\n` + specs.map((s) => commandEntry(c, s)).join(''));
    return;
  }
  const sub = optUpper(argv[1]);
  if (sub === 'COUNT') return c.send(intReply(specs.length));
  if (sub === 'LIST') return c.sendBulks(specs.map((s) => s.name));
  if (sub === 'INFO') {
    const names = argv.slice(2);
    c.send(`*${names.length}\r\n`);
    for (const n of names) {
      const s = c.core.table.lookup(n);
      c.send(s ? commandEntry(c, s) : c.nilArr);
    }
    return;
  }
  // Minimal DOCS: a valid (empty) map, enough for clients that only probe it.
  if (sub === 'DOCS') return c.send(mapHeader(c, 0));
  throw new RedisError(`ERR unknown subcommand '${argStr(argv[1])}'. Try COMMAND HELP.`);
}

/** CONFIG parameters reported (and, for SETTABLE ones, stored) for client compatibility. */
function configValues(c: Client): Map<string, string> {
  const m = new Map<string, string>([
    ['save', ''], ['appendonly', 'no'], ['appendfsync', 'everysec'], ['databases', String(DATABASES)],
    ['maxclients', String(c.core.opts.maxClients)], ['port', String(c.core.port)], ['bind', c.core.host],
    ['proto-max-bulk-len', String(c.core.opts.maxBulkLength)], ['maxmemory', '0'],
    ['maxmemory-policy', 'noeviction'], ['timeout', '0'], ['hz', '10'], ['notify-keyspace-events', ''],
    ['tcp-keepalive', '300'], ['protected-mode', 'no'], ['dir', process.cwd()], ['dbfilename', 'snapshot'],
  ]);
  for (const [k, v] of c.core.config) m.set(k, v);
  m.set('client-output-buffer-limit', c.core.outputLimits.format());
  return m;
}

const OUTPUT_LIMIT = 'client-output-buffer-limit';
const SETTABLE = new Set([OUTPUT_LIMIT, 'save', 'appendonly', 'maxmemory-policy', 'timeout', 'hz', 'notify-keyspace-events', 'tcp-keepalive', 'maxmemory']);

function config(c: Client, argv: Arg[]): void {
  const sub = optUpper(argv[1]);
  if (sub === 'GET') {
    if (argv.length < 3) throw new RedisError("ERR wrong number of arguments for 'config|get' command");
    const out: string[] = [];
    const values = configValues(c);
    const seen = new Set<string>();
    for (const p of argv.slice(2)) {
      const pat = argStr(p).toLowerCase();
      for (const [k, v] of values) {
        if (seen.has(k) || !globMatch(pat, k)) continue;
        seen.add(k);
        out.push(k, v);
      }
    }
    // A map in RESP3.
    c.send(mapHeader(c, out.length / 2));
    for (const s of out) c.send(bulkStr(s));
    return;
  }
  if (sub === 'SET') {
    if (argv.length < 4 || argv.length % 2 !== 0) throw new RedisError("ERR wrong number of arguments for 'config|set' command");
    for (let i = 2; i < argv.length; i += 2) {
      const k = argStr(argv[i]).toLowerCase();
      if (!SETTABLE.has(k)) throw new RedisError(`ERR Unknown option or number of arguments for CONFIG SET - '${argStr(argv[i])}'`);
    }
    // Values with rules are applied first: a bad one throws before anything else changed.
    for (let i = 2; i < argv.length; i += 2) {
      if (argStr(argv[i]).toLowerCase() === OUTPUT_LIMIT) c.core.outputLimits.set(argStr(argv[i + 1]));
    }
    for (let i = 2; i < argv.length; i += 2) {
      const k = argStr(argv[i]).toLowerCase();
      if (k !== OUTPUT_LIMIT) c.core.config.set(k, argStr(argv[i + 1]));
    }
    return c.send(R_OK);
  }
  if (sub === 'RESETSTAT') {
    c.core.commandsProcessed = 0;
    return c.send(R_OK);
  }
  if (sub === 'REWRITE') throw new RedisError('ERR The server is running without a config file');
  throw new RedisError(`ERR unknown subcommand '${argStr(argv[1])}'. Try CONFIG HELP.`);
}

export const serverCommands: CommandSpec[] = [
  { name: 'info', arity: -1, flags: 0, run: info },
  {
    name: 'time',
    arity: 1,
    flags: 0,
    run: (c) => {
      const us = BigInt(Date.now()) * 1000n + (process.hrtime.bigint() / 1000n) % 1000n;
      c.sendBulks([String(us / 1000000n), String(us % 1000000n)]);
    },
  },
  { name: 'command', arity: -1, flags: 0, run: command },
  { name: 'config', arity: -2, flags: 0, run: config },
  {
    name: 'save',
    arity: 1,
    flags: 0,
    run: (c) => {
      if (c.core.save === null) throw new RedisError('ERR no snapshot path configured');
      c.core.save();
      c.core.lastSave = Math.floor(Date.now() / 1000);
      c.send(R_OK);
    },
  },
  { name: 'lastsave', arity: 1, flags: 0, run: (c) => c.send(intReply(c.core.lastSave)) },
];
