/**
 * Preload of every window (sandboxed, context-isolated; built as CommonJS, see electron.vite.config).
 * Exposes exactly `window.fav` (FavApi). The page gets no ipcRenderer, no Node, no generic invoke.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { IpcChannels, type FavApi } from '../src/shared/renderer-api.js';

const api: FavApi = {
  version: __FAV_VERSION__,
  platform: process.platform,
  async getToken(): Promise<string> {
    const token: unknown = await ipcRenderer.invoke(IpcChannels.getToken);
    if (typeof token !== 'string') throw new Error('the app did not return a token');
    return token;
  },
};

contextBridge.exposeInMainWorld('fav', api);
