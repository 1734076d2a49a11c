/** `fav bus`: runs the bus in the foreground until SIGINT/SIGTERM, then closes it cleanly. */
import { startBus, type BusOptions } from './index.js';

export async function runBusForeground(opts: BusOptions): Promise<void> {
  const bus = await startBus(opts);
  const { host, port } = { host: opts.host ?? '127.0.0.1', port: bus.port };
  process.stdout.write(`bus listening on ${host}:${port}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      bus.close().then(resolve, (e: unknown) => {
        process.stderr.write(`bus close failed: ${(e as Error)?.message ?? String(e)}\n`);
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
