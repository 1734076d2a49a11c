import { describe, expect, it } from 'vitest';
import { assertSystemPackagesForCi, missingSystemPackages, type SystemPackage } from './system-packages.js';

const here: SystemPackage = { name: 'here', present: () => true, install: 'here-pkg' };
const gone: SystemPackage = { name: 'gone', present: () => false, install: 'gone-pkg' };

describe('system packages the suites need', () => {
  it('a missing package fails the run under CI=true, naming the package and the apt line', () => {
    expect(() => assertSystemPackagesForCi({ CI: 'true' }, [here, gone])).toThrow(/missing: gone\..*apt-get install -y gone-pkg/);
  });

  it('outside CI a missing package only makes its suites skip', () => {
    expect(() => assertSystemPackagesForCi({}, [here, gone])).not.toThrow();
    expect(missingSystemPackages([here, gone])).toEqual({ names: ['gone'], fix: 'apt-get install -y gone-pkg' });
  });

  it('with everything present CI passes the check', () => {
    expect(() => assertSystemPackagesForCi({ CI: 'true' }, [here])).not.toThrow();
  });
});
