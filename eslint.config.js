// @ts-check
/**
 * Lint: ESLint's and typescript-eslint's recommended rules (not type-aware: fast, and light enough
 * for the whole project), plus the LAYERING rule, which is why this file is longer than usual:
 *
 *   src/shared     imports nothing of src/main, src/workers, src/renderer, electron/
 *   src/main, src/workers, src/renderer   never import each other (only src/shared)
 *   electron/      may import src/main and src/shared (not workers: they are a separate bundle;
 *                  not the renderer: the main bundle must not pull in Vue)
 *   everything outside electron/ never imports `electron`
 *
 * Imports are relative, so a forbidden import is recognised by how far it climbs: from
 * src/main/bus/x.ts, `../../workers/...` leaves src/main (two levels up) and enters src/workers,
 * whereas `../workers/...` would stay inside src/main. One config block per folder depth gives each
 * file patterns with exactly the right number of `../`. (`no-restricted-imports` options do not
 * merge across blocks, so each file must match exactly one layer block.)
 * .vue files are not linted here (no vue parser installed); vue-tsc type-checks them.
 */
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const LAYERS = ['shared', 'main', 'workers', 'renderer'];
/** Which other top-level parts each layer must not reach. */
const FORBIDDEN = {
  shared: { layers: ['main', 'workers', 'renderer'], electronDir: true },
  main: { layers: ['workers', 'renderer'], electronDir: true },
  workers: { layers: ['main', 'renderer'], electronDir: true },
  renderer: { layers: ['main', 'workers'], electronDir: true },
};
/** Folder depth below src/<layer>/ covered by generated blocks (deeper files fall back to the root block). */
const MAX_DEPTH = 8;
const SOURCE_EXT = '{ts,mts,cts,js,mjs,cjs}';

const NO_ELECTRON = {
  regex: '^electron(/.*)?$',
  message: 'Only electron/ may import `electron` (src/main must run in plain Node; see ARCHITECTURE.md).',
};

/** `../` repeated n times, as a regex fragment. */
const up = (n) => `(\\.\\./){${n}}`;

/** no-restricted-imports patterns for a file at `depth` folders below src/<layer>/. */
function layerPatterns(layer, depth) {
  const { layers, electronDir } = FORBIDDEN[layer];
  const toSrc = depth + 1; // climbs from the file's folder to src/
  const toRoot = depth + 2; // ... to the repository root
  const names = layers.join('|');
  const patterns = [
    NO_ELECTRON,
    {
      regex: `^${up(toSrc)}(${names})(/.*)?$`,
      message: `src/${layer} must not import src/{${layers.join(',')}}: only src/shared is shared (see ARCHITECTURE.md).`,
    },
    {
      regex: `^${up(toRoot)}src/(${names})(/.*)?$`,
      message: `src/${layer} must not import src/{${layers.join(',')}}: only src/shared is shared (see ARCHITECTURE.md).`,
    },
  ];
  if (electronDir) {
    patterns.push({
      regex: `^${up(toRoot)}electron(/.*)?$`,
      message: `src/${layer} must not import electron/: the shell depends on the core, never the reverse.`,
    });
  }
  return patterns;
}

function layerBlocks() {
  const blocks = [];
  for (const layer of LAYERS) {
    for (let depth = 0; depth <= MAX_DEPTH; depth++) {
      blocks.push({
        name: `fav/layering/src-${layer}/depth-${depth}`,
        files: [`src/${layer}/${'*/'.repeat(depth)}*.${SOURCE_EXT}`],
        rules: { 'no-restricted-imports': ['error', { patterns: layerPatterns(layer, depth) }] },
      });
    }
  }
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    blocks.push({
      name: `fav/layering/electron/depth-${depth}`,
      files: [`electron/${'*/'.repeat(depth)}*.${SOURCE_EXT}`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                regex: `^${up(depth + 1)}src/(workers|renderer)(/.*)?$`,
                message:
                  'electron/ must not import src/workers (built as its own entry) or src/renderer (served by the gateway).',
              },
            ],
          },
        ],
      },
    });
  }
  return blocks;
}

/** Node globals for plain .js/.mjs files (TypeScript files get them from @types/node). */
const NODE_GLOBALS = Object.fromEntries(
  ['process', 'console', 'Buffer', 'URL', 'URLSearchParams', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'queueMicrotask', 'AbortController', 'AbortSignal', 'fetch', 'structuredClone', 'TextEncoder', 'TextDecoder'].map(
    (name) => [name, 'readonly'],
  ),
);

export default defineConfig(
  { name: 'fav/ignores', ignores: ['out/**', 'dist/**', 'node_modules/**', '.tsbuild/**', 'coverage/**', '**/*.vue', '.fav-data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    name: 'fav/defaults',
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: NODE_GLOBALS },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
    },
  },
  {
    // Everything that is not in a layer folder (tests, scripts, bin, configs): still no `electron`.
    name: 'fav/layering/outside-layers',
    files: [`**/*.${SOURCE_EXT}`],
    ignores: ['electron/**', ...LAYERS.map((l) => `src/${l}/**`)],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_ELECTRON] }] },
  },
  ...layerBlocks(),
);
