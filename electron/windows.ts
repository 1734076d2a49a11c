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

/** The stream window's background: transparent, or a key colour for OBS setups that capture black. */
export type StreamChroma = 'transparent' | 'green' | 'magenta';
export const STREAM_CHROMAS: readonly StreamChroma[] = ['transparent', 'green', 'magenta'];

/** The overlay page the stream window shows (the OBS browser source's page, with its `bg=` option). */
export function streamUrl(gatewayUrl: string, chroma: StreamChroma): string {
  return chroma === 'transparent' ? `${gatewayUrl}/overlay` : `${gatewayUrl}/overlay?bg=${chroma}`;
}

export interface StreamWindowOptions {
  chroma: StreamChroma;
  /** Clicks go through to the windows below (the tray turns it back off). */
  clickThrough: boolean;
}

/**
 * The stream ("pet") window, for OBS window capture: the overlay page (the avatar alone) in a
 * frameless, transparent window kept above the others. Some capture setups see a transparent
 * window as black: the tray's chroma option then reloads the page with a key colour.
 */
export function createStreamWindow(ctx: WindowContext, opts: StreamWindowOptions): BrowserWindow {
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
    alwaysOnTop: true,
    skipTaskbar: false,
    webPreferences: webPreferences(ctx),
  });
  setClickThrough(win, opts.clickThrough);
  win.once('ready-to-show', () => win.show());
  void win.loadURL(streamUrl(ctx.gatewayUrl, opts.chroma));
  return win;
}

/** `forward`: the page still sees the pointer move (eyes may follow it) while clicks pass through. */
export function setClickThrough(win: BrowserWindow, on: boolean): void {
  win.setIgnoreMouseEvents(on, on ? { forward: true } : undefined);
}

/** Shows the page again with another background (the window itself stays transparent). */
export function setStreamChroma(win: BrowserWindow, ctx: WindowContext, chroma: StreamChroma): void {
  void win.loadURL(streamUrl(ctx.gatewayUrl, chroma));
}
