/**
 * The renderer <-> core contract: what the Electron preload exposes on `window.fav`, the IPC channel
 * names behind it, the HTTP paths the studio page polls and the page's CSP. The response schemas of
 * those paths are in studio-status.ts.
 * No runtime imports on purpose: the sandboxed preload bundles this file, and must stay tiny.
 */
export type { BusKind, HealthResponse, ServiceInstance, ServiceStatus, ServicesResponse } from './studio-status.js';

/**
 * The gateway's HTTP and WebSocket paths: the ones the studio page polls on its own origin, and the
 * rest of what the gateway serves (`:name` is a path parameter, as the gateway's router spells it).
 */
export const StudioPaths = {
  /** The studio page (or the status page when it is not built). */
  page: '/',
  health: '/health',
  services: '/api/services',
  serviceRestart: '/api/services/:name/restart',
  connections: '/connections',
  config: '/api/config',
  logs: '/api/logs',
  /** WebSocket: the live log stream. */
  logStream: '/api/logs/stream',
  /** WebSocket: the studio's voice session. */
  session: '/api/session',
  /** WebSocket: the seed's chunked upload. */
  seedInput: '/ws/input',
  /** WebSocket: the seed's reply of one task. */
  seedOutput: '/ws/output/:taskId',
  asr: '/api/asr',
  controlStop: '/control/stop',
  /** GET: the model list (no token on loopback, the overlay reads it); POST a .zip (token): import. */
  models: '/api/models',
  /** PUT {id} (token): the model the studio and the overlay show. */
  modelSelected: '/api/models/selected',
  /** DELETE (token): an imported model. */
  model: '/api/models/:id',
  /** PUT ModelSettings (token): emotion map, position and scale of one model. */
  modelSettings: '/api/models/:id/settings',
  /** Static files of imported models: /models/<id>/<path>. Built-in ones live under /live2d/models/. */
  modelFiles: '/models/',
  /** The OBS browser source: the avatar alone on a transparent page (view role, no token on loopback). */
  overlay: '/overlay',
  /** The OBS subtitles layer. */
  subtitles: '/overlay/subtitles',
} as const;

/** IPC channels between the preload and electron/main.ts (ipcRenderer.invoke -> ipcMain.handle). */
export const IpcChannels = {
  getToken: 'fav:get-token',
} as const;

/**
 * What the preload puts on `window.fav` (contextBridge). Small on purpose: the page talks to the core
 * over the gateway like any browser client; the preload only hands over what a browser can't know.
 */
export interface FavApi {
  /** App version (package.json). */
  readonly version: string;
  /** `process.platform` of the host. */
  readonly platform: string;
  /** The gateway's control token; only answered for pages on the gateway's origin. */
  getToken(): Promise<string>;
}

/**
 * The studio's Content-Security-Policy, sent as a header by Electron's session and as a `<meta>` in
 * index.html (injected at build time from this constant so the two cannot drift).
 * 'unsafe-inline' styles: Vuetify writes its theme into a <style> tag. `connect-src` adds loopback
 * WebSockets because the gateway may sit on another port than the page during development.
 */
export const RENDERER_CSP =
  "default-src 'self'; " +
  "script-src 'self'; " +
  "style-src 'self' 'unsafe-inline'; " +
  "connect-src 'self' ws://127.0.0.1:*; " +
  "object-src 'none'; " +
  "base-uri 'self'";
