/**
 * Reading the JSON files of a model with problems named the way a streamer can act on them: the file,
 * and for broken JSON the line and column where the parser stopped.
 */
import type { ModelProblem } from '../../shared/models.js';
import type { ModelFiles } from './model-files.js';

/** Line and column (1-based) of a character offset. */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

/** Whether `prefix` could still grow into valid JSON (it parses, or fails only for running out). */
function viable(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return true;
  } catch (err) {
    const message = (err as Error).message;
    if (/Unexpected end of JSON input/.test(message)) return true;
    const at = /at position (\d+)/.exec(message);
    return at !== null && Number(at[1]) >= prefix.length;
  }
}

/**
 * Where JSON.parse gave up. V8 names a position for some errors only ("Unexpected token ..." has
 * none), so otherwise: the shortest prefix that can no longer become valid JSON ends at the culprit
 * (being a viable prefix is monotonic, hence the binary search).
 */
function errorOffset(text: string, message: string): number {
  const at = /at position (\d+)/.exec(message);
  if (at) return Number(at[1]);
  if (/Unexpected end of JSON input/.test(message)) return text.length;
  let lo = 1;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (viable(text.slice(0, mid))) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** `JSON.parse`'s complaint, first line only, with where it is as a line and column. */
export function describeJsonError(text: string, err: unknown): string {
  const message = (err as Error).message;
  const offset = errorOffset(text, message);
  // V8 quotes the text around an unexpected token; the position says more.
  const what = /^Unexpected token/.test(message)
    ? `unexpected ${JSON.stringify(text[offset] ?? '')}`
    : message.split('\n')[0].replace(/\s*(?:in JSON )?at position \d+.*$/, '');
  const where = offset >= text.length ? 'the end of the file (it is cut short)' : lineColumn(text, offset);
  return `${what} at ${where}`;
}

/** A file the model's JSON names that has no counterpart; mentions a name differing only in case. */
export function missingMessage(files: ModelFiles, rel: string, what: string): string {
  const lower = rel.toLowerCase();
  const near = files.list().find((f) => f.toLowerCase() === lower);
  const hint = near ? ` (there is '${near}': file names are case-sensitive on the web server, rename one to match the other)` : '';
  return `missing: the model names it as ${what}, but the file is not in the model${hint}`;
}

/**
 * The parsed JSON of `rel`, or undefined with a problem recorded: missing file, broken JSON (with its
 * position), or not a JSON object.
 */
export function readJson(files: ModelFiles, rel: string, what: string, problems: ModelProblem[]): Record<string, unknown> | undefined {
  const bytes = files.read(rel);
  if (!bytes) {
    problems.push({ file: rel, message: missingMessage(files, rel, what) });
    return undefined;
  }
  // A UTF-8 byte order mark (Windows editors write one) is not part of the JSON.
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    problems.push({ file: rel, message: `broken JSON: ${describeJsonError(text, err)}` });
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push({ file: rel, message: `is not a JSON object: ${what} must be one` });
    return undefined;
  }
  return parsed as Record<string, unknown>;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
