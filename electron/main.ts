/**
 * Electron entry: the desktop wrapper around the same core `fav serve` runs headless.
 * Start order: single-instance lock -> core (bus, supervisor with utility-process workers, gateway)
 * -> session hardening -> IPC -> tray -> studio window. Stop order is the reverse, and the core is
 * stopped (workers ended, bus closed) before the app is allowed to quit.
 */
import { join } from 'node:path';
import { app, dialog, globalShortcut, ipcMain, session, type BrowserWindow, type Tray } from 'electron';
import { startStudio, type Studio } from '../src/main/app.js';
import { chooseWorkerRuntime, findSystemNode, nativeAddonProblem } from '../src/main/native-abi.js';
import { NodeProcessHost } from '../src/main/supervisor/index.js';
import { IpcChannels } from '../src/shared/renderer-api.js';
import iconPath from '../resources/icon.png?asset';
import { controlRequest, keyEventFor, registerHotkeys, type RegisteredHotkeys } from './hotkeys.js';
import { installSessionSecurity } from './security.js';
import { shellStrings } from './shell-strings.js';
import { createTray } from './tray.js';
import { UtilityProcessHost } from './utility-host.js';
import { createStreamWindow, createStudioWindow, setClickThrough, setStreamChroma, type StreamWindowOptions, type WindowContext } from './windows.js';

/** The core gets this long to stop its workers and bus before the app quits anyway. */
const STOP_TIMEOUT_MS = 10_000;

let studio: Studio | undefined;
/** The core while it is starting: a quit during start-up must wait for it, then stop it. */
let starting: Promise<Studio> | undefined;
let tray: Tray | undefined;
let studioWindow: BrowserWindow | undefined;
let streamWindow: BrowserWindow | undefined;
let hotkeys: RegisteredHotkeys | undefined;
let windowContext: WindowContext | undefined;
/** The stream window's settings from the tray, kept for the next window when it is closed. */
const streamOptions: StreamWindowOptions = { chroma: 'transparent', clickThrough: false };
let shutdown: 'running' | 'stopping' | 'done' = 'running';

function showStudio(): void {
  if (!windowContext) return;
  if (!studioWindow || studioWindow.isDestroyed()) {
    studioWindow = createStudioWindow(windowContext);
    studioWindow.on('closed', () => (studioWindow = undefined));
  } else {
    if (studioWindow.isMinimized()) studioWindow.restore();
    studioWindow.show();
    studioWindow.focus();
  }
}

function showStream(): void {
  if (!windowContext) return;
  if (!streamWindow || streamWindow.isDestroyed()) {
    streamWindow = createStreamWindow(windowContext, streamOptions);
    streamWindow.on('closed', () => (streamWindow = undefined));
  } else streamWindow.show();
}

async function start(): Promise<void> {
  const here = import.meta.dirname; // out/main
  const workerPath = join(here, 'worker.js');
  const appRoot = join(here, '../..');
  // Native addons built for the system's Node (npm install) do not load in Electron's runtime:
  // then the services run under that Node rather than crash (see src/main/native-abi.ts).
  const runtime = chooseWorkerRuntime(nativeAddonProblem(import.meta.url), () => findSystemNode(appRoot));
  if ('reason' in runtime) console.warn(`[fav] ${runtime.reason}`);
  if ('warning' in runtime) console.error(`[fav] ${runtime.warning}`);
  starting = startStudio({
    host: runtime.kind === 'node' ? new NodeProcessHost({ entry: workerPath, execPath: runtime.execPath, cwd: appRoot }) : new UtilityProcessHost({ workerPath }),
    rendererDir: join(here, '../renderer'),
    dataDir: process.env.FAV_DATA_DIR ?? app.getPath('userData'),
  });
  studio = await starting;
  starting = undefined;
  if (shutdown !== 'running') return; // quit while starting: stop() owns the core now
  const gatewayOrigin = new URL(studio.gatewayUrl).origin;
  installSessionSecurity(session.defaultSession, gatewayOrigin);

  ipcMain.handle(IpcChannels.getToken, (event) => {
    // Only pages served by our own gateway may learn the control token.
    const url = event.senderFrame?.url ?? '';
    if (!studio || !url.startsWith(`${gatewayOrigin}/`)) throw new Error('not allowed');
    return studio.token;
  });

  windowContext = { gatewayUrl: gatewayOrigin, preloadPath: join(here, '../preload/index.cjs'), iconPath };
  tray = createTray(
    iconPath,
    {
      showStudio,
      showStream,
      setClickThrough(on) {
        streamOptions.clickThrough = on;
        if (streamWindow && !streamWindow.isDestroyed()) setClickThrough(streamWindow, on);
      },
      setChroma(chroma) {
        streamOptions.chroma = chroma;
        if (streamWindow && !streamWindow.isDestroyed() && windowContext) setStreamChroma(streamWindow, windowContext, chroma);
      },
      quit: () => app.quit(),
    },
    streamOptions,
    shellStrings(app.getPreferredSystemLanguages()),
  );
  showStudio();
  const core = studio;
  const talkKey = core.config.hotkeys.pushToTalk;
  hotkeys = registerHotkeys(globalShortcut, core.config.hotkeys, {
    control: (command) => controlRequest(core.gatewayUrl, core.token, command),
    // The studio page holds the mic: push-to-talk reaches it as its own key.
    pushToTalk(down) {
      const ev = keyEventFor(talkKey, down);
      if (ev && studioWindow && !studioWindow.isDestroyed()) studioWindow.webContents.sendInputEvent(ev);
    },
    report(message) {
      console.warn(`[fav] ${message}`);
      void dialog.showMessageBox({ type: 'warning', title: 'Hotkeys', message });
    },
  });
}

/** Reverse of start(); every step runs even when an earlier one fails. */
async function stop(): Promise<void> {
  ipcMain.removeHandler(IpcChannels.getToken);
  hotkeys?.unregister();
  hotkeys = undefined;
  tray?.destroy();
  tray = undefined;
  for (const win of [streamWindow, studioWindow]) if (win && !win.isDestroyed()) win.destroy();
  // A core still starting is waited for first (its start is bounded by each service's ready
  // timeout); the stop timeout then covers the stop alone, so a slow start on a busy machine does
  // not eat the time its workers need to end cleanly.
  const core = studio ?? (await starting?.catch(() => undefined));
  studio = undefined;
  if (!core) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      console.error(`[fav] the core did not stop within ${STOP_TIMEOUT_MS} ms; quitting anyway`);
      resolve();
    }, STOP_TIMEOUT_MS);
  });
  try {
    await Promise.race([core.stop(), timeout]);
  } catch (err) {
    console.error('[fav] stopping the core failed:', err);
  } finally {
    clearTimeout(timer);
  }
}

function main(): void {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.on('second-instance', () => showStudio());

  // The first quit request stops the core; quitting continues once it has stopped. Later requests
  // while stopping are swallowed, so the core's stop() runs exactly once.
  app.on('before-quit', (event) => {
    if (shutdown === 'done') return;
    event.preventDefault();
    if (shutdown === 'stopping') return;
    shutdown = 'stopping';
    void stop().finally(() => {
      shutdown = 'done';
      app.quit();
    });
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => showStudio());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => app.quit());

  app
    .whenReady()
    .then(start)
    .catch(async (err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      dialog.showErrorBox(shellStrings(app.getPreferredSystemLanguages()).startFailed, message);
      await stop();
      app.exit(1);
    });
}

main();
