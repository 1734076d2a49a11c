/**
 * The BUILT Electron main bundle (out/main/index.js) run under plain Node, with `electron`
 * resolved to a recording stand-in (fake-electron/electron.mjs) because no Electron binary exists
 * here. Everything below the shell is real: the core starts (embedded bus, supervisor, gateway),
 * every service runs as a process forked from out/main/worker.js through UtilityProcessHost, and
 * the studio window's URL is really fetched. What is checked is the shell's own logic: start
 * order, window security options, session CSP and permission rules, navigation and IPC guards,
 * single-instance, and an ordered quit that stops the core (and its workers) exactly once, also
 * when the quit comes while the core is still starting.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IpcChannels, RENDERER_CSP } from '../../src/shared/renderer-api.js';
import { BUILT, ensureBuilt, repoRoot } from './built-app.js';

const REGISTER = path.join(repoRoot, 'test/electron/fake-electron/register.mjs');

interface Event {
  type: string;
  [key: string]: unknown;
}

class Shell {
  readonly events: Event[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private nextId = 1;
  output = '';

  constructor(
    readonly dataDir: string,
    env: Record<string, string> = {},
  ) {
    this.child = fork(BUILT.main, [], {
      execArgv: ['--import', REGISTER],
      env: { ...process.env, FAV_DATA_DIR: dataDir, FAV_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child.stdout!.on('data', (d: Buffer) => (this.output += d));
    this.child.stderr!.on('data', (d: Buffer) => (this.output += d));
    this.child.on('message', (m: Event) => this.events.push(m));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  async waitFor(type: string, timeoutMs = 60_000): Promise<Event> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e) => e.type === type);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no "${type}" within ${timeoutMs} ms; output:\n${this.output}`);
      if (this.child.exitCode !== null) throw new Error(`shell exited (${this.child.exitCode}) before "${type}":\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Asks the stand-in to run one of the shell's registered handlers and returns its answer. */
  async ask(probe: Record<string, unknown>): Promise<unknown> {
    const id = this.nextId++;
    this.child.send({ ...probe, id });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const a = this.events.find((e) => e.type === 'answer' && e.id === id);
      if (a) {
        if (a.error) throw new Error(String(a.error));
        return a.result;
      }
      if (Date.now() > deadline) throw new Error(`no answer to ${JSON.stringify(probe)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Polls `pick` (the stand-in reports asynchronously) until it gives something. */
async function until<T>(pick: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = pick();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting for the shell');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const shells: Shell[] = [];
function startShell(env?: Record<string, string>): Shell {
  const shell = new Shell(mkdtempSync(path.join(os.tmpdir(), 'fav-shell-')), env);
  shells.push(shell);
  return shell;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Every worker ended before the app exited, by itself (code 0 after the supervisor's SIGTERM). */
function stoppedBeforeExit(shell: Shell): void {
  const exitAt = shell.events.findIndex((e) => e.type === 'exit');
  const forks = shell.events.filter((e) => e.type === 'utility-fork');
  for (const f of forks) {
    const at = shell.events.findIndex((e) => e.type === 'utility-exit' && e.pid === f.pid);
    expect(at, `worker ${String(f.pid)} did not exit before the app; shell output:\n${shell.output}`).toBeGreaterThan(-1);
    expect(at).toBeLessThan(exitAt);
    expect(shell.events[at]).toMatchObject({ code: 0 });
  }
}

async function allGone(pids: number[], timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  return pids.filter(alive);
}

beforeAll(() => ensureBuilt(), 300_000);

afterEach(() => {
  for (const shell of shells.splice(0)) {
    for (const e of shell.events) if (e.type === 'utility-fork' && alive(e.pid as number)) process.kill(e.pid as number, 'SIGKILL');
    shell.kill();
    rmSync(shell.dataDir, { recursive: true, force: true });
  }
});

describe('the Electron shell (built main bundle, electron stand-in)', () => {
  it('starts the core, opens a hardened studio window, guards the session, and quits in order', async () => {
    const shell = startShell();
    const loaded = await shell.waitFor('window-loaded', 90_000);
    const gateway = new URL(String(loaded.url)).origin;
    expect(loaded).toMatchObject({ status: 200 });
    expect(loaded.url).toBe(`${gateway}/`);
    expect(gateway).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    // Start order: the core (with its workers) before the tray and the window.
    const types = shell.events.map((e) => e.type);
    expect(types.lastIndexOf('utility-fork')).toBeLessThan(types.indexOf('tray-created'));
    expect(types.indexOf('tray-created')).toBeLessThan(types.indexOf('window-created'));

    const forks = shell.events.filter((e) => e.type === 'utility-fork');
    expect(forks.length).toBeGreaterThan(0);
    for (const f of forks) {
      expect(f.modulePath).toBe(BUILT.worker);
      expect((f.args as string[])[1]).toBe('--instance');
    }
    const window = shell.events.find((e) => e.type === 'window-created')!;
    expect(window.webPreferences).toMatchObject({
      preload: BUILT.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    });

    // The core is really up behind the window's URL.
    const services = (await (await fetch(`${gateway}/api/services`)).json()) as { services: { name: string }[] };
    expect(services.services.map((s) => s.name).sort()).toEqual(forks.map((f) => (f.args as string[])[0]).sort());

    // Session: CSP header on every response (replacing any other), microphone only, only for the gateway.
    const headers = (await shell.ask({ type: 'headers', url: `${gateway}/`, headers: { 'content-security-policy': ["default-src *"], 'x-a': ['1'] } })) as {
      responseHeaders: Record<string, string[]>;
    };
    expect(headers.responseHeaders).toEqual({ 'Content-Security-Policy': [RENDERER_CSP], 'x-a': ['1'] });
    const permission = (permission: string, url: string, mediaTypes?: string[]) =>
      shell.ask({ type: 'permission', permission, url: url, mediaTypes });
    await expect(permission('media', `${gateway}/`, ['audio'])).resolves.toBe(true);
    await expect(permission('media', `${gateway}/`, ['audio', 'video'])).resolves.toBe(false);
    await expect(permission('media', 'https://example.com/', ['audio'])).resolves.toBe(false);
    await expect(permission('geolocation', `${gateway}/`)).resolves.toBe(false);
    await expect(permission('notifications', `${gateway}/`)).resolves.toBe(false);

    // Navigation: same origin allowed; web links go to the OS browser; other schemes are dropped.
    await expect(shell.ask({ type: 'navigate', url: `${gateway}/overlay` })).resolves.toBe(false);
    await expect(shell.ask({ type: 'navigate', url: 'https://example.com/x' })).resolves.toBe(true);
    await expect(shell.ask({ type: 'navigate', url: 'file:///etc/passwd' })).resolves.toBe(true);
    await expect(shell.ask({ type: 'window-open', url: 'https://example.org/' })).resolves.toEqual({ action: 'deny' });
    await expect(shell.ask({ type: 'window-open', url: `${gateway}/` })).resolves.toEqual({ action: 'deny' });
    const opened = shell.events.filter((e) => e.type === 'open-external').map((e) => e.url);
    expect(opened).toEqual(['https://example.com/x', 'https://example.org/']);

    // The token goes only to pages of the gateway.
    const token = (await shell.ask({ type: 'ipc', channel: IpcChannels.getToken, senderUrl: `${gateway}/` })) as { value: string };
    expect(token.value).toMatch(/^\S{16,}$/);
    await expect(shell.ask({ type: 'ipc', channel: IpcChannels.getToken, senderUrl: 'https://example.com/' })).resolves.toEqual({
      error: expect.stringMatching(/not allowed/),
    });

    // The stream window from the tray: frameless, transparent, on top, showing the overlay page the
    // gateway really serves; the tray's chroma option reloads it with bg=, click-through toggles.
    await shell.ask({ type: 'tray-click', label: 'Show Stream Window' });
    const stream = await until(() => shell.events.find((e) => e.type === 'window-created' && e.title === 'Free-Agent-Vtuber Stream'));
    expect(stream).toMatchObject({ transparent: true, frame: false, alwaysOnTop: true, webPreferences: { sandbox: true, contextIsolation: true } });
    const loads = () => shell.events.filter((e) => e.type === 'window-loaded').map((e) => [e.url, e.status]);
    await until(() => loads().some(([url]) => url === `${gateway}/overlay`));
    await shell.ask({ type: 'tray-click', label: 'Green (#00FF00)' });
    await until(() => loads().some(([url]) => url === `${gateway}/overlay?bg=green`));
    expect(loads()).toEqual([
      [`${gateway}/`, 200],
      [`${gateway}/overlay`, 200],
      [`${gateway}/overlay?bg=green`, 200],
    ]);
    await expect(shell.ask({ type: 'tray-click', label: 'Click-through' })).resolves.toEqual({ checked: true });
    await shell.ask({ type: 'tray-click', label: 'Click-through' });
    const ignores = shell.events.filter((e) => e.type === 'ignore-mouse-events').map((e) => [e.ignore, e.forward]);
    // false at creation, then on (pointer still forwarded to the page) and off again.
    expect(ignores).toEqual([
      [false, false],
      [true, true],
      [false, false],
    ]);

        // Quit: the first request is held until the core has stopped, then the app quits; once.
    await shell.ask({ type: 'quit' });
    await expect(shell.exited).resolves.toBe(0);
    const quits = shell.events.filter((e) => e.type === 'quit-requested');
    expect(quits.map((q) => q.prevented)).toEqual([true, false]);
    expect(shell.events.some((e) => e.type === 'tray-destroyed')).toBe(true);
    // The global hotkeys (the settings' defaults) were registered at start and let go at quit.
    const shortcuts = (type: string) => shell.events.filter((e) => e.type === type).map((e) => e.accelerator).sort();
    expect(shortcuts('shortcut-register')).toEqual(['F10', 'F7', 'F8', 'F9']);
    expect(shortcuts('shortcut-unregister')).toEqual(['F10', 'F7', 'F8', 'F9']);
    await expect(fetch(`${gateway}/health`)).rejects.toThrow();
    stoppedBeforeExit(shell);
    expect(await allGone(forks.map((f) => f.pid as number))).toEqual([]);
  }, 150_000);

  it('a quit while the core is still starting waits for it and stops it', async () => {
    const shell = startShell();
    await shell.waitFor('utility-fork', 60_000);
    await shell.ask({ type: 'quit' });
    await expect(shell.exited).resolves.toBe(0);
    expect(shell.events.some((e) => e.type === 'window-created')).toBe(false);
    stoppedBeforeExit(shell);
    const forks = shell.events.filter((e) => e.type === 'utility-fork').map((e) => e.pid as number);
    expect(await allGone(forks)).toEqual([]);
  }, 120_000);

  it('a second instance quits at once without starting anything', async () => {
    const shell = startShell({ FAKE_ELECTRON_SECOND_INSTANCE: '1' });
    await expect(shell.exited).resolves.toBe(0);
    expect(shell.events.map((e) => e.type)).toEqual(['quit-requested', 'exit']);
  }, 30_000);
});
