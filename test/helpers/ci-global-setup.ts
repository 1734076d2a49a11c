/** Vitest global setup: under CI=true a missing system package fails the run instead of skipping suites. */
import { assertSystemPackagesForCi } from './system-packages.js';

export default function setup(): void {
  assertSystemPackagesForCi();
}
