/**
 * `<dataDir>/models.json`: the selected model and each model's settings (emotion map, transform).
 * Written atomically (temp file in the same folder, then rename); a file that is broken or does not
 * match the schema is kept aside as `models.json.bak` (or `.bak-<time>` when a copy is already there)
 * and the library starts from defaults, like settings.json.
 */
import { constants as fsConstants, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ModelSettings } from '../../shared/models.js';

export const MODELS_SETTINGS_FILE = 'models.json';

export const ModelsSettings = z.object({
  selected: z.string().optional(),
  models: z.record(z.string(), ModelSettings).default({}),
});
export type ModelsSettings = z.infer<typeof ModelsSettings>;

function keepCopy(file: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  for (const target of [`${file}.bak`, `${file}.bak-${stamp}`, `${file}.bak-${stamp}-${process.pid}`]) {
    try {
      copyFileSync(file, target, fsConstants.COPYFILE_EXCL);
      return path.basename(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`cannot keep a copy of ${file}: remove its old .bak copies`);
}

/** The saved settings, and a warning when the file had to be set aside. Never throws for a bad file. */
export function readModelsSettings(dataDir: string): { settings: ModelsSettings; warning?: string } {
  const file = path.join(dataDir, MODELS_SETTINGS_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { settings: { models: {} } };
    return { settings: { models: {} }, warning: `${file} could not be read (${code}): model settings start from defaults; fix its permissions` };
  }
  let why: string;
  try {
    const parsed = ModelsSettings.safeParse(JSON.parse(text));
    if (parsed.success) return { settings: parsed.data };
    why = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  } catch (err) {
    why = `not valid JSON (${(err as Error).message.split('\n')[0]})`;
  }
  const copy = keepCopy(file);
  return { settings: { models: {} }, warning: `${file} is ${why}; kept it as ${copy} and started the model settings from defaults` };
}

export function writeModelsSettings(dataDir: string, settings: ModelsSettings): void {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, MODELS_SETTINGS_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(settings, null, 2) + '\n');
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
