/**
 * Where the package's own files are, whether it runs from a clone (TS through tsx) or from
 * electron-vite's bundle (out/main). Found by walking up to the package.json named free-agent-vtuber.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === 'free-agent-vtuber') return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`package root of free-agent-vtuber not found above ${start}`);
    dir = parent;
  }
}

export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
export const PACKAGE_VERSION: string = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).version;
/** The built studio page (electron-vite's renderer output). */
export const RENDERER_DIR = path.join(PACKAGE_ROOT, 'out', 'renderer');
/** Electron's binary as the `electron` npm package lays it out after `npx install-electron`. */
export function electronBinary(platform = process.platform): string {
  const dist = path.join(PACKAGE_ROOT, 'node_modules', 'electron', 'dist');
  if (platform === 'darwin') return path.join(dist, 'Electron.app', 'Contents', 'MacOS', 'Electron');
  return path.join(dist, platform === 'win32' ? 'electron.exe' : 'electron');
}
