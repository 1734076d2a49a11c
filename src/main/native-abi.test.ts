import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chooseWorkerRuntime, findSystemNode, nativeAddonProblem } from './native-abi.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('the desktop app picks the runtime its services can load their native addons in', () => {
  it('addons that load here: utility processes, no system Node looked for', () => {
    expect(nativeAddonProblem(import.meta.url)).toBeUndefined();
    let asked = false;
    expect(
      chooseWorkerRuntime(undefined, () => {
        asked = true;
        return '/usr/bin/node';
      }),
    ).toEqual({ kind: 'utility' });
    expect(asked).toBe(false);
  });

  it('an ABI mismatch with a system Node that loads them: the services run under that Node, and say why', () => {
    const problem = 'The module was compiled against NODE_MODULE_VERSION 115. This version of Node.js requires NODE_MODULE_VERSION 139.';
    expect(chooseWorkerRuntime(problem, () => '/usr/bin/node')).toEqual({ kind: 'node', execPath: '/usr/bin/node', reason: expect.stringContaining('NODE_MODULE_VERSION 115') });
  });

  it('an ABI mismatch and no usable Node: utility processes, with a warning that names both fixes', () => {
    const r = chooseWorkerRuntime('NODE_MODULE_VERSION mismatch', () => undefined);
    expect(r).toMatchObject({ kind: 'utility', warning: expect.stringMatching(/electron-builder install-app-deps[\s\S]*FAV_NODE/) });
  });

  it('a module that is missing is a problem, named', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fav-abi-'));
    try {
      expect(nativeAddonProblem(path.join(dir, 'x.js'))).toMatch(/better-sqlite3/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds the system Node on PATH that loads the addons, and skips one that does not run', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fav-abi-path-'));
    try {
      const broken = path.join(dir, 'node');
      writeFileSync(broken, '#!/bin/sh\nexit 1\n');
      chmodSync(broken, 0o755);
      const real = findSystemNode(root, { PATH: [dir, path.dirname(process.execPath)].join(path.delimiter) });
      expect(real).toBe(path.join(path.dirname(process.execPath), 'node'));
      expect(findSystemNode(root, { PATH: dir })).toBeUndefined();
      expect(findSystemNode(root, { FAV_NODE: process.execPath, PATH: dir })).toBe(process.execPath);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
