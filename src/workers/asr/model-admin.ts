/**
 * The studio's admin of the sherpa-onnx models (`fav:asr:models`, src/shared/speech-admin.ts): what
 * is installed, absent or broken under `<dataDir>/models/asr/`, downloads started from the page with
 * their progress, cancel (the .part file stays, so the next download resumes with a Range request)
 * and delete. Downloads go through ModelManager (models.ts): resume, sha256, extraction and the
 * atomic install are its work; this keeps the state the page polls.
 *
 * Archive sizes of models not yet downloaded are asked of the server (HEAD) in the background after
 * the first list, so the list answers at once even offline; they appear in a later list.
 */
import { existsSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../shared/config.js';
import type { SpeechModelView } from '../../shared/settings-api.js';
import type { Logger } from '../runtime/index.js';
import { ModelManager, SHERPA_MODELS, checkModelDir, type ModelSpec, type SherpaModelName } from './models.js';

/** What each model recognises, for the picker. */
export const MODEL_LANGUAGES: Record<SherpaModelName, string> = {
  'sense-voice': 'zh, en, ja, ko, yue',
  'whisper-tiny': '99 languages (Whisper)',
  'whisper-base': '99 languages (Whisper)',
  'zipformer-bilingual': 'zh, en (streaming)',
};

export interface AdminFailure {
  ok: false;
  code: string;
  error: string;
  fix: string;
}
export type AdminAnswer = { ok: true; models: SpeechModelView[] } | AdminFailure;

interface Download {
  ac: AbortController;
  received: number;
  total?: number;
  done: Promise<void>;
}

export interface ModelAdminOptions {
  settings: Config;
  log: Logger;
  /** Ask the server for archive sizes (default true). */
  probeSizes?: boolean;
  /** Passed to ModelManager (tests lower them). */
  attempts?: number;
  stallMs?: number;
}

export class ModelAdmin {
  readonly manager: ModelManager;
  private readonly downloads = new Map<string, Download>();
  private readonly failures = new Map<string, { error: string; fix: string }>();
  private readonly sizes = new Map<string, number>();
  private probing: Promise<void> | undefined;

  constructor(private readonly o: ModelAdminOptions) {
    this.manager = new ModelManager({
      dataDir: o.settings.dataDir,
      baseUrl: o.settings.asr.sherpa.modelsBaseUrl,
      log: o.log,
      attempts: o.attempts,
      stallMs: o.stallMs,
      onProgress: (p) => {
        const d = this.downloads.get(p.model);
        if (!d) return;
        d.received = p.receivedBytes;
        d.total = p.totalBytes;
        if (p.totalBytes) this.sizes.set(p.model, p.totalBytes);
      },
    });
  }

  async handle(action: 'list' | 'download' | 'cancel' | 'delete', name?: string): Promise<AdminAnswer> {
    if (action === 'list') return { ok: true, models: await this.list() };
    const spec = name === undefined ? undefined : (SHERPA_MODELS as Record<string, ModelSpec>)[name];
    if (!spec) {
      return fail('unknown_model', `there is no sherpa-onnx model named "${name ?? ''}"`, `use one of ${Object.keys(SHERPA_MODELS).join(', ')}`);
    }
    const refused = action === 'download' ? this.download(spec) : action === 'cancel' ? await this.cancel(spec) : await this.remove(spec);
    return refused ?? { ok: true, models: await this.list() };
  }

  async list(): Promise<SpeechModelView[]> {
    if (this.o.probeSizes !== false) this.probing ??= this.probeSizes();
    const { asr } = this.o.settings;
    const out: SpeechModelView[] = [];
    for (const spec of Object.values(SHERPA_MODELS)) {
      const name = spec.name as SherpaModelName;
      const view: SpeechModelView = { name, languages: MODEL_LANGUAGES[name], state: 'absent' };
      if (asr.engine === 'sherpa-onnx' && asr.sherpa.model === name) view.active = true;
      const d = this.downloads.get(name);
      const dir = this.manager.dirOf(spec);
      if (d) {
        view.state = 'downloading';
        view.progress = { receivedBytes: d.received, ...(d.total !== undefined ? { totalBytes: d.total } : {}) };
      } else if (existsSync(dir)) {
        try {
          checkModelDir(dir, spec);
          view.state = 'installed';
          const bytes = (await this.manager.manifest(spec))?.bytes;
          if (bytes !== undefined) view.sizeBytes = bytes;
        } catch (e) {
          Object.assign(view, { state: 'broken', code: 'broken', error: (e as Error).message, fix: 'delete it here, then download it again' });
        }
      } else {
        const part = await sizeOf(this.partOf(spec));
        if (part > 0) view.partialBytes = part;
        const failed = this.failures.get(name);
        if (failed) Object.assign(view, { code: 'download_failed', ...failed });
      }
      view.sizeBytes ??= this.sizes.get(name);
      if (view.sizeBytes === undefined) delete view.sizeBytes;
      out.push(view);
    }
    return out;
  }

  /** Starts a download in the background (the page polls the list for progress). */
  private download(spec: ModelSpec): AdminFailure | undefined {
    if (this.downloads.has(spec.name)) return undefined;
    const dir = this.manager.dirOf(spec);
    if (existsSync(dir)) {
      try {
        checkModelDir(dir, spec);
        return undefined; // installed already
      } catch (e) {
        return fail('broken', (e as Error).message, 'delete the broken folder first, then download again');
      }
    }
    this.failures.delete(spec.name);
    const ac = new AbortController();
    const d: Download = { ac, received: 0, done: Promise.resolve() };
    d.done = this.manager
      .ensure(spec, ac.signal)
      .then(() => this.o.log.info({ model: spec.name }, 'model downloaded from the studio'))
      .catch((e: Error) => {
        if (ac.signal.aborted) {
          this.o.log.info({ model: spec.name }, 'model download cancelled');
          return;
        }
        this.o.log.warn({ model: spec.name, err: e.message }, 'model download failed');
        this.failures.set(spec.name, { error: e.message, fix: `check the network and asr.sherpa.modelsBaseUrl (${this.o.settings.asr.sherpa.modelsBaseUrl}), then download again` });
      })
      .finally(() => this.downloads.delete(spec.name));
    this.downloads.set(spec.name, d);
    return undefined;
  }

  /** Stops a download; resolves once it has let go of its files (its .part stays for a resume). */
  private async cancel(spec: ModelSpec): Promise<undefined> {
    const d = this.downloads.get(spec.name);
    if (!d) return undefined;
    d.ac.abort(new Error('cancelled from the studio'));
    await d.done;
    return undefined;
  }

  private async remove(spec: ModelSpec): Promise<AdminFailure | undefined> {
    if (this.downloads.has(spec.name)) return fail('downloading', `the ${spec.name} model is downloading`, 'cancel the download first');
    const { asr } = this.o.settings;
    if (asr.engine === 'sherpa-onnx' && asr.sherpa.model === spec.name) {
      return fail('in_use', `the ${spec.name} model is the one speech recognition uses`, 'choose another model or ASR engine, save, then delete it');
    }
    await rm(this.manager.dirOf(spec), { recursive: true, force: true });
    await rm(this.partOf(spec), { force: true });
    this.failures.delete(spec.name);
    this.o.log.info({ model: spec.name }, 'model deleted from the studio');
    return undefined;
  }

  /** Cancels every download (the service is stopping). */
  async close(): Promise<void> {
    await Promise.all([...this.downloads.values()].map((d) => (d.ac.abort(new Error('asr stopping')), d.done)));
  }

  private partOf(spec: ModelSpec): string {
    return join(this.manager.root, '.downloads', `${spec.archive}.tar.bz2.part`);
  }

  private async probeSizes(): Promise<void> {
    await Promise.all(
      Object.values(SHERPA_MODELS).map(async (spec) => {
        try {
          const res = await fetch(this.manager.urlOf(spec), { method: 'HEAD', redirect: 'follow', signal: AbortSignal.timeout(5000) });
          const n = Number(res.headers.get('content-length'));
          if (res.ok && n > 0) this.sizes.set(spec.name, n);
        } catch {
          // Offline or blocked: the size shows once a download starts.
        }
      }),
    );
  }
}

function fail(code: string, error: string, fix: string): AdminFailure {
  return { ok: false, code, error, fix };
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
