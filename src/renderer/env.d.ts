/// <reference types="vite/client" />
import type { FavApi } from '../shared/renderer-api.js';

declare global {
  interface Window {
    /** Present only inside the Electron app (preload); absent in a browser tab or OBS. */
    readonly fav?: FavApi;
  }
}
