/**
 * `fav start` / `npm start`: the Electron app when its binary is installed; otherwise one line saying
 * so and how to get it, then the headless studio (same core, used from a browser).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { electronBinary, PACKAGE_ROOT } from '../paths.js';
import { runServe, type ServeCliOptions } from './serve.js';

export async function runStart(opts: ServeCliOptions): Promise<void> {
  const binary = electronBinary();
  const mainBundle = path.join(PACKAGE_ROOT, 'out', 'main', 'index.js');
  if (!existsSync(binary)) {
    process.stdout.write(
      `Electron binary not found (${path.relative(process.cwd(), binary) || binary}): get it with \`npx install-electron\` (Node >= 22.12); starting the headless studio instead.\n`,
    );
    return runServe(opts);
  }
  if (!existsSync(mainBundle)) {
    process.stderr.write(`fav start: the app is not built (${mainBundle} missing): run \`npm run build\`\n`);
    process.exitCode = 1;
    return;
  }
  const env = { ...process.env };
  if (opts.port !== undefined) env.FAV_PORT = String(opts.port);
  if (opts.host) env.FAV_HOST = opts.host;
  if (opts.redis) env.FAV_REDIS_URL = opts.redis;
  if (opts.data) env.FAV_DATA_DIR = opts.data;
  const child = spawn(binary, [PACKAGE_ROOT], { stdio: 'inherit', env });
  const forward = (s: NodeJS.Signals) => child.kill(s);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  process.exitCode = await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}
