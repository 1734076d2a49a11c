/**
 * Starts a real Debian redis-server on a free loopback port for a test, with no persistence.
 * Tests that need it call `startRedisServer()` in beforeAll and `stop()` in afterAll.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';

export const REDIS_SERVER_BIN = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface RedisServerHandle {
  port: number;
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export async function startRedisServer(opts: { password?: string; extraArgs?: string[] } = {}): Promise<RedisServerHandle> {
  if (!REDIS_SERVER_BIN) throw new Error('redis-server not found: apt-get install -y redis-server');
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  if (opts.password) args.push('--requirepass', opts.password);
  args.push(...(opts.extraArgs ?? []));
  const proc = spawn(REDIS_SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const tryConnect = () => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (proc.exitCode !== null) return reject(new Error(`redis-server exited: ${out}`));
        if (Date.now() > deadline) return reject(new Error(`redis-server did not start: ${out}`));
        setTimeout(tryConnect, 20);
      });
    };
    tryConnect();
  });
  const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : '';
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGKILL');
      }),
  };
}
