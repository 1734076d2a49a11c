import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startRedisServer } from '../../helpers/redis-server.js';
import { runFav, startFav } from '../../helpers/fav-cli.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'fav-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('fav usage', () => {
  it('prints help for the program and each command', async () => {
    const top = await runFav(['--help']);
    expect(top.code).toBe(0);
    for (const cmd of ['start', 'serve', 'bus', 'worker', 'doctor']) expect(top.stdout).toContain(cmd);
    for (const cmd of ['serve', 'bus', 'worker', 'doctor', 'start']) {
      const r = await runFav([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Usage: fav ${cmd}`));
    }
    const bus = await runFav(['bus', '--help']);
    expect(bus.stdout).toContain('--password');
    expect(bus.stdout).toContain('default: 6379');
  });

  it('rejects unknown flags and bad values with a clear error and exit 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['serve', '--bogus'], /unknown option '--bogus'/],
      [['serve', '--port', 'eighty'], /'eighty' is not a port number/],
      [['serve', '--port', '70000'], /out of range/],
      [['serve', '--redis', 'http://x:1'], /must start with redis:\/\//],
      [['bus', '--port'], /argument missing/],
      [['worker', 'nope', '--redis', 'redis://127.0.0.1:1'], /Allowed choices are input-handler, asr/],
      [['frobnicate'], /unknown command 'frobnicate'/],
    ];
    for (const [args, pattern] of cases) {
      const r = await runFav(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(pattern);
    }
  });

  it('refuses a worker without a bus, naming the fix', async () => {
    const r = await runFav(['worker', 'asr'], { env: { FAV_REDIS_URL: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--redis redis:\/\/.*FAV_REDIS_URL/);
  });

  it('reports a bad FAV_* value before starting anything', async () => {
    const r = await runFav(['serve', '--data', tmp], { env: { FAV_ASR_ENGINE: 'whisper-9000' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/asr\.engine/);
  });
});

describe('fav serve with a Redis it cannot use', () => {
  it('names the reason and starts nothing', async () => {
    const port = await freePort();
    const down = await runFav(['serve', '--data', tmp, '--port', String(await freePort()), '--redis', `redis://127.0.0.1:${port}`]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(new RegExp(`cannot use the Redis at redis://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`));

    const redis = await startRedisServer({ password: 'right' });
    try {
      const wrong = await runFav(['serve', '--data', tmp, '--port', String(await freePort()), '--redis', `redis://:wrong@127.0.0.1:${redis.port}`]);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/cannot use the Redis at redis:\/\/\*\*\*@127\.0\.0\.1:\d+: WRONGPASS/);
      expect(wrong.stderr).not.toContain('wrong@');
    } finally {
      await redis.stop();
    }
  });
});

describe('fav serve on a taken port', () => {
  it('fails at once, naming the port and the fix, with nothing started', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const r = await runFav(['serve', '--data', tmp, '--port', String(port)]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use.*--port`));
      // It failed before the bus and services: none of their progress lines were printed.
      expect(r.stdout).not.toMatch(/bus: embedded|services:/);
    } finally {
      blocker.close();
    }
  });
});

describe('fav doctor', () => {
  it('checks the machine and prints a fix for what is missing', async () => {
    const r = await runFav(['doctor', '--json'], { env: { FAV_DATA_DIR: tmp, FAV_LLM_BASE_URL: 'http://127.0.0.1:9/v1' } });
    const { checks } = JSON.parse(r.stdout) as { checks: Array<{ name: string; level: string; detail: string; fix?: string }> };
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(byName['Node.js'].level).toBe('ok');
    expect(byName['Data directory'].detail).toBe(tmp);
    // No LLM listens on port 9: a warning with the fix, not a failure.
    expect(byName['LLM endpoint'].level).toBe('warn');
    expect(byName['LLM endpoint'].fix).toMatch(/FAV_LLM_BASE_URL/);
    // This machine has no Electron binary (it cannot be downloaded here).
    expect(byName['Electron binary'].fix).toMatch(/install-electron/);
    expect(byName['redis-server'].level).toBe('ok');
    expect(r.code).toBe(checks.some((c) => c.level === 'fail') ? 1 : 0);
  });
});

describe('fav bus', () => {
  it('serves redis-cli with a password until SIGTERM', async () => {
    const port = await freePort();
    const bus = startFav(['bus', '--port', String(port), '--password', 's3cret']);
    try {
      await bus.waitFor(/listening on 127\.0\.0\.1:\d+/, 20_000);
      const cli = (...args: string[]) => execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).trim();
      expect(cli('ping')).toMatch(/NOAUTH/);
      expect(cli('-a', 's3cret', '--no-auth-warning', 'ping')).toBe('PONG');
      expect(cli('-a', 's3cret', '--no-auth-warning', 'set', 'k', 'v')).toBe('OK');
      expect(cli('-a', 's3cret', '--no-auth-warning', 'get', 'k')).toBe('v');
    } finally {
      expect(await bus.stop('SIGTERM')).toBe(0);
    }
  });
});
