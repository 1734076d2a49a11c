/**
 * What kind of moc a file is, from its first bytes: a Cubism 2 `.moc` starts with `moc`; a Cubism 3+
 * `.moc3` starts with `MOC3` and a version byte that says which Cubism Editor generation wrote it.
 * A Cubism Core older than that version refuses the file with an opaque error, so the version is
 * checked here, where the error can say what to do.
 */

/** moc3 version byte -> the Cubism generation the app reports (3.0 and 3.3 -> 3, 4.0 and 4.2 -> 4, 5.0 -> 5). */
const MOC3_VERSIONS: Readonly<Record<number, { cubism: 3 | 4 | 5; editor: string }>> = {
  1: { cubism: 3, editor: '3.0' },
  2: { cubism: 3, editor: '3.3' },
  3: { cubism: 4, editor: '4.0' },
  4: { cubism: 4, editor: '4.2' },
  5: { cubism: 5, editor: '5.0' },
};

/** The newest moc3 version the bundled Cubism Core (5.0) reads. */
export const NEWEST_MOC3_VERSION = 5;

export type MocKind =
  | { kind: 'moc2' }
  | { kind: 'moc3'; version: number; cubism: 3 | 4 | 5; editor: string }
  | { kind: 'moc3-unknown'; version: number }
  | { kind: 'unknown' };

export function mocKind(bytes: Uint8Array): MocKind {
  const ascii = (n: number) => String.fromCharCode(...bytes.subarray(0, n));
  if (bytes.length >= 5 && ascii(4) === 'MOC3') {
    const version = bytes[4];
    const known = MOC3_VERSIONS[version];
    return known ? { kind: 'moc3', version, ...known } : { kind: 'moc3-unknown', version };
  }
  if (bytes.length >= 3 && ascii(3) === 'moc') return { kind: 'moc2' };
  return { kind: 'unknown' };
}
