/**
 * Helpers for scripts/bench-bus.ts: running a command with a time limit, parsing redis-benchmark's
 * CSV, medians, reading a process's RSS, and loading N small keys over a raw socket.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; kills it (SIGKILL) if it is still running after `timeoutMs`. */
export function run(cmd: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')}: no result within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** redis-benchmark --csv output -> { test name: requests per second }. */
export function parseBenchmarkCsv(csv: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of csv.split('\n')) {
    const m = /^"([^"]+)","([\d.]+)"/.exec(line.trim());
    if (m && m[1] !== 'test') out[m[1]] = Number(m[2]);
  }
  return out;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Resident set size of a process in KiB, from /proc/<pid>/status (Linux). */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

const cmd = (args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

/** Sends one command over a fresh socket and returns the first reply line (enough for +OK / :N). */
export function oneLine(port: number, args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(cmd(args)));
    let buf = '';
    const timer = setTimeout(() => (s.destroy(), reject(new Error(`${args[0]}: no reply in ${timeoutMs} ms`))), timeoutMs);
    s.on('data', (d) => {
      buf += d.toString('latin1');
      const i = buf.indexOf('\r\n');
      if (i >= 0) {
        clearTimeout(timer);
        s.destroy();
        resolve(buf.slice(0, i));
      }
    });
    s.on('error', (err) => (clearTimeout(timer), reject(err)));
  });
}

/**
 * Writes `count` keys `key:000000000001`... with 3-byte values (redis-benchmark's SET shape) using
 * MSET of `perCmd` pairs, `window` commands in flight at a time. Resolves once all are acknowledged.
 */
export function loadKeys(port: number, count: number, timeoutMs: number, perCmd = 500, window = 16): Promise<void> {
  const commands: string[] = [];
  for (let start = 0; start < count; start += perCmd) {
    const args = ['MSET'];
    for (let i = start; i < Math.min(count, start + perCmd); i++) args.push(`key:${String(i).padStart(12, '0')}`, 'xxx');
    commands.push(cmd(args));
  }
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let sent = 0;
    let acked = 0;
    let pendingText = '';
    const timer = setTimeout(() => (s.destroy(), reject(new Error(`loading ${count} keys took over ${timeoutMs} ms`))), timeoutMs);
    const pump = () => {
      while (sent < commands.length && sent - acked < window) s.write(commands[sent++]);
    };
    s.on('connect', pump);
    s.on('data', (d) => {
      pendingText += d.toString('latin1');
      let i: number;
      while ((i = pendingText.indexOf('\r\n')) >= 0) {
        const line = pendingText.slice(0, i);
        pendingText = pendingText.slice(i + 2);
        if (line !== '+OK') return (clearTimeout(timer), s.destroy(), reject(new Error(`MSET answered ${line}`)));
        acked++;
      }
      if (acked === commands.length) {
        clearTimeout(timer);
        s.destroy();
        resolve();
      } else pump();
    });
    s.on('error', (err) => (clearTimeout(timer), reject(err)));
  });
}
