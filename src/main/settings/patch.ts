/**
 * The pieces of a settings save that are plain data: merging a partial patch into the settings
 * file's tree (null deletes, '' clears a secret), listing leaf paths and what changed between two
 * trees, and checking a patch's keys against the config schema's shape so a misspelt key is refused
 * instead of written and silently ignored.
 */
import { z } from 'zod';
import { ConfigSchema, SECRET_PATHS } from '../../shared/config.js';

export type Tree = Record<string, unknown>;

export interface PatchIssue {
  path: string;
  message: string;
}

export function isPlainObject(v: unknown): v is Tree {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const SECRETS: ReadonlySet<string> = new Set(SECRET_PATHS);

export function isSecretPath(path: string): boolean {
  return SECRETS.has(path);
}

/** The object schema under optional/default/prefault wrappers, if it is one. */
function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  let s: z.ZodType = schema;
  for (;;) {
    const inner = (s._zod.def as { innerType?: z.ZodType }).innerType;
    if (!inner) break;
    s = inner;
  }
  return s instanceof z.ZodObject ? (s.shape as Record<string, z.ZodType>) : undefined;
}

/** Keys the schema does not know, and keys a patch may not set. The values are the schema's to judge. */
export function checkPatchKeys(patch: Tree, schema: z.ZodType = ConfigSchema, prefix = ''): PatchIssue[] {
  const shape = objectShape(schema);
  if (!shape) return [];
  const issues: PatchIssue[] = [];
  for (const [k, v] of Object.entries(patch)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (p === 'dataDir') {
      issues.push({ path: p, message: 'the data folder is chosen when the app starts (--data or FAV_DATA_DIR), not in the settings' });
      continue;
    }
    const child = shape[k];
    if (!child) {
      issues.push({ path: p, message: `unknown setting '${p}'` });
      continue;
    }
    if (isPlainObject(v)) issues.push(...checkPatchKeys(v, child, p));
  }
  return issues;
}

/**
 * The file tree with the patch merged in: objects merge key by key, anything else replaces, `null`
 * removes the key (back to its default), '' on a secret removes it (cleared). Neither input is changed.
 */
export function applyPatch(file: Tree, patch: Tree, prefix = ''): Tree {
  const out: Tree = structuredClone(file);
  for (const [k, v] of Object.entries(patch)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (v === undefined) continue;
    if (v === null || (v === '' && isSecretPath(p))) delete out[k];
    else if (isPlainObject(v)) {
      const merged = applyPatch(isPlainObject(out[k]) ? out[k] : {}, v, p);
      if (Object.keys(merged).length > 0) out[k] = merged;
      else delete out[k];
    } else out[k] = v;
  }
  return out;
}

/** Dotted leaf paths with their values (arrays are leaves). */
export function leaves(tree: Tree, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [k, v] of Object.entries(tree)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (isPlainObject(v)) leaves(v, p, out);
    else if (v !== undefined) out.set(p, v);
  }
  return out;
}

/** Paths whose value differs between two trees (added and removed ones included), sorted. */
export function changedPaths(before: Tree, after: Tree): string[] {
  const a = leaves(before);
  const b = leaves(after);
  const changed = new Set<string>();
  for (const [p, v] of a) if (JSON.stringify(v) !== JSON.stringify(b.get(p))) changed.add(p);
  for (const p of b.keys()) if (!a.has(p)) changed.add(p);
  return [...changed].sort();
}

export function getPath(tree: Tree, path: string): unknown {
  let node: unknown = tree;
  for (const k of path.split('.')) {
    if (!isPlainObject(node)) return undefined;
    node = node[k];
  }
  return node;
}

export function setPath(tree: Tree, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = tree;
  for (const k of parts.slice(0, -1)) {
    if (!isPlainObject(node[k])) node[k] = {};
    node = node[k] as Tree;
  }
  node[parts[parts.length - 1]!] = value;
}
