/**
 * The model scanner on real folders: Cubism 3/4/5 fixtures built here (moc3 header versions), the
 * Cubism 2 samples from npm, and broken models whose every problem must be named with its file.
 */
import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { folderFiles } from '../../../src/main/models/model-files.js';
import { scanModel, type ScanResult } from '../../../src/main/models/scan.js';
import { copyShizuku, HARU_ASSETS, moc3, SHIZUKU_ASSETS, tempDir, writeCubism3Model } from './fixtures.js';

const dirs: string[] = [];
function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function problems(r: ScanResult) {
  if (r.ok) throw new Error('expected problems, the scan passed');
  return r.problems;
}
function scanOf(r: ScanResult) {
  if (!r.ok) throw new Error(`scan failed: ${JSON.stringify(r.problems)}`);
  return r.scan;
}

describe('Cubism 3/4/5 (.model3.json)', () => {
  it.each([
    [1, 3],
    [2, 3],
    [3, 4],
    [4, 4],
    [5, 5],
  ])('moc3 version %i is Cubism %i', (version, cubism) => {
    const d = dir();
    writeCubism3Model(d, { version });
    expect(scanOf(scanModel(folderFiles(d))).cubism).toBe(cubism);
  });

  it('reads expressions, motion groups, parameters and the mouth', () => {
    const d = dir();
    writeCubism3Model(d, {
      expressions: { Smile: [{ Id: 'ParamEyeLSmile', Value: 1 }], Sad: [{ Id: 'ParamBrowLY', Value: -0.5 }, { Id: 'ParamEyeLOpen', Value: 0.6, Blend: 'Multiply' }] },
      motions: { Idle: 2, TapBody: 3 },
      lipSync: ['ParamA'],
    });
    const s = scanOf(scanModel(folderFiles(d)));
    expect(s.modelFile).toBe('hiyori.model3.json');
    expect(s.name).toBe('hiyori');
    expect(s.expressions.map((e) => e.name)).toEqual(['Smile', 'Sad']);
    expect(s.expressions[1].params).toEqual([{ id: 'ParamBrowLY', delta: -0.5 }, { id: 'ParamEyeLOpen', delta: expect.closeTo(-0.4, 5) }]);
    expect(s.motions).toEqual({ Idle: 2, TapBody: 3 });
    expect(s.parameters).toEqual(expect.arrayContaining(['ParamA', 'ParamEyeLOpen', 'ParamEyeROpen', 'ParamEyeLSmile', 'ParamBrowLY', 'ParamAngleX', 'ParamHairFront']));
    // The LipSync group's first id opens the mouth; the form is named in the moc.
    expect(s.mouth).toEqual({ open: 'ParamA', form: 'ParamMouthForm' });
  });

  it('falls back to ParamMouthOpenY without a LipSync group, and has no form when nothing names one', () => {
    const d = dir();
    writeCubism3Model(d, { mocIds: ['ParamMouthOpenY'], expressions: {}, edit: (j) => (j.Groups = []) });
    expect(scanOf(scanModel(folderFiles(d))).mouth).toEqual({ open: 'ParamMouthOpenY' });
  });

  it('finds the model file in a sub-folder', () => {
    const d = dir();
    writeCubism3Model(path.join(d, 'runtime'));
    expect(scanOf(scanModel(folderFiles(d))).modelFile).toBe('runtime/hiyori.model3.json');
  });

  it('names a newer moc3 version, an unknown one, and a Cubism 2 moc behind a .model3.json', () => {
    const d = dir();
    writeCubism3Model(d, { version: 6 });
    expect(problems(scanModel(folderFiles(d)))).toEqual([{ file: 'hiyori.moc3', message: expect.stringMatching(/version 6 is newer.*Cubism 5\.0 or older/) }]);
    writeFileSync(path.join(d, 'hiyori.moc3'), moc3(0));
    expect(problems(scanModel(folderFiles(d)))[0].message).toMatch(/version 0 is not a known Cubism version/);
    writeFileSync(path.join(d, 'hiyori.moc3'), Buffer.from('moc\x09rest'));
    expect(problems(scanModel(folderFiles(d)))[0]).toEqual({ file: 'hiyori.moc3', message: expect.stringMatching(/Cubism 2 \.moc.*import the \.model\.json/) });
    writeFileSync(path.join(d, 'hiyori.moc3'), Buffer.from('PK\x03\x04 not a moc'));
    expect(problems(scanModel(folderFiles(d)))[0].message).toMatch(/not a \.moc3/);
  });

  it('names broken JSON with line and column, missing files, and bad textures, all at once', () => {
    const d = dir();
    writeCubism3Model(d, { expressions: { Smile: [{ Id: 'ParamMouthForm', Value: 1 }], Angry: [] } });
    writeFileSync(path.join(d, 'expressions/Angry.exp3.json'), '{\n  "Type": "Live2D Expression",\n  "Parameters": [,]\n}');
    unlinkSync(path.join(d, 'motions/TapBody_0.motion3.json'));
    writeFileSync(path.join(d, 'hiyori.2048/texture_00.png'), 'not an image');
    const p = problems(scanModel(folderFiles(d)));
    expect(p).toContainEqual({ file: 'expressions/Angry.exp3.json', message: expect.stringMatching(/^broken JSON: .* at line 3, column 18$/) });
    expect(p).toContainEqual({ file: 'motions/TapBody_0.motion3.json', message: expect.stringMatching(/missing: .*motion 0 of group 'TapBody'/) });
    expect(p).toContainEqual({ file: 'hiyori.2048/texture_00.png', message: expect.stringMatching(/not a PNG, JPEG or WebP/) });
    expect(p).toHaveLength(3);
  });

  it('names a missing moc and texture, a name differing in case, and a path out of the folder', () => {
    const d = dir();
    writeCubism3Model(d, {
      edit: (j) => {
        const refs = j.FileReferences as Record<string, unknown>;
        refs.Moc = 'HIYORI.moc3';
        refs.Textures = ['hiyori.2048/texture_01.png', '../../etc/passwd'];
      },
    });
    const p = problems(scanModel(folderFiles(d)));
    expect(p).toContainEqual({ file: 'HIYORI.moc3', message: expect.stringMatching(/missing: .*its moc.*there is 'hiyori\.moc3'/) });
    expect(p).toContainEqual({ file: 'hiyori.2048/texture_01.png', message: expect.stringMatching(/missing: .*texture 0/) });
    expect(p).toContainEqual({ file: 'hiyori.model3.json', message: expect.stringMatching(/texture 1 '\.\.\/\.\.\/etc\/passwd' points outside the model's folder/) });
  });

  it('names a broken model file, and a folder with none', () => {
    const d = dir();
    writeCubism3Model(d);
    writeFileSync(path.join(d, 'hiyori.model3.json'), '{"Version": 3, "FileReferences": {"Moc": "x.moc3"');
    expect(problems(scanModel(folderFiles(d)))).toEqual([{ file: 'hiyori.model3.json', message: expect.stringMatching(/^broken JSON: .* at the end of the file \(it is cut short\)$/) }]);
    writeFileSync(path.join(d, 'hiyori.model3.json'), '{"Version": 3,\n "FileReferences": {"Moc" "x.moc3"}}');
    expect(problems(scanModel(folderFiles(d)))[0].message).toMatch(/^broken JSON: .* at line 2, column 27$/);
    const empty = dir();
    expect(problems(scanModel(folderFiles(empty)))[0].message).toMatch(/no model file: .*\.model3\.json.*\.model\.json/);
  });
});

describe('Cubism 2 (.model.json) samples from npm', () => {
  it('shizuku: expressions with their deltas, motion groups, the mouth', () => {
    const s = scanOf(scanModel(folderFiles(SHIZUKU_ASSETS)));
    expect(s).toMatchObject({ modelFile: 'shizuku.model.json', name: 'shizuku', cubism: 2 });
    expect(s.expressions.map((e) => e.name)).toEqual(['f01', 'f02', 'f03', 'f04']);
    // f02: eyes narrowed by a multiplier of 0.7 (def 1), mouth form -1 from its rest of 1.
    expect(s.expressions[1].params).toContainEqual({ id: 'PARAM_EYE_L_OPEN', delta: expect.closeTo(-0.3, 5) });
    expect(s.expressions[1].params).toContainEqual({ id: 'PARAM_MOUTH_FORM', delta: -2 });
    expect(s.motions).toEqual({ idle: 3, tap_body: 3, pinch_in: 3, pinch_out: 3, shake: 3, flick_head: 3 });
    expect(s.mouth).toEqual({ open: 'PARAM_MOUTH_OPEN_Y', form: 'PARAM_MOUTH_FORM' });
    expect(s.parameters).toContain('PARAM_TERE');
  });

  it('haru loads as Cubism 2 with its eight expressions', () => {
    const s = scanOf(scanModel(folderFiles(HARU_ASSETS)));
    expect(s.cubism).toBe(2);
    expect(s.expressions).toHaveLength(8);
  });

  it('a .moc3 behind a .model.json and a missing texture are named', () => {
    const d = copyShizuku(dir());
    writeFileSync(path.join(d, 'moc/shizuku.moc'), moc3(3));
    unlinkSync(path.join(d, 'moc/shizuku.1024/texture_02.png'));
    const p = problems(scanModel(folderFiles(d)));
    expect(p).toContainEqual({ file: 'moc/shizuku.moc', message: expect.stringMatching(/Cubism 3\+ \.moc3.*import the \.model3\.json/) });
    expect(p).toContainEqual({ file: 'moc/shizuku.1024/texture_02.png', message: expect.stringMatching(/missing: .*texture 2/) });
    expect(readFileSync(path.join(d, 'shizuku.model.json'), 'utf8')).toContain('texture_02');
  });
});
