/// <reference types="electron-vite/node" />

/** The app version, replaced at build time (electron.vite.config.ts `define`). */
declare const __FAV_VERSION__: string;
