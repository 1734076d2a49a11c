/**
 * Checks over the studio's translations, used by test/renderer/i18n-catalogue.test.ts:
 *  - every locale has every key of the English catalogue, with the same {placeholders};
 *  - a translated message is not the English one left as it was;
 *  - templates of .vue files hold no user-visible English outside t(): text nodes and static
 *    user-facing attributes (title, label, placeholder, ...) are parsed with Vue's own compiler;
 *  - every static key passed to t()/translate() in the sources exists in English.
 * Names of products and formats (Live2D, OBS, Redis, ...) are not translated and are allowed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseSfc } from '@vue/compiler-sfc';

export type Messages = { [key: string]: string | Messages };

/** Flattens `{a: {b: 'x'}}` to `{'a.b': 'x'}`. */
export function flatten(m: Messages, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out[key] = v;
    else Object.assign(out, flatten(v, key));
  }
  return out;
}

export function placeholders(message: string): string[] {
  return [...message.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
}

/** Product, protocol and format names that stay as they are in every language. */
export const UNTRANSLATED_TERMS = [
  'Free-Agent-Vtuber', 'Live2D', 'Cubism', 'OBS', 'Redis', 'Ollama', 'LM Studio', 'llama.cpp', 'llama-server', 'OpenAI', 'DeepSeek',
  'OpenRouter', 'sherpa-onnx', 'SenseVoice', 'Whisper', 'Zipformer', 'pocketsphinx', 'flite', 'espeak-ng', 'eSpeak NG', 'Flite', 'Edge TTS', 'Edge', 'GPT-SoVITS',
  'Kokoro', 'WebSocket', 'HTTP', 'URL', 'API', 'ASR', 'TTS', 'LLM', 'VAD', 'WAV', 'MP3', 'MP4', 'WebM', 'Ogg', 'Opus',
  'JSON', 'CPU', 'PID', 'ID', 'Stream Deck', 'macOS', 'Windows', 'Linux', 'Electron', 'Chromium', 'Vtuber', 'VTuber',
  'Noto Sans', 'Enter', 'Esc', 'Space', 'Ctrl', 'Alt', 'Shift', 'GPU', 'WebGL', 'zip', 'ms', 'MB', 'KB', 'GB', 'fps', 'ok',
];

/**
 * Text with product names, code spans, URLs, paths, placeholders and `key=value` query examples cut
 * out. Each cut leaves a mark that is neither a letter nor a space, so words on either side of it do
 * not join into a phrase.
 */
export function wordsLeft(text: string): string {
  const CUT = '\u00a6';
  let s = text
    .replace(/`[^`]*`/g, CUT)
    .replace(/\{[^}]*\}(=\S*)?/g, CUT)
    .replace(/\b\w+:\/\/\S+/g, CUT)
    .replace(/\b[\w.-]+=[^\s\u3000-\u303f\uff00-\uffef]*/g, CUT)
    .replace(/(^|\s)[#?/.][\w./=#?&%-]*/g, CUT)
    .replace(/\b[\w-]+\.(json|zip|wav|onnx|txt|mjs|js)\b/gi, CUT);
  for (const term of UNTRANSLATED_TERMS) s = s.split(term).join(CUT);
  return s;
}

/**
 * A translation that still reads as English: two latin words joined by a space or an ASCII
 * punctuation mark, or a message that is one latin word. Latin words set apart by Chinese
 * punctuation (option names listed as `a、b、c`) are names, not prose.
 */
export function looksEnglish(text: string): boolean {
  const s = wordsLeft(text);
  return /[A-Za-z]{2,}[ ,.;:!?'-]+[A-Za-z]{2,}/.test(s) || /^[^A-Za-z\u3400-\u9fff]*[A-Za-z]{3,}[^A-Za-z\u3400-\u9fff]*$/.test(s);
}

export interface CatalogueProblem {
  locale: string;
  file: string;
  key: string;
  problem: string;
}

/** Compares each locale's namespace files with English. `dir` holds `<locale>/<namespace>.json`. */
export function checkCatalogues(dir: string, reference = 'en'): CatalogueProblem[] {
  const problems: CatalogueProblem[] = [];
  const locales = readdirSync(dir).filter((l) => l !== reference);
  const read = (locale: string, file: string): Record<string, string> =>
    flatten(JSON.parse(readFileSync(path.join(dir, locale, file), 'utf8')) as Messages);
  for (const file of readdirSync(path.join(dir, reference))) {
    const en = read(reference, file);
    for (const locale of locales) {
      let other: Record<string, string>;
      try {
        other = read(locale, file);
      } catch {
        problems.push({ locale, file, key: '', problem: 'file missing or not JSON' });
        continue;
      }
      for (const [key, english] of Object.entries(en)) {
        const msg = other[key];
        if (msg === undefined) problems.push({ locale, file, key, problem: 'missing' });
        else if (placeholders(msg).join() !== placeholders(english).join()) problems.push({ locale, file, key, problem: `placeholders ${placeholders(msg)} vs ${placeholders(english)}` });
        else if (looksEnglish(msg)) problems.push({ locale, file, key, problem: `untranslated: "${msg}"` });
      }
      for (const key of Object.keys(other)) if (!(key in en)) problems.push({ locale, file, key, problem: 'not in English (stale?)' });
    }
  }
  for (const locale of locales) {
    for (const file of readdirSync(path.join(dir, locale))) {
      if (!readdirSync(path.join(dir, reference)).includes(file)) problems.push({ locale, file, key: '', problem: 'no English file' });
    }
  }
  return problems;
}

/** Attributes whose static value the user reads. */
const USER_ATTRIBUTES = new Set(['title', 'label', 'placeholder', 'hint', 'text', 'subtitle', 'aria-label', 'alt', 'prefix', 'suffix', 'messages', 'loading-text', 'no-data-text']);

interface TemplateNode {
  type: number;
  content?: string;
  name?: string;
  value?: { content: string };
  props?: TemplateNode[];
  children?: TemplateNode[];
  loc: { start: { line: number } };
}

/** User-visible English in a .vue file's template: `line: text` for each. */
export function englishInTemplate(source: string, filename = 'x.vue'): string[] {
  const { descriptor, errors } = parseSfc(source, { filename });
  if (errors.length > 0) return [`parse error: ${String(errors[0])}`];
  const ast = descriptor.template?.ast as unknown as TemplateNode | undefined;
  if (!ast) return [];
  const found: string[] = [];
  const visit = (node: TemplateNode) => {
    // 2: text. Elements (1) with their static attributes (6).
    if (node.type === 2 && node.content && looksLikeWords(node.content)) found.push(`${node.loc.start.line}: ${node.content.trim()}`);
    if (node.type === 1) {
      for (const p of node.props ?? []) {
        if (p.type === 6 && p.name && USER_ATTRIBUTES.has(p.name) && p.value && looksLikeWords(p.value.content)) {
          found.push(`${p.loc.start.line}: ${p.name}="${p.value.content}"`);
        }
      }
    }
    for (const c of node.children ?? []) visit(c);
  };
  visit(ast);
  return found;
}

function looksLikeWords(text: string): boolean {
  return /[A-Za-z]{2,}/.test(wordsLeft(text));
}

/**
 * Static namespaced keys given to t('ns.key') / translate('ns.key') / te('ns.key') in a source file,
 * comments left out. A key without a dot is some local helper's own (strings.ts prefixes its keys).
 */
export function staticKeys(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/^\s*\/\/.*$/gm, ' ');
  return [...code.matchAll(/\b(?:t|translate|te)\(\s*'([\w-]+\.[\w.-]+)'/g)].map((m) => m[1]);
}

export function listFiles(dir: string, ext: RegExp): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(p, ext));
    else if (ext.test(entry.name)) out.push(p);
  }
  return out;
}
