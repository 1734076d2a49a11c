/**
 * The model library: built-in models (copied at build time to `<rendererDir>/live2d/models/<id>/`)
 * and the ones the streamer imported (`<dataDir>/models/<id>/`), each scanned and validated once,
 * with the selection and the per-model settings from `<dataDir>/models.json`.
 *
 * An import is validated in memory before anything is written; the files then go to a hidden staging
 * folder that is renamed into place, so a broken or refused model leaves nothing behind and the
 * selection unchanged.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ModelTransform, type ModelInfo, type ModelListResponse, type ModelSettings } from '../../shared/models.js';
import { proposeEmotionMap } from './emotion-map.js';
import { folderFiles, memoryFiles } from './model-files.js';
import { readModelsSettings, writeModelsSettings, type ModelsSettings } from './settings-file.js';
import { baseName, findModelFile, scanModel, type ModelScan } from './scan.js';
import { DEFAULT_ZIP_LIMITS, ModelImportFailure, readModelZip, type ZipLimits } from './zip-reader.js';

export const BUILTIN_URL_PREFIX = '/live2d/models/';
export const IMPORTED_URL_PREFIX = '/models/';
/** The model shown when none was chosen (or the chosen one is gone). */
export const DEFAULT_MODEL = 'shizuku';
const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Ids a route path could confuse with a model (PUT /api/models/selected). */
const RESERVED_IDS = new Set(['selected']);

export class ModelNotFound extends Error {}
export class ModelRefused extends Error {}

interface Entry {
  id: string;
  source: 'builtin' | 'imported';
  dir: string;
  scan: ModelScan;
}

export interface ModelLibraryOptions {
  /** `<rendererDir>/live2d/models`; absent or missing: no built-in models. */
  builtinDir?: string;
  dataDir: string;
  limits?: Partial<ZipLimits>;
  log?: (level: 'info' | 'warn', msg: string) => void;
}

/** A name as an id: lowercase ASCII, digits, `.`, `_`, `-`. Empty when nothing usable is left. */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/-+$/, '')
    .slice(0, 48);
}

function encodePath(rel: string): string {
  return rel.split('/').map(encodeURIComponent).join('/');
}

export class ModelLibrary {
  private entries = new Map<string, Entry>();
  private settings: ModelsSettings = { models: {} };
  private loaded = false;
  private readonly limits: ZipLimits;
  private readonly log: NonNullable<ModelLibraryOptions['log']>;
  /** Where imported models live (served at /models/). */
  readonly importedDir: string;

  constructor(private readonly opts: ModelLibraryOptions) {
    this.importedDir = path.join(opts.dataDir, 'models');
    this.limits = { ...DEFAULT_ZIP_LIMITS, ...opts.limits };
    this.log = opts.log ?? (() => {});
  }

  /** Scans both folders again (the list is cached after the first call). */
  refresh(): void {
    this.entries.clear();
    const read = readModelsSettings(this.opts.dataDir);
    this.settings = read.settings;
    if (read.warning) this.log('warn', read.warning);
    if (this.opts.builtinDir) this.scanFolder(this.opts.builtinDir, 'builtin');
    this.scanFolder(this.importedDir, 'imported');
    this.loaded = true;
  }

  private scanFolder(root: string, source: Entry['source']): void {
    if (!existsSync(root)) return;
    for (const d of readdirSync(root, { withFileTypes: true })) {
      // Hidden folders are imports being staged (or left by a crash); never models.
      if (!d.isDirectory() || d.name.startsWith('.')) continue;
      if (!ID.test(d.name)) {
        this.log('warn', `model folder ${path.join(root, d.name)} skipped: its name is not a model id (lowercase letters, digits, . _ -)`);
        continue;
      }
      if (this.entries.has(d.name)) {
        this.log('warn', `imported model ${d.name} skipped: a built-in model has that id`);
        continue;
      }
      const dir = path.join(root, d.name);
      const result = scanModel(folderFiles(dir));
      if (!result.ok) {
        this.log('warn', `model ${d.name} (${dir}) skipped: ${result.problems.map((p) => `${p.file}: ${p.message}`).join('; ')}`);
        continue;
      }
      this.entries.set(d.name, { id: d.name, source, dir, scan: result.scan });
    }
  }

  private ensureLoaded(): void {
    if (!this.loaded) this.refresh();
  }

  private info(e: Entry): ModelInfo {
    const saved = this.settings.models[e.id] ?? {};
    return {
      id: e.id,
      name: e.scan.name,
      source: e.source,
      cubism: e.scan.cubism,
      url: `${e.source === 'builtin' ? BUILTIN_URL_PREFIX : IMPORTED_URL_PREFIX}${e.id}/${encodePath(e.scan.modelFile)}`,
      expressions: e.scan.expressions.map((x) => x.name),
      motions: e.scan.motions,
      parameters: e.scan.parameters,
      mouth: e.scan.mouth,
      emotionMap: saved.emotionMap ?? proposeEmotionMap(e.scan),
      transform: saved.transform ?? ModelTransform.parse({}),
    };
  }

  private selectedId(): string {
    const s = this.settings.selected;
    if (s && this.entries.has(s)) return s;
    if (this.entries.has(DEFAULT_MODEL)) return DEFAULT_MODEL;
    return this.entries.keys().next().value ?? '';
  }

  list(): ModelListResponse {
    this.ensureLoaded();
    return { models: [...this.entries.values()].map((e) => this.info(e)), selected: this.selectedId() };
  }

  get(id: string): ModelInfo | undefined {
    this.ensureLoaded();
    const e = this.entries.get(id);
    return e && this.info(e);
  }

  /** Whether `id` is an imported model (its files are served under /models/<id>/). */
  isImported(id: string): boolean {
    this.ensureLoaded();
    return this.entries.get(id)?.source === 'imported';
  }

  private entry(id: string): Entry {
    this.ensureLoaded();
    const e = this.entries.get(id);
    if (!e) throw new ModelNotFound(`no model '${id}': GET /api/models lists the models there are`);
    return e;
  }

  select(id: string): ModelListResponse {
    this.entry(id);
    this.save({ ...this.settings, selected: id });
    return this.list();
  }

  /** Replaces the settings given (emotion map and/or transform) of one model. */
  saveSettings(id: string, settings: ModelSettings): ModelInfo {
    const e = this.entry(id);
    const merged = { ...this.settings.models[id], ...settings };
    this.save({ ...this.settings, models: { ...this.settings.models, [id]: merged } });
    return this.info(e);
  }

  private save(next: ModelsSettings): void {
    writeModelsSettings(this.opts.dataDir, next);
    this.settings = next;
  }

  remove(id: string): void {
    const e = this.entry(id);
    if (e.source === 'builtin') throw new ModelRefused(`'${id}' is a built-in model and cannot be deleted (only imported models can)`);
    // Out of the list first (rename is atomic), then the files: a failure half-way leaves a hidden folder, not half a model.
    const trash = path.join(this.importedDir, `.delete-${id}-${randomBytes(4).toString('hex')}`);
    renameSync(e.dir, trash);
    this.entries.delete(id);
    const models = { ...this.settings.models };
    delete models[id];
    this.save({ ...this.settings, models, selected: this.settings.selected === id ? undefined : this.settings.selected });
    rmSync(trash, { recursive: true, force: true });
  }

  private uniqueId(candidates: string[]): string {
    const base = candidates.map(slugify).find((s) => s && ID.test(s)) ?? 'model';
    const taken = (id: string) => this.entries.has(id) || RESERVED_IDS.has(id) || existsSync(path.join(this.importedDir, id));
    if (!taken(base)) return base;
    for (let n = 2; ; n++) if (!taken(`${base}-${n}`)) return `${base}-${n}`;
  }

  /**
   * Imports a zipped model (the model file may sit in a sub-folder). Throws ModelImportFailure with
   * every problem found; nothing is written unless the model is valid.
   */
  importZip(zip: Uint8Array, nameHint?: string): ModelInfo {
    this.ensureLoaded();
    const files = readModelZip(zip, this.limits);
    const all = memoryFiles(files);
    const modelFile = findModelFile(all);
    if (!modelFile) {
      throw new ModelImportFailure('the zip holds no Live2D model', [
        { file: '(upload)', message: 'no .model3.json (Cubism 3-5) or .model.json (Cubism 2) in the zip: zip the folder that holds the model file' },
      ]);
    }
    const slash = modelFile.lastIndexOf('/');
    const prefix = slash < 0 ? '' : modelFile.slice(0, slash + 1);
    const result = scanModel(memoryFiles(files, prefix), modelFile.slice(prefix.length));
    if (!result.ok) {
      throw new ModelImportFailure(`the model ${modelFile} has ${result.problems.length} problem(s)`, result.problems.map((p) => ({ ...p, file: prefix + p.file })));
    }
    const folder = prefix.split('/').filter(Boolean).pop() ?? '';
    const id = this.uniqueId([baseName(modelFile), result.scan.name, folder, nameHint?.replace(/\.zip$/i, '') ?? '']);

    mkdirSync(this.importedDir, { recursive: true });
    const staging = path.join(this.importedDir, `.import-${randomBytes(6).toString('hex')}`);
    try {
      for (const [name, data] of files) {
        if (!name.startsWith(prefix)) continue;
        const target = path.join(staging, ...name.slice(prefix.length).split('/'));
        // readModelZip refused '..' and absolute names; this is the last line, should that ever change.
        if (!target.startsWith(staging + path.sep)) throw new Error(`refusing to write ${name} outside the model folder`);
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, data);
      }
      renameSync(staging, path.join(this.importedDir, id));
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      throw err;
    }
    const entry: Entry = { id, source: 'imported', dir: path.join(this.importedDir, id), scan: result.scan };
    this.entries.set(id, entry);
    this.log('info', `model ${id} imported (${result.scan.name}, Cubism ${result.scan.cubism})`);
    return this.info(entry);
  }
}
