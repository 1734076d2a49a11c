/** `fav bus`: the embedded bus alone, in the foreground. */
import { runBusForeground } from '../bus/cli-main.js';

export interface BusCliOptions {
  port: number;
  bind: string;
  password?: string;
  unixSocket?: string;
  snapshot?: string;
}

export async function runBus(opts: BusCliOptions): Promise<void> {
  const password = opts.password ?? (process.env.FAV_BUS_PASSWORD || undefined);
  if (opts.bind !== '127.0.0.1' && opts.bind !== 'localhost' && opts.bind !== '::1' && !password) {
    process.stderr.write(`fav bus: warning: listening on ${opts.bind} without --password lets anyone on that network use the bus\n`);
  }
  await runBusForeground({
    port: opts.port,
    host: opts.bind,
    password,
    unixSocket: opts.unixSocket,
    snapshotPath: opts.snapshot,
  });
}
