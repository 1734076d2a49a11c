/**
 * One client connection: parses its input, dispatches commands, and buffers replies.
 *
 * Output discipline (the main performance lever): replies are appended to `out` (a latin1 string;
 * big values as Buffers in `chunks`) and written once per event-loop turn by BusCore.afterEvent,
 * so all replies produced by one socket read go out in ONE write. Replies written to this client
 * by others (pub/sub messages, a push that unblocks it) are batched the same way.
 *
 * Backpressure: when the socket's writable buffer passes HIGH_WATER, reading is paused and the
 * parser stops mid-buffer; 'drain' resumes both. Output others write to a client that does not read
 * (a stalled subscriber) is bounded by client-output-buffer-limit instead: see checkOutputLimit.
 */
import type net from 'node:net';
import type { BusCore } from './bus-core.js';
import { clientInfoLine } from './cmd-connection.js';
import { F_NOAUTH, F_NOQUEUE, F_PUBSUB, F_NOMULTI, type CommandSpec } from './command-table.js';
import { RedisError, wrongArgs } from './errors.js';
import { errReply, R_NIL, R_NIL_ARR, R_QUEUED } from './reply.js';
import type { Keyspace } from './keyspace.js';
import type { ClientClass } from './output-limits.js';
import { ProtocolError, RespParser, type Arg } from './resp-parser.js';

const HIGH_WATER = 8 * 1024 * 1024;
/** Flush mid-batch once this many reply bytes are pending (bounds memory for huge pipelines). */
const FLUSH_AT = 1024 * 1024;

export interface BlockState {
  /** The database the keys are in (the client's when it blocked). */
  db: Keyspace;
  keys: string[];
  timer: NodeJS.Timeout | null;
  /** Tries to serve the client from `key`; true when it replied (the client is then unblocked). */
  tryServe: (key: string) => boolean;
  /** Reply sent on timeout. */
  timeoutReply: string;
}

export class Client {
  readonly id: number;
  name = '';
  libName = '';
  libVer = '';
  readonly createdAt = Date.now();
  lastInteraction = Date.now();
  lastCommand = 'NULL';
  authed: boolean;
  readonly parser: RespParser;
  /** Protocol (HELLO 2/3). Change it only with setProtocol() (reply.ts), which also sets nil/nilArr. */
  resp: 2 | 3 = 2;
  /** This connection's null bulk / null array replies (RESP3: both `_`), picked once per protocol switch. */
  nil = R_NIL;
  nilArr = R_NIL_ARR;

  private out = '';
  private chunks: (string | Buffer)[] = [];
  private chunkBytes = 0;
  /** True while queued in core.dirty for a flush. */
  dirty = false;
  closing = false;
  closed = false;
  private paused = false;

  // MULTI/EXEC state
  multi: Arg[][] | null = null;
  multiSpecs: CommandSpec[] = [];
  multiError = false;
  inExec = false;
  watched: Array<{ db: Keyspace; key: string }> | null = null;
  casDirty = false;

  // pub/sub state
  readonly channels = new Set<string>();
  readonly patterns = new Set<string>();

  blocked: BlockState | null = null;
  /** The selected database (SELECT). */
  db: Keyspace;
  /** When pending output first reached the class's soft limit; -1 while below (see output-limits.ts). */
  obufSoftSince = -1;

  constructor(
    readonly core: BusCore,
    readonly socket: net.Socket,
  ) {
    this.id = core.nextClientId++;
    this.authed = !core.opts.password;
    this.db = core.dbs[0];
    this.parser = new RespParser({
      maxBulkLength: core.opts.maxBulkLength,
      authRequired: () => !this.authed,
    });
  }

  get subscribed(): boolean {
    return this.channels.size + this.patterns.size > 0;
  }

  get remoteAddr(): string {
    const s = this.socket;
    return s.remoteAddress ? `${s.remoteAddress}:${s.remotePort}` : '/unixsocket:0';
  }

  get localAddr(): string {
    const s = this.socket;
    return s.localAddress ? `${s.localAddress}:${s.localPort}` : '/unixsocket:0';
  }

  // ---- output ----

  send(s: string): void {
    this.out += s;
    if (!this.dirty) {
      this.dirty = true;
      this.core.dirty.push(this);
    }
  }

  sendBuf(b: Buffer): void {
    if (this.out.length !== 0) {
      this.chunks.push(this.out);
      this.out = '';
    }
    this.chunks.push(b);
    this.chunkBytes += b.length;
    if (!this.dirty) {
      this.dirty = true;
      this.core.dirty.push(this);
    }
  }

  /** A bulk string reply; null/undefined -> nil. */
  sendBulk(v: Arg | null | undefined): void {
    if (v === undefined || v === null) this.send(this.nil);
    else if (typeof v === 'string') this.send(`$${v.length}\r\n${v}\r\n`);
    else {
      this.send(`$${v.length}\r\n`);
      this.sendBuf(v);
      this.send('\r\n');
    }
  }

  sendBulks(vs: Arg[]): void {
    this.send(`*${vs.length}\r\n`);
    for (const v of vs) this.sendBulk(v);
  }

  sendError(msg: string): void {
    this.send(errReply(msg));
  }

  get pendingBytes(): number {
    return this.out.length + this.chunkBytes;
  }

  /** Writes all pending output in one socket write (writev when Buffers are involved). */
  flush(): void {
    this.dirty = false;
    const s = this.socket;
    if (this.closed || s.destroyed) {
      this.out = '';
      this.chunks = [];
      this.chunkBytes = 0;
      return;
    }
    if (this.chunks.length === 0) {
      if (this.out.length !== 0) s.write(this.out, 'latin1');
    } else {
      if (this.out.length !== 0) this.chunks.push(this.out);
      s.cork();
      for (const c of this.chunks) {
        if (typeof c === 'string') s.write(c, 'latin1');
        else s.write(c);
      }
      s.uncork();
      this.chunks = [];
      this.chunkBytes = 0;
    }
    this.out = '';
    if (this.closing) {
      s.end();
      return;
    }
    if (this.checkOutputLimit()) return;
    if (!this.paused && s.writableLength > HIGH_WATER) {
      this.paused = true;
      s.pause();
      s.once('drain', () => {
        this.paused = false;
        if (this.closed) return;
        s.resume();
        this.processInput();
        this.core.afterEvent();
      });
    }
  }

  /** The output-buffer class redis-server would give this client (it has no replicas). */
  get outputClass(): ClientClass {
    return this.subscribed ? 'pubsub' : 'normal';
  }

  /**
   * Applies client-output-buffer-limit to the output the socket still holds; true when that closed
   * the client. Clients over a soft limit are also checked by the server's timer (core.cron), so a
   * subscriber that stopped reading is closed even when nothing more is published to it.
   */
  checkOutputLimit(): boolean {
    const core = this.core;
    const used = this.socket.writableLength + this.pendingBytes;
    const cls = this.outputClass;
    if (!core.outputLimits.due(cls, used, this)) return false;
    const verdict = core.outputLimits.check(cls, used, this, core.now());
    if (this.obufSoftSince === -1) core.overSoft.delete(this);
    else core.overSoft.add(this);
    if (verdict === 'ok') return false;
    core.log(`Client ${clientInfoLine(this)} scheduled to be closed ASAP for overcoming of output buffer limits.`);
    this.abort();
    return true;
  }

  // ---- input ----

  onData(chunk: Buffer): void {
    this.lastInteraction = Date.now();
    this.parser.push(chunk);
    this.processInput();
  }

  /** Runs complete commands from the parser until it runs dry, the client blocks, or output backs up. */
  processInput(): void {
    const parser = this.parser;
    while (this.blocked === null && !this.paused && !this.closing && !this.closed) {
      const argv = parser.next();
      if (argv === null) return;
      if (argv instanceof ProtocolError) {
        this.sendError(argv.message);
        this.closing = true;
        return;
      }
      this.execute(argv);
      if (this.out.length + this.chunkBytes > FLUSH_AT) {
        // A huge pipelined reply: write what we have; stop if the socket is backed up.
        this.flush();
      }
    }
  }

  /** Full command dispatch: lookup, arity, auth, pub/sub mode, MULTI queueing, then run. */
  execute(argv: Arg[]): void {
    const core = this.core;
    const spec = core.table.lookup(argv[0]);
    if (spec === undefined) {
      // Neither is a command, so the check costs nothing on the known-command path.
      if (isCrossProtocolAttack(argv[0])) return this.refuseCrossProtocol();
      this.reject(unknownCommand(argv));
      return;
    }
    if ((spec.arity > 0 && argv.length !== spec.arity) || argv.length < -spec.arity) {
      this.reject(wrongArgs(spec.name), spec);
      return;
    }
    if (!this.authed && (spec.flags & F_NOAUTH) === 0) {
      this.reject('NOAUTH Authentication required.', spec);
      return;
    }
    // The subscribed-mode restriction is RESP2's only: a RESP3 connection gets pushes out of band.
    if ((spec.flags & F_PUBSUB) === 0 && this.subscribed && this.resp === 2) {
      this.reject(
        `ERR Can't execute '${spec.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
        spec,
      );
      return;
    }
    if (this.multi !== null && (spec.flags & F_NOQUEUE) === 0) {
      this.multi.push(argv);
      this.multiSpecs.push(spec);
      this.send(R_QUEUED);
      return;
    }
    if (this.multi !== null && (spec.flags & F_NOMULTI) !== 0) {
      this.sendError(`ERR ${spec.name.toUpperCase()} inside MULTI is not allowed`);
      return;
    }
    this.call(spec, argv);
    if (core.blocking.anyReady) core.blocking.handleReady();
  }

  /** Runs one command's handler, turning exceptions into error replies. */
  call(spec: CommandSpec, argv: Arg[]): void {
    this.core.commandsProcessed++;
    this.lastCommand = spec.name;
    try {
      spec.run(this, argv);
    } catch (e) {
      if (e instanceof RedisError) this.sendError(e.message);
      else {
        this.core.log(`command ${spec.name} failed: ${(e as Error)?.stack ?? String(e)}`);
        this.sendError(`ERR ${(e as Error)?.message ?? String(e)}`);
      }
    }
  }

  /**
   * A command rejected before running: reply, and poison an open transaction like Redis. A rejected
   * EXEC discards the transaction and says why, as redis-server's execCommandAbort does (its text
   * drops the "ERR " of the reason).
   */
  private reject(msg: string, spec?: CommandSpec): void {
    if (spec?.name === 'exec') {
      this.multi = null;
      this.multiSpecs = [];
      this.multiError = false;
      this.core.unwatchAll(this);
      this.sendError(`EXECABORT Transaction discarded because of: ${msg.startsWith('ERR ') ? msg.slice(4) : msg}`);
      return;
    }
    if (this.multi !== null) this.multiError = true;
    this.sendError(msg);
  }

  /**
   * An HTTP request sent to the bus (a browser tricked into POSTing to it, DNS rebinding): like
   * redis-server, log it (at most once a minute) and drop the connection at once, without the
   * replies still pending and without running anything that follows.
   */
  private refuseCrossProtocol(): void {
    const core = this.core;
    const now = core.now();
    if (now - core.lastAttackLog > 60_000) {
      core.lastAttackLog = now;
      core.log(
        'Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. ' +
          'This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection aborted.',
      );
    }
    this.abort();
  }

  /** Closes the connection now, dropping pending output and unread input. */
  abort(): void {
    this.out = '';
    this.chunks = [];
    this.chunkBytes = 0;
    this.closing = true;
    this.socket.destroy();
    this.dispose();
  }

  /** Called once the socket is gone: releases every registration this client holds. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.core.overSoft.delete(this);
    this.core.blocking.unblock(this);
    this.core.pubsub.unsubscribeAll(this);
    this.core.unwatchAll(this);
  }
}

/** `POST` or `Host:` as a command name, in any case (what redis-server's processCommand checks). */
function isCrossProtocolAttack(name: Arg): boolean {
  if (typeof name !== 'string' || (name.length !== 4 && name.length !== 5)) return false;
  const n = name.toLowerCase();
  return n === 'post' || n === 'host:';
}

/** Redis 7's exact text: args quoted, each followed by a space, the list capped near 128 chars. */
export function unknownCommand(argv: Arg[]): string {
  const name = argv[0];
  const nameStr = typeof name === 'string' ? name : name.latin1Slice(0, Math.min(name.length, 128));
  let args = '';
  for (let i = 1; i < argv.length && args.length < 128; i++) {
    const a = argv[i];
    const s = typeof a === 'string' ? a : a.latin1Slice(0, Math.min(a.length, 128));
    args += `'${s.slice(0, 128 - args.length)}' `;
  }
  return `ERR unknown command '${nameStr.slice(0, 128)}', with args beginning with: ${args}`;
}
