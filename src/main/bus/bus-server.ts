/**
 * BusServer: the socket side. TCP (and optionally a unix socket) listeners feed connections into
 * one BusCore; it enforces maxClients, runs the active-expiry timer, and loads/saves the snapshot.
 */
import fs from 'node:fs';
import net from 'node:net';
import { BusCore } from './bus-core.js';
import { Client } from './client.js';
import { streamCodec } from './cmd-streams.js';
import { registerCommands } from './commands.js';
import { readSnapshot, SnapshotError, writeSnapshot, type StreamCodec } from './snapshot.js';

export interface BusOptions {
  port?: number;
  host?: string;
  unixSocket?: string;
  password?: string;
  maxClients?: number;
  maxBulkLength?: number;
  snapshotPath?: string;
  /** Clock for output-buffer soft limits (tests inject one); Date.now by default. */
  clock?: () => number;
}

export class BusServer {
  readonly core: BusCore;
  private readonly opts: Required<Pick<BusOptions, 'port' | 'host' | 'maxClients' | 'maxBulkLength'>> & BusOptions;
  private servers: net.Server[] = [];
  private expiryTimer: NodeJS.Timeout | null = null;
  private readonly codec: StreamCodec = streamCodec;
  private closing: Promise<void> | null = null;
  private boundPort = 0;

  constructor(opts: BusOptions = {}) {
    this.opts = {
      ...opts,
      port: opts.port ?? 6379,
      host: opts.host ?? '127.0.0.1',
      maxClients: opts.maxClients ?? 10000,
      maxBulkLength: opts.maxBulkLength ?? 512 * 1024 * 1024,
    };
    this.core = new BusCore({
      password: opts.password || undefined,
      maxClients: this.opts.maxClients,
      maxBulkLength: this.opts.maxBulkLength,
      snapshotPath: opts.snapshotPath,
      clock: opts.clock,
    });
    registerCommands(this.core.table);
    if (opts.snapshotPath) this.core.save = () => this.saveSnapshot();
  }

  get port(): number {
    return this.boundPort;
  }

  url(): string {
    const auth = this.opts.password ? `:${encodeURIComponent(this.opts.password)}@` : '';
    const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    return `redis://${auth}${host}:${this.boundPort}`;
  }

  stats(): { clients: number; keys: number; commandsProcessed: number } {
    return { clients: this.core.clients.size, keys: this.core.keyCount, commandsProcessed: this.core.commandsProcessed };
  }

  async listen(): Promise<{ host: string; port: number }> {
    if (this.servers.length) throw new Error('BusServer is already listening');
    this.loadSnapshot();
    const tcp = net.createServer({ noDelay: true }, (s) => this.onConnection(s));
    this.servers.push(tcp);
    await listenOn(tcp, { port: this.opts.port, host: this.opts.host });
    this.boundPort = (tcp.address() as net.AddressInfo).port;
    this.core.port = this.boundPort;
    this.core.host = this.opts.host;
    if (this.opts.unixSocket) {
      const path = this.opts.unixSocket;
      removeStaleSocket(path);
      const unix = net.createServer((s) => this.onConnection(s));
      this.servers.push(unix);
      await listenOn(unix, { path });
    }
    this.expiryTimer = setInterval(() => {
      for (const db of this.core.dbs) db.activeExpireCycle();
      this.core.cron();
    }, 100);
    this.expiryTimer.unref();
    return { host: this.opts.host, port: this.boundPort };
  }

  private onConnection(socket: net.Socket): void {
    const core = this.core;
    socket.on('error', () => {
      /* ECONNRESET and friends: 'close' follows and cleans up */
    });
    if (this.closing || core.clients.size >= this.opts.maxClients) {
      core.rejectedConnections++;
      socket.end('-ERR max number of clients reached\r\n');
      return;
    }
    core.connectionsReceived++;
    const c = new Client(core, socket);
    core.clients.set(c.id, c);
    socket.on('data', (chunk: Buffer) => {
      try {
        c.onData(chunk);
      } catch (e) {
        // Never let one connection take the server down.
        core.log(`connection ${c.id} failed: ${(e as Error)?.stack ?? String(e)}`);
        c.sendError('ERR internal error');
        c.closing = true;
      }
      core.inputFrom(c);
    });
    socket.on('close', () => {
      core.clients.delete(c.id);
      c.dispose();
    });
  }

  private loadSnapshot(): void {
    const path = this.opts.snapshotPath;
    if (!path || !fs.existsSync(path)) return;
    try {
      const n = readSnapshot(path, this.core.dbs, this.codec);
      this.core.log(`loaded ${n} keys from snapshot ${path}`);
    } catch (e) {
      for (const db of this.core.dbs) db.clear();
      const moved = `${path}.corrupt-${Date.now()}`;
      const why = e instanceof SnapshotError ? e.message : (e as Error)?.message;
      try {
        fs.renameSync(path, moved);
        this.core.log(`snapshot ${path} is unreadable (${why}); moved to ${moved}, starting empty`);
      } catch (e2) {
        this.core.log(`snapshot ${path} is unreadable (${why}) and could not be moved: ${(e2 as Error).message}`);
      }
    }
  }

  /** Writes the snapshot now (SAVE and close). */
  saveSnapshot(): void {
    if (!this.opts.snapshotPath) return;
    writeSnapshot(this.opts.snapshotPath, this.core.dbs, this.codec);
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      if (this.expiryTimer) clearInterval(this.expiryTimer);
      this.expiryTimer = null;
      this.core.blocking.clear();
      this.core.cancelScheduled();
      const closed = this.servers.map((s) => new Promise<void>((r) => s.close(() => r())));
      for (const c of [...this.core.clients.values()]) c.socket.destroy();
      await Promise.all(closed);
      this.servers = [];
      if (this.opts.unixSocket) fs.rmSync(this.opts.unixSocket, { force: true });
      try {
        this.saveSnapshot();
      } catch (e) {
        this.core.log(`snapshot write failed: ${(e as Error).message}`);
        throw e;
      }
    })();
    return this.closing;
  }
}

function listenOn(server: net.Server, opts: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen(opts, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** A unix socket file left by a crashed run would make listen fail with EADDRINUSE. */
function removeStaleSocket(path: string): void {
  try {
    if (fs.statSync(path).isSocket()) fs.rmSync(path);
  } catch {
    /* absent: fine */
  }
}

export async function startBus(opts?: BusOptions): Promise<BusServer> {
  const bus = new BusServer(opts);
  await bus.listen();
  return bus;
}
