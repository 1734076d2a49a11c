import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { ModelImportFailure, readModelZip } from './zip-reader.js';

const bytes = (s: string) => new TextEncoder().encode(s);

/** Clears the UTF-8 flag (bit 11) of every entry, as zips made by older Windows tools have it. */
function withoutUtf8Flag(zip: Uint8Array): Uint8Array {
  const z = zip.slice();
  const view = new DataView(z.buffer);
  for (let o = 0; o + 4 <= z.length; o++) {
    const sig = view.getUint32(o, true);
    if (sig === 0x04034b50) view.setUint16(o + 6, view.getUint16(o + 6, true) & ~0x800, true);
    if (sig === 0x02014b50) view.setUint16(o + 8, view.getUint16(o + 8, true) & ~0x800, true);
  }
  return z;
}

describe('readModelZip', () => {
  it('keeps files with their paths, drops folders and macOS resource forks', () => {
    const zip = zipSync({ 'm/': new Uint8Array(0), 'm/a.json': bytes('{}'), '__MACOSX/m/._a.json': bytes('x'), 'm/._b.png': bytes('x') });
    expect([...readModelZip(zip).keys()]).toEqual(['m/a.json']);
  });

  it('a name without the UTF-8 flag is read byte per character, as fflate reads it, so no file is lost', () => {
    const zip = withoutUtf8Flag(zipSync({ 'm/é.json': bytes('{}') }));
    const files = readModelZip(zip);
    expect(files.size).toBe(1);
    expect(new TextDecoder().decode([...files.values()][0])).toBe('{}');
  });

  it('a zip that understates its sizes inflates no more than it declared (the limit holds even when it lies)', () => {
    const zip = zipSync({ 'm/a.bin': new Uint8Array(5_000_000) }, { level: 9 });
    const view = new DataView(zip.buffer);
    for (let o = 0; o + 4 <= zip.length; o++) {
      if (view.getUint32(o, true) === 0x04034b50) view.setUint32(o + 22, 1000, true);
      if (view.getUint32(o, true) === 0x02014b50) view.setUint32(o + 24, 1000, true);
    }
    const files = readModelZip(zip, { maxUnzippedBytes: 2000, maxFiles: 10 });
    expect(files.get('m/a.bin')?.length).toBe(1000);
  });

  it('names every refused entry at once', () => {
    const zip = zipSync({ '../a': bytes('x'), '/b': bytes('x'), 'ok/c': bytes('x') });
    try {
      readModelZip(zip);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ModelImportFailure);
      expect((err as ModelImportFailure).problems.map((p) => p.file)).toEqual(['../a', '/b']);
    }
  });
});
