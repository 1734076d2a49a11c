/**
 * Scans and validates one Live2D model: its model file (Cubism 2 `.model.json` or Cubism 3/4/5
 * `.model3.json`), the moc it names (kind and version from the header), textures, expressions,
 * motions, physics and pose. Every problem is named with its file, so a broken import says what to
 * fix instead of failing later inside the renderer with an opaque error.
 */
import path from 'node:path';
import type { ModelProblem } from '../../shared/models.js';
import { isRecord, missingMessage, readJson } from './json-file.js';
import { resolveRef, type ModelFiles } from './model-files.js';
import { mocKind, NEWEST_MOC3_VERSION } from './moc.js';

/** How far an expression moves one parameter from its rest value (Multiply: the factor minus 1). */
export interface ParamDelta {
  id: string;
  delta: number;
}

export interface ExpressionScan {
  name: string;
  file: string;
  params: ParamDelta[];
}

export interface ModelScan {
  /** The model file, relative to the model's root. */
  modelFile: string;
  name: string;
  cubism: 2 | 3 | 4 | 5;
  expressions: ExpressionScan[];
  motions: Record<string, number>;
  parameters: string[];
  mouth: { open: string; form?: string };
}

export type ScanResult = { ok: true; scan: ModelScan } | { ok: false; problems: ModelProblem[] };

const MODEL_FILE = /(^|\/)[^/]+\.model3?\.json$/i;

/** The model file of a folder: the shallowest `.model3.json` / `.model.json`, first by name. */
export function findModelFile(files: ModelFiles): string | undefined {
  const found = files.list().filter((f) => MODEL_FILE.test(f) && !f.split('/').some((s) => s.startsWith('.') || s === '__MACOSX'));
  found.sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
  return found[0];
}

/** The model's display name from its file name (`shizuku.model.json` -> `shizuku`). */
export function baseName(modelFile: string): string {
  return path.posix.basename(modelFile).replace(/\.model3?\.json$/i, '');
}

const IMAGE_MAGIC: ReadonlyArray<[string, (b: Buffer) => boolean]> = [
  ['PNG', (b) => b.length >= 8 && b.readUInt32BE(0) === 0x89504e47],
  ['JPEG', (b) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
  ['WebP', (b) => b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP'],
];

/** Collects problems while resolving the references of one model file. */
class Checker {
  readonly problems: ModelProblem[] = [];
  readonly dir: string;
  constructor(
    readonly files: ModelFiles,
    readonly modelFile: string,
  ) {
    this.dir = path.posix.dirname(modelFile) === '.' ? '' : path.posix.dirname(modelFile);
  }

  problem(file: string, message: string): void {
    this.problems.push({ file, message });
  }

  /** A reference of the model file, resolved; a problem when it is not a relative path inside the model. */
  ref(value: unknown, what: string): string | undefined {
    if (typeof value !== 'string' || value.trim() === '') {
      this.problem(this.modelFile, `${what}: expected a file name, found ${JSON.stringify(value) ?? 'nothing'}`);
      return undefined;
    }
    const rel = resolveRef(this.dir, value);
    if (!rel) this.problem(this.modelFile, `${what} '${value}' points outside the model's folder: use a path relative to the model file`);
    return rel;
  }

  /** The bytes of a referenced file (its first `head` bytes when given), or a problem naming it as missing. */
  bytes(value: unknown, what: string, head?: number): { rel: string; data: Buffer } | undefined {
    const rel = this.ref(value, what);
    if (!rel) return undefined;
    const data = head === undefined ? this.files.read(rel) : this.files.head(rel, head);
    if (!data) {
      this.problem(rel, missingMessage(this.files, rel, what));
      return undefined;
    }
    return { rel, data };
  }

  json(value: unknown, what: string): Record<string, unknown> | undefined {
    const rel = this.ref(value, what);
    return rel ? readJson(this.files, rel, what, this.problems) : undefined;
  }

  texture(value: unknown, index: number): void {
    const got = this.bytes(value, `texture ${index}`, 16);
    if (got && !IMAGE_MAGIC.some(([, is]) => is(got.data))) {
      this.problem(got.rel, `texture ${index} is not a PNG, JPEG or WebP image: export the textures again from the Cubism Editor`);
    }
  }

  /** Motions: group -> count, each file present. */
  motions(value: unknown, fileKey: 'file' | 'File'): Record<string, number> {
    const out: Record<string, number> = {};
    if (value === undefined) return out;
    if (!isRecord(value)) {
      this.problem(this.modelFile, 'motions: expected an object of motion groups');
      return out;
    }
    for (const [group, list] of Object.entries(value)) {
      if (!Array.isArray(list)) {
        this.problem(this.modelFile, `motion group '${group}': expected a list of motions`);
        continue;
      }
      list.forEach((m, i) => {
        if (isRecord(m)) this.bytes(m[fileKey], `motion ${i} of group '${group}'`, 0);
        else this.problem(this.modelFile, `motion ${i} of group '${group}': expected an object with a ${fileKey}`);
      });
      out[group] = list.length;
    }
    return out;
  }

  /** Parameter ids a physics file names (Cubism 2 `physics_hair`, Cubism 3+ `PhysicsSettings`). */
  physicsIds(json: Record<string, unknown> | undefined): string[] {
    if (!json) return [];
    const ids: string[] = [];
    const push = (v: unknown) => typeof v === 'string' && ids.push(v);
    for (const hair of Array.isArray(json.physics_hair) ? json.physics_hair : []) {
      if (!isRecord(hair)) continue;
      for (const s of [...(Array.isArray(hair.src) ? hair.src : []), ...(Array.isArray(hair.targets) ? hair.targets : [])]) if (isRecord(s)) push(s.id);
    }
    for (const setting of Array.isArray(json.PhysicsSettings) ? json.PhysicsSettings : []) {
      if (!isRecord(setting)) continue;
      for (const i of Array.isArray(setting.Input) ? setting.Input : []) if (isRecord(i) && isRecord(i.Source)) push(i.Source.Id);
      for (const o of Array.isArray(setting.Output) ? setting.Output : []) if (isRecord(o) && isRecord(o.Destination)) push(o.Destination.Id);
    }
    return ids;
  }
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

/** Cubism 2 `.exp.json`: params[] {id, val, def, calc: add (default) | mult | set}. */
function cubism2Params(json: Record<string, unknown>): ParamDelta[] {
  const out: ParamDelta[] = [];
  for (const p of Array.isArray(json.params) ? json.params : []) {
    if (!isRecord(p) || typeof p.id !== 'string') continue;
    const val = num(p.val, 0);
    const calc = typeof p.calc === 'string' ? p.calc : 'add';
    const def = num(p.def, calc === 'mult' ? 1 : 0);
    const delta = calc === 'mult' ? val / (def === 0 ? 1 : def) - 1 : calc === 'set' ? val - (/open/i.test(p.id) ? 1 : 0) : val - def;
    out.push({ id: p.id, delta });
  }
  return out;
}

/** Cubism 3+ `.exp3.json`: Parameters[] {Id, Value, Blend: Add (default) | Multiply | Overwrite}. */
function cubism3Params(json: Record<string, unknown>): ParamDelta[] {
  const out: ParamDelta[] = [];
  for (const p of Array.isArray(json.Parameters) ? json.Parameters : []) {
    if (!isRecord(p) || typeof p.Id !== 'string') continue;
    const value = num(p.Value, 0);
    const blend = typeof p.Blend === 'string' ? p.Blend : 'Add';
    // Overwrite sets an absolute value: measured against the usual rest value (eyes open = 1, the rest 0).
    const delta = blend === 'Multiply' ? value - 1 : blend === 'Overwrite' ? value - (/open/i.test(p.Id) ? 1 : 0) : value;
    out.push({ id: p.Id, delta });
  }
  return out;
}

/** The Cubism generation of the moc the model file names (undefined with a problem recorded), and its bytes. */
function checkMoc(c: Checker, value: unknown, generation: 2 | 3): { cubism?: 2 | 3 | 4 | 5; data?: Buffer } {
  const moc = c.bytes(value, 'its moc');
  if (!moc) return {};
  return { cubism: mocGeneration(c, moc, generation), data: moc.data };
}

function mocGeneration(c: Checker, moc: { rel: string; data: Buffer }, generation: 2 | 3): 2 | 3 | 4 | 5 | undefined {
  const kind = mocKind(moc.data);
  if (generation === 2) {
    if (kind.kind === 'moc2') return 2;
    if (kind.kind === 'moc3' || kind.kind === 'moc3-unknown') {
      c.problem(moc.rel, 'is a Cubism 3+ .moc3, but the model file is a Cubism 2 .model.json: import the .model3.json that comes with it');
    } else c.problem(moc.rel, 'is not a Cubism 2 moc (its header does not start with "moc"): the file is damaged or of another kind');
    return undefined;
  }
  if (kind.kind === 'moc3') return kind.cubism;
  if (kind.kind === 'moc3-unknown') {
    c.problem(
      moc.rel,
      kind.version > NEWEST_MOC3_VERSION
        ? `moc3 version ${kind.version} is newer than this app reads (Cubism 5.0, version ${NEWEST_MOC3_VERSION}): export the model from the Cubism Editor for Cubism 5.0 or older`
        : `moc3 version ${kind.version} is not a known Cubism version: the file is damaged`,
    );
  } else if (kind.kind === 'moc2') {
    c.problem(moc.rel, 'is a Cubism 2 .moc, but the model file is a Cubism 3+ .model3.json: import the .model.json that comes with it');
  } else c.problem(moc.rel, 'is not a .moc3 (its header does not start with "MOC3"): the file is damaged or of another kind');
  return undefined;
}

function expressionsOf(c: Checker, list: unknown, keys: { name: string; file: string }, params: (j: Record<string, unknown>) => ParamDelta[]): ExpressionScan[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) {
    c.problem(c.modelFile, 'expressions: expected a list');
    return [];
  }
  const out: ExpressionScan[] = [];
  list.forEach((e, i) => {
    if (!isRecord(e)) return c.problem(c.modelFile, `expression ${i}: expected an object with ${keys.name} and ${keys.file}`);
    const name = typeof e[keys.name] === 'string' ? (e[keys.name] as string) : `expression ${i}`;
    const rel = c.ref(e[keys.file], `expression '${name}'`);
    const json = rel ? readJson(c.files, rel, `expression '${name}'`, c.problems) : undefined;
    if (rel && json) out.push({ name, file: rel, params: params(json) });
  });
  return out;
}

/** Scans the model of `files` (`modelFile` found when not given). */
export function scanModel(files: ModelFiles, modelFile = findModelFile(files)): ScanResult {
  if (!modelFile) {
    return { ok: false, problems: [{ file: '(model)', message: 'no model file: a Live2D model has a .model3.json (Cubism 3-5) or a .model.json (Cubism 2)' }] };
  }
  const c = new Checker(files, modelFile);
  const json = readJson(files, modelFile, 'the model file', c.problems);
  if (!json) return { ok: false, problems: c.problems };
  const cubism3 = /\.model3\.json$/i.test(modelFile);

  let cubism: 2 | 3 | 4 | 5 | undefined;
  let expressions: ExpressionScan[];
  let motions: Record<string, number>;
  const named: string[] = [];
  let lipSync: string[] = [];
  let mocBytes: Buffer | undefined;
  let name = baseName(modelFile);

  if (cubism3) {
    const refs = json.FileReferences;
    if (!isRecord(refs)) {
      c.problem(modelFile, 'has no FileReferences: not a Cubism 3+ model file');
      return { ok: false, problems: c.problems };
    }
    ({ cubism, data: mocBytes } = checkMoc(c, refs.Moc, 3));
    if (!Array.isArray(refs.Textures) || refs.Textures.length === 0) c.problem(modelFile, 'FileReferences.Textures: the model names no texture');
    else refs.Textures.forEach((t, i) => c.texture(t, i));
    expressions = expressionsOf(c, refs.Expressions, { name: 'Name', file: 'File' }, cubism3Params);
    motions = c.motions(refs.Motions, 'File');
    if (refs.Physics !== undefined) named.push(...c.physicsIds(c.json(refs.Physics, 'its physics')));
    if (refs.Pose !== undefined) c.json(refs.Pose, 'its pose');
    for (const g of Array.isArray(json.Groups) ? json.Groups : []) {
      if (!isRecord(g) || !Array.isArray(g.Ids)) continue;
      const ids = g.Ids.filter((x): x is string => typeof x === 'string');
      if (g.Name === 'LipSync') lipSync = ids;
      if (g.Name === 'LipSync' || g.Name === 'EyeBlink') named.push(...ids);
    }
  } else {
    ({ cubism, data: mocBytes } = checkMoc(c, json.model, 2));
    if (!Array.isArray(json.textures) || json.textures.length === 0) c.problem(modelFile, 'textures: the model names no texture');
    else json.textures.forEach((t, i) => c.texture(t, i));
    expressions = expressionsOf(c, json.expressions, { name: 'name', file: 'file' }, cubism2Params);
    motions = c.motions(json.motions, 'file');
    if (json.physics !== undefined) named.push(...c.physicsIds(c.json(json.physics, 'its physics')));
    if (json.pose !== undefined) c.json(json.pose, 'its pose');
    if (typeof json.name === 'string' && json.name.trim()) name = json.name.trim();
  }

  if (c.problems.length > 0 || cubism === undefined) return { ok: false, problems: c.problems };

  for (const e of expressions) for (const p of e.params) named.push(p.id);
  const parameters = [...new Set(named)].sort();
  // The moc holds its parameter ids as plain ASCII: a cheap way to learn what the JSON files do not name.
  const inModel = (id: string) => parameters.includes(id) || (mocBytes?.includes(id, 0, 'latin1') ?? false);
  const [openIds, formIds] = cubism === 2 ? [['PARAM_MOUTH_OPEN_Y', 'ParamMouthOpenY'], ['PARAM_MOUTH_FORM', 'ParamMouthForm']] : [['ParamMouthOpenY', 'PARAM_MOUTH_OPEN_Y'], ['ParamMouthForm', 'PARAM_MOUTH_FORM']];
  const open = lipSync[0] ?? openIds.find(inModel) ?? openIds[0];
  const form = formIds.find(inModel);
  return {
    ok: true,
    scan: { modelFile, name, cubism, expressions, motions, parameters, mouth: form ? { open, form } : { open } },
  };
}
