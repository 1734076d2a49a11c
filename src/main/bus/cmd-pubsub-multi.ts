/** Pub/sub (PUBLISH, (P)(UN)SUBSCRIBE, PUBSUB) and transactions (MULTI EXEC DISCARD WATCH UNWATCH). */
import type { Client } from './client.js';
import { F_NOMULTI, F_NOQUEUE, F_PUBSUB, type CommandSpec } from './command-table.js';
import { RedisError } from './errors.js';
import { globMatch } from './glob.js';
import { argStr, intReply, optUpper, R_OK } from './reply.js';
import type { Arg } from './resp-parser.js';

function pubsubCmd(c: Client, argv: Arg[]): void {
  const sub = optUpper(argv[1]);
  const ps = c.core.pubsub;
  if (sub === 'CHANNELS') {
    if (argv.length > 3) throw new RedisError("ERR wrong number of arguments for 'pubsub|channels' command");
    const pat = argv.length === 3 ? argStr(argv[2]) : null;
    return c.sendBulks([...ps.channels.keys()].filter((ch) => pat === null || globMatch(pat, ch)));
  }
  if (sub === 'NUMSUB') {
    c.send(`*${(argv.length - 2) * 2}\r\n`);
    for (let i = 2; i < argv.length; i++) {
      const ch = argStr(argv[i]);
      c.sendBulk(ch);
      c.send(intReply(ps.channels.get(ch)?.size ?? 0));
    }
    return;
  }
  if (sub === 'NUMPAT') {
    if (argv.length !== 2) throw new RedisError("ERR wrong number of arguments for 'pubsub|numpat' command");
    return c.send(intReply(ps.patterns.size));
  }
  throw new RedisError(`ERR unknown subcommand '${argStr(argv[1])}'. Try PUBSUB HELP.`);
}

function exec(c: Client): void {
  if (c.multi === null) throw new RedisError('ERR EXEC without MULTI');
  const queued = c.multi;
  const specs = c.multiSpecs;
  const failed = c.multiError;
  const cas = c.casDirty;
  c.multi = null;
  c.multiSpecs = [];
  c.multiError = false;
  c.core.unwatchAll(c);
  if (failed) throw new RedisError('EXECABORT Transaction discarded because of previous errors.');
  if (cas) return c.send(c.nilArr);
  c.send(`*${queued.length}\r\n`);
  c.inExec = true;
  try {
    // Waiters are served after the whole EXEC (the client loop runs handleReady afterwards).
    for (let i = 0; i < queued.length; i++) c.call(specs[i], queued[i]);
  } finally {
    c.inExec = false;
  }
}

export const pubsubMultiCommands: CommandSpec[] = [
  {
    name: 'publish',
    arity: 3,
    flags: 0,
    run: (c, argv) => c.send(intReply(c.core.pubsub.publish(argStr(argv[1]), argv[2]))),
  },
  {
    name: 'subscribe',
    arity: -2,
    flags: F_PUBSUB,
    run: (c, argv) => {
      for (let i = 1; i < argv.length; i++) c.core.pubsub.subscribe(c, argStr(argv[i]));
    },
  },
  {
    name: 'psubscribe',
    arity: -2,
    flags: F_PUBSUB,
    run: (c, argv) => {
      for (let i = 1; i < argv.length; i++) c.core.pubsub.psubscribe(c, argStr(argv[i]));
    },
  },
  {
    name: 'unsubscribe',
    arity: -1,
    flags: F_PUBSUB,
    run: (c, argv) => {
      if (argv.length === 1) return c.core.pubsub.unsubscribeAllReply(c);
      for (let i = 1; i < argv.length; i++) c.core.pubsub.unsubscribe(c, argStr(argv[i]), true);
    },
  },
  {
    name: 'punsubscribe',
    arity: -1,
    flags: F_PUBSUB,
    run: (c, argv) => {
      if (argv.length === 1) return c.core.pubsub.punsubscribeAllReply(c);
      for (let i = 1; i < argv.length; i++) c.core.pubsub.punsubscribe(c, argStr(argv[i]), true);
    },
  },
  { name: 'pubsub', arity: -2, flags: 0, run: pubsubCmd },
  {
    name: 'multi',
    arity: 1,
    flags: F_NOQUEUE,
    run: (c) => {
      if (c.multi !== null) throw new RedisError('ERR MULTI calls can not be nested');
      c.multi = [];
      c.multiSpecs = [];
      c.multiError = false;
      c.send(R_OK);
    },
  },
  { name: 'exec', arity: 1, flags: F_NOQUEUE, run: exec },
  {
    name: 'discard',
    arity: 1,
    flags: F_NOQUEUE,
    run: (c) => {
      if (c.multi === null) throw new RedisError('ERR DISCARD without MULTI');
      c.multi = null;
      c.multiSpecs = [];
      c.multiError = false;
      c.core.unwatchAll(c);
      c.send(R_OK);
    },
  },
  {
    name: 'watch',
    arity: -2,
    flags: F_NOQUEUE | F_NOMULTI,
    run: (c, argv) => {
      for (let i = 1; i < argv.length; i++) c.core.watch(c, argStr(argv[i]));
      c.send(R_OK);
    },
  },
  {
    name: 'unwatch',
    arity: 1,
    flags: 0,
    run: (c) => {
      c.core.unwatchAll(c);
      c.send(R_OK);
    },
  },
];
