/**
 * sqlite-vec (`vec0` virtual tables for KNN over vectors) as an extension for openDatabase. The
 * npm package picks its native library from a platform package (sqlite-vec-<os>-<arch>), an
 * optional dependency: an install that skipped it, or a platform it does not ship for, is what
 * makes the load fail, and the fix says so.
 */
import { arch, platform } from 'node:process';
import * as sqliteVec from 'sqlite-vec';
import type { Db, Extension } from './sqlite.js';

/** The platform package that holds the native library here. */
export function sqliteVecPlatformPackage(): string {
  return `sqlite-vec-${platform === 'win32' ? 'windows' : platform}-${arch}`;
}

/** The extension, with an injectable loader (tests give one that fails). */
export function sqliteVecExtension(load: (db: Db) => void = (db) => sqliteVec.load(db)): Extension {
  return {
    name: 'sqlite-vec',
    load,
    fix:
      `reinstall the app's dependencies (npm install) so that the platform package ${sqliteVecPlatformPackage()} is present; ` +
      'sqlite-vec ships for linux-x64, linux-arm64, darwin-x64, darwin-arm64 and windows-x64',
  };
}
