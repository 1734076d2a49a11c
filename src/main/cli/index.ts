/**
 * `fav`: the command-line entry of Free-Agent-Vtuber Studio.
 *   fav start   the Electron app (or the headless studio when no Electron binary exists)
 *   fav serve   the headless studio: bus + services + gateway
 *   fav bus     the embedded Redis-compatible bus alone
 *   fav worker  one service against any Redis
 *   fav doctor  checks this machine
 * Usage errors (unknown flags, bad values) print one clear line and exit 2.
 */
import { Command, CommanderError, Option } from 'commander';
import { SERVICE_NAMES } from '../../shared/bus.js';
import { PACKAGE_VERSION } from '../paths.js';
import { parseHost, parsePort, parseRedisUrl } from './options.js';

export const USAGE_ERROR = 2;

function serveOptions(cmd: Command): Command {
  return cmd
    .option('--port <port>', 'gateway port (default 8000, env FAV_PORT)', parsePort)
    .option('--host <host>', 'gateway bind address (default 127.0.0.1)', parseHost)
    .option('--redis <url>', 'use this Redis instead of the embedded bus (env FAV_REDIS_URL)', parseRedisUrl)
    .option('--data <dir>', 'data directory (env FAV_DATA_DIR)');
}

export function buildProgram(): Command {
  const program = new Command('fav')
    .description('Free-Agent-Vtuber Studio: an AI VTuber on an embedded Redis-compatible bus')
    .version(PACKAGE_VERSION, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  serveOptions(program.command('start').description('start the app: Electron when its binary is installed, else the headless studio')).action(
    async (opts) => (await import('./start.js')).runStart(opts),
  );

  serveOptions(program.command('serve').description('run the headless studio: bus, all services and the gateway')).action(async (opts) =>
    (await import('./serve.js')).runServe(opts),
  );

  program
    .command('bus')
    .description('run the embedded Redis-compatible bus alone, in the foreground, until SIGINT/SIGTERM')
    .option('--port <port>', 'TCP port', parsePort, 6379)
    .option('--bind <host>', 'bind address', parseHost, '127.0.0.1')
    .option('--password <password>', 'require AUTH with this password (env FAV_BUS_PASSWORD)')
    .option('--unix-socket <path>', 'also listen on a Unix socket')
    .option('--snapshot <file>', 'load this snapshot at start and write it at exit')
    .action(async (opts) => (await import('./bus.js')).runBus(opts));

  program
    .command('worker')
    .description('run one service against any Redis (scale-out, debugging)')
    .addArgument(program.createArgument('<name>', 'service name').choices(SERVICE_NAMES))
    .option('--redis <url>', 'the bus to join (env FAV_REDIS_URL)', parseRedisUrl)
    .option('--instance <id>', 'instance id (default <name>@<hostname>#<pid>)')
    .action(async (name: string, opts) => (await import('./worker.js')).runWorker(name, opts));

  program
    .command('doctor')
    .description('check this machine: Node, Electron, Chromium, redis-server, speech engines, models, ports, LLM endpoint')
    .option('--json', 'print the checks as JSON')
    .addOption(new Option('--port <port>', 'gateway port to check').argParser(parsePort))
    .action(async (opts) => (await import('./doctor.js')).runDoctor(opts));

  for (const cmd of program.commands) cmd.exitOverride().showHelpAfterError('(run with --help for usage)');
  return program;
}

/** Runs the CLI; resolves with the exit code (commands that serve resolve when they stop). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length === 0) {
    program.outputHelp();
    return USAGE_ERROR;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return USAGE_ERROR;
    }
    process.stderr.write(`fav: ${(err as Error).message}\n`);
    return 1;
  }
}
