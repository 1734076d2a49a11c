/** Connection commands: PING ECHO AUTH HELLO QUIT RESET CLIENT. */
import { timingSafeEqual } from 'node:crypto';
import type { Client } from './client.js';
import { F_NOAUTH, F_NOQUEUE, F_PUBSUB, type CommandSpec } from './command-table.js';
import { RedisError, SYNTAX } from './errors.js';
import { argStr, bulkStr, intReply, mapHeader, optUpper, parseIntArg, R_OK, R_PONG, setProtocol, verbatimText } from './reply.js';
import type { Arg } from './resp-parser.js';

export const REDIS_VERSION = '7.0.15';
const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';

function passwordMatches(c: Client, user: string, pass: Arg): boolean {
  const want = c.core.opts.password ?? '';
  if (user !== 'default') return false;
  const a = Buffer.from(argStr(pass), 'latin1');
  const b = Buffer.from(want, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function auth(c: Client, argv: Arg[]): void {
  if (argv.length > 3) throw new RedisError(SYNTAX);
  const user = argv.length === 3 ? argStr(argv[1]) : 'default';
  const pass = argv[argv.length - 1];
  if (!c.core.opts.password) {
    if (argv.length === 2) {
      throw new RedisError(
        'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
      );
    }
    // With no password the default user accepts any password (nopass), like Redis.
    if (user !== 'default') throw new RedisError(WRONGPASS);
    return c.send(R_OK);
  }
  if (!passwordMatches(c, user, pass)) throw new RedisError(WRONGPASS);
  c.authed = true;
  c.send(R_OK);
}

function validName(n: string): boolean {
  for (let i = 0; i < n.length; i++) {
    const ch = n.charCodeAt(i);
    if (ch < 33 || ch > 126) return false;
  }
  return true;
}

function hello(c: Client, argv: Arg[]): void {
  let i = 1;
  let version: 2 | 3 = c.resp;
  if (argv.length >= 2) {
    const v = parseIntArg(argv[1]);
    if (v === null) throw new RedisError('ERR Protocol version is not an integer or out of range');
    if (v !== 2 && v !== 3) throw new RedisError('NOPROTO unsupported protocol version');
    version = v;
    i = 2;
  }
  let setName: string | null = null;
  for (; i < argv.length; i++) {
    const o = optUpper(argv[i]);
    const more = argv.length - i - 1;
    if (o === 'AUTH' && more >= 2) {
      const user = argStr(argv[i + 1]);
      const pass = argv[i + 2];
      i += 2;
      if (c.core.opts.password) {
        if (!passwordMatches(c, user, pass)) throw new RedisError(WRONGPASS);
        c.authed = true;
      } else if (user !== 'default') throw new RedisError(WRONGPASS);
    } else if (o === 'SETNAME' && more >= 1) {
      setName = argStr(argv[++i]);
      if (!validName(setName)) throw new RedisError('ERR Client names cannot contain spaces, newlines or special characters.');
    } else throw new RedisError(`ERR Syntax error in HELLO option '${argStr(argv[i])}'`);
  }
  if (!c.authed) {
    throw new RedisError(
      'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
    );
  }
  if (setName !== null) c.name = setName;
  // Like Redis, the protocol changes only once every check passed, and the reply uses the new one.
  setProtocol(c, version);
  c.send(
    mapHeader(c, 7) +
      bulkStr('server') + bulkStr('redis') +
      bulkStr('version') + bulkStr(REDIS_VERSION) +
      bulkStr('proto') + intReply(version) +
      bulkStr('id') + intReply(c.id) +
      bulkStr('mode') + bulkStr('standalone') +
      bulkStr('role') + bulkStr('master') +
      bulkStr('modules') + '*0\r\n',
  );
}

/** One CLIENT LIST line in Redis's field order. */
export function clientInfoLine(c: Client): string {
  const now = Date.now();
  const flags = (c.blocked ? 'b' : '') + (c.subscribed ? 'P' : '') + (c.multi ? 'x' : '') || 'N';
  return (
    `id=${c.id} addr=${c.remoteAddr} laddr=${c.localAddr} fd=-1 name=${c.name} ` +
    `age=${Math.floor((now - c.createdAt) / 1000)} idle=${Math.floor((now - c.lastInteraction) / 1000)} flags=${flags} ` +
    `db=${c.db.index} sub=${c.channels.size} psub=${c.patterns.size} ssub=0 multi=${c.multi ? c.multi.length : -1} ` +
    `qbuf=${c.parser.pending} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=${c.pendingBytes + c.socket.writableLength} ` +
    `tot-mem=0 events=r cmd=${c.lastCommand} user=default redir=-1 resp=${c.resp}` +
    (c.libName || c.libVer ? ` lib-name=${c.libName} lib-ver=${c.libVer}` : '')
  );
}

function clientCmd(c: Client, argv: Arg[]): void {
  const sub = optUpper(argv[1]);
  const arity = (n: number, exact = true) => {
    if (exact ? argv.length !== n : argv.length < n) {
      throw new RedisError(`ERR wrong number of arguments for 'client|${sub.toLowerCase()}' command`);
    }
  };
  switch (sub) {
    case 'SETNAME': {
      arity(3);
      const n = argStr(argv[2]);
      if (!validName(n)) throw new RedisError('ERR Client names cannot contain spaces, newlines or special characters.');
      c.name = n;
      return c.send(R_OK);
    }
    case 'GETNAME':
      arity(2);
      return c.name ? c.sendBulk(c.name) : c.send(c.nil);
    case 'ID':
      arity(2);
      return c.send(intReply(c.id));
    case 'INFO':
      arity(2);
      return c.send(verbatimText(c, `${clientInfoLine(c)}\n`));
    case 'LIST': {
      let text = '';
      for (const other of c.core.clients.values()) text += `${clientInfoLine(other)}\n`;
      return c.send(verbatimText(c, text));
    }
    case 'SETINFO': {
      arity(4);
      const attr = optUpper(argv[2]);
      const val = argStr(argv[3]);
      if (attr === 'LIB-NAME') c.libName = val;
      else if (attr === 'LIB-VER') c.libVer = val;
      else throw new RedisError(`ERR Unrecognized option '${argStr(argv[2])}'`);
      return c.send(R_OK);
    }
    case 'NO-EVICT':
    case 'NO-TOUCH':
      arity(3);
      return c.send(R_OK);
    default:
      throw new RedisError(`ERR unknown subcommand '${argStr(argv[1])}'. Try CLIENT HELP.`);
  }
}

export const connectionCommands: CommandSpec[] = [
  {
    name: 'ping',
    arity: -1,
    flags: F_PUBSUB,
    run: (c, argv) => {
      if (argv.length > 2) throw new RedisError("ERR wrong number of arguments for 'ping' command");
      if (c.subscribed && c.resp === 2) {
        // RESP2 subscribed mode answers as a push-like array (RESP3 answers normally).
        c.send('*2\r\n$4\r\npong\r\n');
        return c.sendBulk(argv.length === 2 ? argv[1] : '');
      }
      if (argv.length === 2) c.sendBulk(argv[1]);
      else c.send(R_PONG);
    },
  },
  { name: 'echo', arity: 2, flags: 0, run: (c, argv) => c.sendBulk(argv[1]) },
  { name: 'auth', arity: -2, flags: F_NOAUTH, run: auth },
  { name: 'hello', arity: -1, flags: F_NOAUTH, run: hello },
  {
    name: 'quit',
    arity: -1,
    flags: F_NOAUTH | F_PUBSUB | F_NOQUEUE,
    run: (c) => {
      c.send(R_OK);
      c.closing = true;
      // Like redis-server: a client that said QUIT receives no more messages, and PUBLISH stops
      // counting it at once (not when its socket is finally closed).
      c.core.pubsub.unsubscribeAll(c);
    },
  },
  {
    name: 'reset',
    arity: 1,
    flags: F_NOAUTH | F_PUBSUB | F_NOQUEUE,
    run: (c) => {
      c.multi = null;
      c.multiSpecs = [];
      c.multiError = false;
      c.core.unwatchAll(c);
      c.core.pubsub.unsubscribeAll(c);
      c.name = '';
      c.db = c.core.dbs[0];
      if (c.core.opts.password) c.authed = false;
      setProtocol(c, 2);
      c.send('+RESET\r\n');
    },
  },
  { name: 'client', arity: -2, flags: 0, run: clientCmd },
];
