/**
 * The app's two windows. Both load pages the gateway serves (never file://), so the studio in
 * Electron, a browser tab and OBS see the same page. Both run sandboxed with context isolation; the
 * preload adds only `window.fav`. Navigation rules are applied by security.ts to every webContents.
 */
import { BrowserWindow, type WebPreferences } from 'electron';

export interface WindowContext {
  /** e.g. http://127.0.0.1:8000 (no trailing slash). */
  gatewayUrl: string;
  /** Absolute path of out/preload/index.cjs. */
  preloadPath: string;
  /** Absolute path of the app icon (PNG). */
  iconPath: string;
}

function webPreferences(ctx: WindowContext): WebPreferences {
  return {
    preload: ctx.preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    spellcheck: false,
    // OBS captures the stream window while it is covered: don't let Chromium throttle it.
    backgroundThrottling: false,
  };
}

/** The studio: the control surface the streamer works in. Shown once its first paint is ready. */
export function createStudioWindow(ctx: WindowContext): BrowserWindow {
  const win = new BrowserWindow({
    width: 1200,
    height: 800,
    minWidth: 720,
    minHeight: 480,
    show: false,
    title: 'Free-Agent-Vtuber Studio',
    icon: ctx.iconPath,
    backgroundColor: '#121212',
    autoHideMenuBar: true,
    webPreferences: webPreferences(ctx),
  });
  win.once('ready-to-show', () => win.show());
  void win.loadURL(`${ctx.gatewayUrl}/`);
  return win;
}

/**
 * The stream ("pet") window: transparent and frameless, for OBS window capture, showing only the
 * avatar and captions. It loads the overlay route, which the renderer adds later.
 */
export function createStreamWindow(ctx: WindowContext): BrowserWindow {
  const win = new BrowserWindow({
    width: 600,
    height: 800,
    show: false,
    title: 'Free-Agent-Vtuber Stream',
    icon: ctx.iconPath,
    frame: false,
    transparent: true,
    backgroundColor: '#00000000',
    hasShadow: false,
    resizable: true,
    skipTaskbar: false,
    webPreferences: webPreferences(ctx),
  });
  win.once('ready-to-show', () => win.show());
  void win.loadURL(`${ctx.gatewayUrl}/overlay`);
  return win;
}
