/**
 * The model library on real folders: built-in models found where the build copies them, zips
 * imported into the data dir (validated before anything is written), the selection and per-model
 * settings in models.json, and the refusals: zip-slip, absolute paths, symbolic links, zip bombs,
 * too many files, deleting a built-in model.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelImportFailure, ModelLibrary, ModelNotFound, ModelRefused } from '../../../src/main/models/index.js';
import { copyShizuku, cubism3Zip, moc3, PNG_1X1, tempDir, zipFolder } from './fixtures.js';

let root: string;
let builtinDir: string;
let dataDir: string;
let logs: string[];

function library(limits?: { maxUnzippedBytes?: number; maxFiles?: number }): ModelLibrary {
  return new ModelLibrary({ builtinDir, dataDir, limits, log: (level, msg) => logs.push(`${level}: ${msg}`) });
}

function importError(f: () => unknown): ModelImportFailure {
  try {
    f();
  } catch (err) {
    if (err instanceof ModelImportFailure) return err;
    throw err;
  }
  throw new Error('expected the import to be refused');
}

/** Everything under the data dir, so a refused import can be shown to have written nothing. */
function snapshot(): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      out.push(e.isDirectory() ? `${r}/` : `${r} ${readFileSync(path.join(d, e.name)).length}`);
      if (e.isDirectory()) walk(path.join(d, e.name), r);
    }
  };
  walk(dataDir, '');
  return out.sort();
}

beforeEach(() => {
  root = tempDir();
  builtinDir = path.join(root, 'renderer/live2d/models');
  dataDir = path.join(root, 'data');
  mkdirSync(builtinDir, { recursive: true });
  copyShizuku(path.join(builtinDir, 'shizuku'));
  logs = [];
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('listing', () => {
  it('lists the built-in model with its scan, a proposed emotion map and the default selection', () => {
    const list = library().list();
    expect(list.selected).toBe('shizuku');
    expect(list.models).toHaveLength(1);
    expect(list.models[0]).toMatchObject({
      id: 'shizuku',
      name: 'shizuku',
      source: 'builtin',
      cubism: 2,
      url: '/live2d/models/shizuku/shizuku.model.json',
      expressions: ['f01', 'f02', 'f03', 'f04'],
      mouth: { open: 'PARAM_MOUTH_OPEN_Y', form: 'PARAM_MOUTH_FORM' },
      transform: { x: 0, y: 0, scale: 1 },
    });
    expect(list.models[0].emotionMap.sad).toEqual({ expression: 'f02' });
  });

  it('skips a broken built-in model with a log line naming its problem, and keeps the rest', () => {
    mkdirSync(path.join(builtinDir, 'broken'));
    writeFileSync(path.join(builtinDir, 'broken/x.model3.json'), '{');
    expect(library().list().models.map((m) => m.id)).toEqual(['shizuku']);
    expect(logs).toContainEqual(expect.stringMatching(/^warn: model broken .* skipped: x\.model3\.json: broken JSON/));
  });
});

describe('import', () => {
  it('imports a Cubism 4 zip whose model sits in a sub-folder, under an id from its name, and lists it', () => {
    const lib = library();
    const info = lib.importZip(cubism3Zip({ version: 3 }), 'upload.zip');
    expect(info).toMatchObject({ id: 'hiyori', source: 'imported', cubism: 4, url: '/models/hiyori/hiyori.model3.json' });
    expect(readFileSync(path.join(dataDir, 'models/hiyori/hiyori.2048/texture_00.png'))).toEqual(PNG_1X1);
    expect(existsSync(path.join(dataDir, 'models/hiyori/hiyori.model3.json'))).toBe(true);
    // A fresh library (the next start) finds it on disk.
    expect(library().list().models.map((m) => [m.id, m.source])).toEqual([
      ['shizuku', 'builtin'],
      ['hiyori', 'imported'],
    ]);
    // The selection does not move by itself.
    expect(lib.list().selected).toBe('shizuku');
  });

  it('makes ids unique: a second copy, and a name that clashes with a built-in one', () => {
    const lib = library();
    lib.importZip(cubism3Zip());
    expect(lib.importZip(cubism3Zip()).id).toBe('hiyori-2');
    expect(lib.importZip(cubism3Zip({ name: 'Shizuku' })).id).toBe('shizuku-2');
    expect(lib.importZip(cubism3Zip({ name: '春' }), 'Haru Sakura.zip').id).toBe('runtime');
  });

  it('imports the Cubism 2 sample zipped at its root', () => {
    const d = copyShizuku();
    const info = library().importZip(zipFolder(d));
    rmSync(d, { recursive: true, force: true });
    expect(info).toMatchObject({ id: 'shizuku-2', cubism: 2, url: '/models/shizuku-2/shizuku.model.json' });
  });

  it('a broken model is refused with its problems named by their path in the zip, and nothing is written', () => {
    const lib = library();
    lib.select('shizuku');
    const before = snapshot();
    const zip = cubism3Zip({ version: 9, edit: (j) => ((j.FileReferences as Record<string, unknown>).Textures = ['missing.png']) }, 'pack/');
    const err = importError(() => lib.importZip(zip));
    expect(err.message).toMatch(/the model pack\/hiyori\.model3\.json has 2 problem/);
    expect(err.problems).toEqual([
      { file: 'pack/hiyori.moc3', message: expect.stringMatching(/moc3 version 9 is newer/) },
      { file: 'pack/missing.png', message: expect.stringMatching(/missing: .*texture 0/) },
    ]);
    expect(snapshot()).toEqual(before);
    expect(lib.list().models.map((m) => m.id)).toEqual(['shizuku']);
  });

  it('a zip without a model, and bytes that are no zip, are named as such', () => {
    const lib = library();
    expect(importError(() => lib.importZip(zipSync({ 'readme.txt': new Uint8Array(3) }))).problems[0].message).toMatch(/no \.model3\.json .* or \.model\.json/);
    expect(importError(() => lib.importZip(new TextEncoder().encode('hello'))).problems[0].message).toMatch(/not a readable zip file/);
    expect(snapshot()).toEqual([]);
  });

  it.each([
    ['zip-slip', '../../evil.txt', /climbs out of the model's folder/],
    ['zip-slip, backslashes', 'model\\..\\..\\evil.txt', /climbs out/],
    ['an absolute path', '/etc/evil.txt', /absolute path/],
    ['a drive letter', 'C:/evil.txt', /absolute path/],
  ])('refuses %s before writing anything', (_what, name, message) => {
    const d = tempDir();
    copyShizuku(d);
    const zip = zipSync({ ...unzipSync(zipFolder(d, 'model/')), [name]: new Uint8Array([1, 2, 3]) });
    rmSync(d, { recursive: true, force: true });
    const err = importError(() => library().importZip(zip));
    expect(err.problems).toEqual([{ file: name, message: expect.stringMatching(message) }]);
    expect(snapshot()).toEqual([]);
    expect(existsSync(path.join(root, 'evil.txt'))).toBe(false);
  });

  it('refuses a symbolic link', () => {
    const zip = zipSync({
      'm/hiyori.model3.json': new TextEncoder().encode('{}'),
      // Unix "made by" and st_mode S_IFLNK | 0777 in the high 16 bits of the external attributes.
      'm/link.png': [new TextEncoder().encode('/etc/passwd'), { os: 3, attrs: (0o120777 << 16) >>> 0 }],
    });
    expect(importError(() => library().importZip(zip)).problems).toEqual([{ file: 'm/link.png', message: expect.stringMatching(/symbolic link/) }]);
    expect(snapshot()).toEqual([]);
  });

  it('refuses a zip bomb by its unzipped size, and too many files, before inflating', () => {
    const bomb = zipSync({ 'm/a.model3.json': new Uint8Array(4000), 'm/b.bin': new Uint8Array(4000) }, { level: 9 });
    expect(bomb.length).toBeLessThan(1000);
    const err = importError(() => library({ maxUnzippedBytes: 5000 }).importZip(bomb));
    expect(err.problems[0].message).toBe('unzips to 8 KiB, more than the 5 KiB a model may take');
    const many = zipSync(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`m/f${i}.txt`, new Uint8Array(1)])));
    expect(importError(() => library({ maxFiles: 10 }).importZip(many)).problems[0].message).toMatch(/holds 12 entries, more than the 10/);
    expect(snapshot()).toEqual([]);
  });
});

describe('selection, settings, deletion', () => {
  it('keeps the selection and the settings in models.json across restarts', () => {
    const lib = library();
    const { id } = lib.importZip(cubism3Zip());
    expect(lib.select(id).selected).toBe(id);
    const info = lib.saveSettings(id, { emotionMap: { joy: { motion: { group: 'TapBody', index: 0 } } }, transform: { x: 0.1, y: -0.2, scale: 1.5 } });
    expect(info.emotionMap).toEqual({ joy: { motion: { group: 'TapBody', index: 0 } } });
    // Only what is given is replaced.
    lib.saveSettings(id, { transform: { x: 0, y: 0, scale: 2 } });
    const again = library().list();
    expect(again.selected).toBe(id);
    expect(again.models.find((m) => m.id === id)).toMatchObject({ emotionMap: { joy: { motion: { group: 'TapBody' } } }, transform: { scale: 2 } });
    expect(() => lib.select('nope')).toThrow(ModelNotFound);
  });

  it('a broken models.json is kept as .bak and the library starts from defaults', () => {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path.join(dataDir, 'models.json'), '{"selected": ');
    expect(library().list().selected).toBe('shizuku');
    expect(readFileSync(path.join(dataDir, 'models.json.bak'), 'utf8')).toBe('{"selected": ');
    expect(logs).toContainEqual(expect.stringMatching(/models\.json is not valid JSON .* kept it as models\.json\.bak/));
  });

  it('deletes an imported model (files, settings, selection) and refuses a built-in one', () => {
    const lib = library();
    const { id } = lib.importZip(cubism3Zip());
    lib.select(id);
    lib.remove(id);
    expect(existsSync(path.join(dataDir, 'models', id))).toBe(false);
    expect(readdirSync(path.join(dataDir, 'models'))).toEqual([]);
    expect(lib.list()).toMatchObject({ selected: 'shizuku', models: [{ id: 'shizuku' }] });
    expect(() => lib.remove('shizuku')).toThrow(ModelRefused);
    expect(existsSync(path.join(builtinDir, 'shizuku/shizuku.model.json'))).toBe(true);
  });

  it('an unreadable moc left on disk later does not break the list (the model is skipped, logged)', () => {
    const lib = library();
    const { id } = lib.importZip(cubism3Zip());
    writeFileSync(path.join(dataDir, 'models', id, 'hiyori.moc3'), moc3(7));
    expect(library().list().models.map((m) => m.id)).toEqual(['shizuku']);
    expect(logs).toContainEqual(expect.stringMatching(/model hiyori .* skipped: hiyori\.moc3: moc3 version 7 is newer/));
  });
});
