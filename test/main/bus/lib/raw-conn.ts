/**
 * A bare TCP connection for the wire-level conformance layer: writes bytes exactly as given and
 * reads replies as bytes, so the exact encoding (and the server closing the socket) can be compared
 * between redis-server and the embedded bus.
 */
import net from 'node:net';
import { encodeCommand, splitReplies } from './resp.js';

export class RawConn {
  private buf: Buffer = Buffer.alloc(0);
  private closed = false;
  private waiter: (() => void) | null = null;

  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.wake();
    });
    // A reset from the server counts as closed as well; the error itself is not the point here.
    sock.on('error', () => undefined);
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(port: number): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.setNoDelay(true);
      sock.once('connect', () => {
        sock.off('error', reject);
        resolve(new RawConn(sock));
      });
      sock.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** Resolves when more data arrives, the socket closes, or `ms` pass (then false). */
  private waitForData(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(false);
      }, ms);
      this.waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  write(data: string | Buffer): void {
    this.sock.write(data);
  }

  /** Sends one command as a RESP multibulk request. */
  send(...args: string[]): void {
    this.sock.write(encodeCommand(args));
  }

  /**
   * Reads exactly `n` complete replies and returns their bytes concatenated; the rest stays buffered.
   * Throws if they do not arrive within `ms` (with what did arrive, for the failure message).
   */
  async read(n = 1, ms = 2000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    for (;;) {
      const { replies } = splitReplies(this.buf);
      if (replies.length >= n) {
        const len = replies.slice(0, n).reduce((s, r) => s + r.length, 0);
        const out = this.buf.subarray(0, len);
        this.buf = this.buf.subarray(len);
        return Buffer.from(out);
      }
      const left = deadline - Date.now();
      if (this.closed || left <= 0) {
        throw new Error(`wanted ${n} replies, got ${replies.length} (closed=${this.closed}): ${JSON.stringify(this.buf.toString('latin1'))}`);
      }
      await this.waitForData(left);
    }
  }

  /** One command, one reply. */
  async call(...args: string[]): Promise<string> {
    this.send(...args);
    return (await this.read(1)).toString('latin1');
  }

  /** Returns everything received until the server closes the socket (or `ms` pass: closed=false). */
  async readUntilClose(ms = 2000): Promise<{ data: string; closed: boolean }> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await this.waitForData(deadline - Date.now());
    const data = this.buf.toString('latin1');
    this.buf = Buffer.alloc(0);
    return { data, closed: this.closed };
  }

  /** Whatever arrives within `ms` (for asserting that nothing arrives). */
  async drain(ms: number): Promise<string> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await this.waitForData(deadline - Date.now());
    const data = this.buf.toString('latin1');
    this.buf = Buffer.alloc(0);
    return data;
  }

  /** Waits until everything received so far (latin1) satisfies pred, or the socket closes; returns it. */
  async until(pred: (out: string) => boolean, ms = 3000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!pred(this.buf.toString('latin1'))) {
      const left = deadline - Date.now();
      if (this.closed) break;
      if (left <= 0) throw new Error(`timeout; got ${JSON.stringify(this.buf.toString('latin1').slice(0, 500))}`);
      await this.waitForData(left);
    }
    return this.buf.toString('latin1');
  }

  /** Sends raw bytes and waits for exactly `expected` (byte for byte), then clears the buffer. */
  async expect(send: string, expected: string): Promise<void> {
    this.write(Buffer.from(send, 'latin1'));
    const got = await this.until((o) => o.length >= expected.length);
    this.buf = Buffer.alloc(0);
    if (got !== expected) throw new Error(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
  }

  /** Everything received so far (latin1), clearing the buffer. */
  take(): string {
    const data = this.buf.toString('latin1');
    this.buf = Buffer.alloc(0);
    return data;
  }

  /** Resolves with what was received once the server has closed the socket. */
  waitClosed(ms = 3000): Promise<string> {
    return this.until(() => this.closed, ms);
  }

  /** The underlying socket (to destroy it mid-command, or watch its events). */
  get socket(): net.Socket {
    return this.sock;
  }

  close(): void {
    this.sock.destroy();
  }
}

/** One command as RESP multibulk bytes (latin1), for writing by hand next to other raw bytes. */
export const cmd = (...args: string[]): string => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('')}`;
