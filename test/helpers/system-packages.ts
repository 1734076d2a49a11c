/**
 * The system packages the suites use, and what to install when one is missing. Suites skip (saying
 * why) when a package is absent on a developer's machine; under CI=true the global setup below fails
 * the whole run instead, because there a missing package means a broken install step in .ci/run, and
 * a silent skip would hide it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface SystemPackage {
  /** What the suites call it. */
  name: string;
  /** Present on this machine? */
  present(): boolean;
  /** The Debian package(s) that provide it. */
  install: string;
}

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, bin)));
}

export const SYSTEM_PACKAGES: readonly SystemPackage[] = [
  { name: 'redis-server', present: () => onPath('redis-server'), install: 'redis-server' },
  { name: 'redis-benchmark', present: () => onPath('redis-benchmark'), install: 'redis-tools' },
  { name: 'chromium', present: () => existsSync(process.env.FAV_CHROMIUM ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'), install: 'chromium' },
  { name: 'xvfb-run', present: () => onPath('xvfb-run'), install: 'xvfb' },
  { name: 'pocketsphinx', present: () => onPath('pocketsphinx_continuous'), install: 'pocketsphinx' },
  { name: 'pocketsphinx en-us model', present: () => existsSync('/usr/share/pocketsphinx/model/en-us'), install: 'pocketsphinx-en-us' },
  { name: 'flite', present: () => onPath('flite'), install: 'flite' },
  { name: 'espeak-ng', present: () => onPath('espeak-ng'), install: 'espeak-ng' },
  { name: 'bzip2', present: () => onPath('bzip2'), install: 'bzip2' },
];

/** The packages absent here, with the apt line that installs them; empty when all are present. */
export function missingSystemPackages(pkgs: readonly SystemPackage[] = SYSTEM_PACKAGES): { names: string[]; fix: string } {
  const missing = pkgs.filter((p) => !p.present());
  return { names: missing.map((p) => p.name), fix: missing.length ? `apt-get install -y ${[...new Set(missing.map((p) => p.install))].join(' ')}` : '' };
}

/** Throws under CI=true when a package is missing (the message names the apt line). */
export function assertSystemPackagesForCi(env: NodeJS.ProcessEnv = process.env, pkgs: readonly SystemPackage[] = SYSTEM_PACKAGES): void {
  if (env.CI !== 'true') return;
  const { names, fix } = missingSystemPackages(pkgs);
  if (names.length) throw new Error(`CI=true but system packages the tests need are missing: ${names.join(', ')}. Suites would skip silently; fix .ci/run to install them (${fix}).`);
}
