/**
 * The one worker entry: `main.ts NAME [--redis URL] [--instance ID]`.
 * Used by NodeProcessHost (child_process.fork), the Electron utility-process host and `fav worker`.
 * Exit codes: 0 stopped, 1 failed, 2 usage error (unknown service, bad option), 3 test crash knob.
 */
import { SERVICE_NAMES, isServiceName } from '../shared/bus.js';
import { ConfigError, ExitCode, parseWorkerArgs, runWorker } from './runtime/index.js';
import { SERVICE_LOADERS } from './services.js';

const USAGE = `usage: main.ts NAME [--redis URL] [--instance ID]\n  NAME: ${SERVICE_NAMES.join(', ')}`;

async function main(argv: string[]): Promise<number> {
  let config;
  try {
    config = parseWorkerArgs(argv);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`error: ${e.message}\n${USAGE}\n`);
    return ExitCode.usage;
  }
  if (!isServiceName(config.service)) {
    process.stderr.write(`error: unknown service "${config.service}"; expected one of: ${SERVICE_NAMES.join(', ')}\n`);
    return ExitCode.usage;
  }
  const def = (await SERVICE_LOADERS[config.service]()).default;
  return runWorker(def, config);
}

// A broken stdout/stderr pipe (parent gone) must not turn into an uncaught exception.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);
process.on('uncaughtException', (e) => {
  process.stderr.write(`uncaught exception: ${e.stack ?? e.message}\n`);
  process.exit(ExitCode.failed);
});
process.on('unhandledRejection', (e) => {
  process.stderr.write(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(ExitCode.failed);
});

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`fatal: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(ExitCode.failed);
  },
);
