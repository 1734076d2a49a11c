/** Test helpers for the bus's own tests: a raw RESP socket that collects replies. */
import net from 'node:net';

export class RawConn {
  readonly sock: net.Socket;
  private buf = '';
  closed = false;
  private waiters: Array<() => void> = [];

  private constructor(port: number) {
    this.sock = net.connect(port, '127.0.0.1');
    this.sock.on('data', (d) => {
      this.buf += d.toString('latin1');
      this.wake();
    });
    this.sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    this.sock.on('error', () => {});
  }

  static async open(port: number): Promise<RawConn> {
    const c = new RawConn(port);
    await new Promise<void>((resolve, reject) => {
      c.sock.once('connect', resolve);
      c.sock.once('error', reject);
    });
    return c;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(s: string | Buffer): void {
    this.sock.write(typeof s === 'string' ? Buffer.from(s, 'latin1') : s);
  }

  /** Waits until the collected output satisfies pred (or the socket closes / times out). */
  async until(pred: (out: string) => boolean, timeoutMs = 3000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.buf)) {
      if (this.closed) break;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout; got ${JSON.stringify(this.buf.slice(0, 500))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => (clearTimeout(t), r()));
      });
    }
    return this.buf;
  }

  /** Sends and waits for `expected` exactly, then clears the buffer. */
  async expect(send: string, expected: string): Promise<void> {
    this.write(send);
    const got = await this.until((o) => o.length >= expected.length);
    this.buf = '';
    if (got !== expected) throw new Error(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
  }

  take(): string {
    const b = this.buf;
    this.buf = '';
    return b;
  }

  waitClosed(timeoutMs = 3000): Promise<string> {
    return this.until(() => this.closed, timeoutMs);
  }

  close(): void {
    this.sock.destroy();
  }
}

export const cmd = (...args: string[]): string => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('')}`;
