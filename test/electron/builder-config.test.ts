/**
 * What can be checked of packaging on machines that cannot package (electron-builder downloads
 * Electron and its tools): electron-builder.yml passes electron-builder's own loader and schema,
 * names the targets we ship, and everything it and the built app refer to exists after the build.
 * Also the build's own invariants: the sandboxed preload needs nothing but `electron`, the main
 * bundle leaves runtime dependencies to node_modules and does not carry the renderer.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Configuration } from 'app-builder-lib';
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config.js';
import { DebugLogger } from 'builder-util';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILT, ensureBuilt, outDir, repoRoot } from './built-app.js';

const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  main: string;
  dependencies: Record<string, string>;
};
let config: Configuration;

/** Width and height of a PNG, from its IHDR chunk. */
function pngSize(file: string): { width: number; height: number } {
  const buf = readFileSync(file);
  expect(buf.subarray(1, 4).toString('latin1'), `${file} is not a PNG`).toBe('PNG');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).isFile());
}

/** Platform targets as plain names, whatever form (string, list, objects) the config uses. */
function targetNames(target: unknown): string[] {
  const list = Array.isArray(target) ? target : [target];
  return list.map((t) => (typeof t === 'string' ? t : (t as { target: string }).target));
}

beforeAll(async () => {
  await ensureBuilt();
  config = await getConfig(repoRoot, path.join(repoRoot, 'electron-builder.yml'), null);
}, 300_000);

describe('electron-builder.yml', () => {
  it("passes electron-builder's schema (and a broken copy does not)", async () => {
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
    const broken = { ...config, linux: { ...config.linux, notAnOption: true } } as unknown as Configuration;
    await expect(validateConfiguration(broken, new DebugLogger(false))).rejects.toThrow(/configuration/i);
  });

  it('names the product and the targets we ship', () => {
    expect(config.productName).toBe('Free-Agent-Vtuber Studio');
    expect(config.appId).toMatch(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/);
    expect(targetNames(config.linux?.target)).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    expect(targetNames(config.win?.target)).toContain('nsis');
    expect(targetNames(config.mac?.target)).toContain('dmg');
  });

  it('refers only to files that exist after the build', () => {
    const files = (config.files as Array<string | { filter: string[] }>).flatMap((f) => (typeof f === 'string' ? [f] : f.filter));
    const included = files.filter((f) => !f.startsWith('!'));
    expect(included.length).toBeGreaterThan(0);
    for (const pattern of included) {
      const base = pattern.replace(/\/\*\*.*$/, '');
      expect(existsSync(path.join(repoRoot, base)), `files: ${pattern}`).toBe(true);
    }
    for (const platform of [config.linux, config.win, config.mac]) {
      const icon = path.join(repoRoot, String(platform?.icon));
      // electron-builder needs at least 256x256 (512 for mac) to make every icon size.
      expect(pngSize(icon).width, icon).toBeGreaterThanOrEqual(512);
    }
  });
});

describe('the build output', () => {
  it('has every entry point, and package.json "main" is the main bundle', () => {
    for (const [name, file] of Object.entries(BUILT)) expect(existsSync(file), `${name}: ${file}`).toBe(true);
    expect(path.join(repoRoot, pkg.main)).toBe(BUILT.main);
  });

  it('the main bundle points at the worker, preload and renderer where the build put them', () => {
    const main = readFileSync(BUILT.main, 'utf8');
    const here = path.dirname(BUILT.main);
    for (const [ref, file] of [
      ['"worker.js"', BUILT.worker],
      ['"../preload/index.cjs"', BUILT.preload],
      ['"../renderer"', path.dirname(BUILT.renderer)],
    ] as const) {
      expect(main, ref).toContain(ref);
      expect(path.resolve(here, JSON.parse(ref) as string)).toBe(file);
    }
  });

  it('the preload is CommonJS and requires nothing but electron (sandboxed preloads cannot)', () => {
    const preload = readFileSync(BUILT.preload, 'utf8');
    const required = [...preload.matchAll(/require\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    expect(required).toEqual(['electron']);
    expect(preload).not.toMatch(/^\s*(import|export)\s/m);
    expect(preload).toContain('exposeInMainWorld("fav"');
  });

  it('the main side keeps runtime dependencies external and carries no renderer code', () => {
    const mainFiles = filesUnder(path.join(outDir, 'main')).filter((f) => f.endsWith('.js'));
    const bundled = mainFiles.flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/^\/\/(?:#region)? (\S+)$/gm)].map((m) => m[1]!),
    );
    expect(bundled.length, 'rolldown region comments not found: did the output format change?').toBeGreaterThan(0);
    for (const dep of Object.keys(pkg.dependencies)) {
      expect(bundled.filter((id) => id.includes(`node_modules/${dep}/`)), dep).toEqual([]);
    }
    expect(bundled.filter((id) => id.includes('src/renderer/') || /node_modules\/(vue|vuetify)\//.test(id))).toEqual([]);
  });

  it('the renderer is minified and carries the CSP <meta>', () => {
    const html = readFileSync(BUILT.renderer, 'utf8');
    expect(html).toMatch(/http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self';/);
    expect(html).not.toContain('__FAV_CSP__');
    const js = filesUnder(path.join(outDir, 'renderer/assets')).filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(0);
    for (const file of js) {
      const text = readFileSync(file, 'utf8');
      const lines = text.split('\n').length;
      // A tiny shared chunk (Vue's export helper, 84 bytes) is one short line whether minified or not.
      if (text.length < 2048) expect(lines, `${file} does not look minified`).toBeLessThanOrEqual(2);
      else expect(text.length / lines, `${file} does not look minified`).toBeGreaterThan(500);
    }
  });
});
