/** `fav serve`: the headless studio (bus + services + gateway) until SIGINT/SIGTERM. */
import { ConfigError, loadConfig, redactUrl } from '../config/load-config.js';
import { startStudio } from '../app.js';

export interface ServeCliOptions {
  port?: number;
  host?: string;
  redis?: string;
  data?: string;
}

export async function runServe(opts: ServeCliOptions): Promise<void> {
  let loaded;
  try {
    loaded = loadConfig({ port: opts.port, host: opts.host, redisUrl: opts.redis, dataDir: opts.data });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`fav serve: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  for (const w of loaded.warnings) process.stderr.write(`fav serve: warning: ${w}\n`);
  const { config } = loaded;
  if (config.host !== '127.0.0.1' && config.host !== 'localhost' && config.host !== '::1') {
    process.stderr.write(`fav serve: warning: the gateway listens on ${config.host}, not only this computer; control endpoints still need the token\n`);
  }

  const studio = await startStudio({ config, overrides: loaded.overrides, onProgress: (line) => process.stdout.write(`  ${line}\n`) });
  process.stdout.write(
    [
      `Free-Agent-Vtuber Studio (headless) is running`,
      `  studio:   ${studio.gatewayUrl}/#token=${studio.token}`,
      `  health:   ${studio.gatewayUrl}/health`,
      `  bus:      ${studio.busKind === 'embedded' ? 'embedded' : 'external'} ${redactUrl(studio.busUrl)}`,
      `  data:     ${config.dataDir}`,
      `Press Ctrl+C to stop.`,
      '',
    ].join('\n'),
  );
  // What a service had to tell at start (a damaged memory database it salvaged): on the console too.
  for (const s of studio.supervisor.status()) if (s.notice) process.stderr.write(`fav serve: warning: ${s.name}: ${s.notice}\n`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`fav serve: ${signal} again: exiting now\n`);
        process.exit(130);
      }
      stopping = true;
      process.stdout.write(`\nstopping (${signal})...\n`);
      studio.stop().then(resolve, (err) => {
        process.stderr.write(`fav serve: error while stopping: ${(err as Error).message}\n`);
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stdout.write('stopped\n');
}
