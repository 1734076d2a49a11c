/**
 * The studio speaks English and Simplified Chinese everywhere: every key of every English catalogue
 * exists in zh-CN with the same placeholders and is translated; no .vue template shows English
 * outside t(); every static key the sources ask for exists. The checker is first shown to catch
 * each kind of problem on small inputs, then run over the real tree.
 */
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkCatalogues, englishInTemplate, flatten, listFiles, looksEnglish, staticKeys, type Messages } from '../helpers/i18n-check.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const renderer = path.join(root, 'src/renderer');
const locales = path.join(renderer, 'i18n/locales');

describe('the checker', () => {
  it('finds a missing key, a changed placeholder, an untranslated message and a stale key', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fav-i18n-'));
    mkdirSync(path.join(dir, 'en'));
    mkdirSync(path.join(dir, 'zh-CN'));
    writeFileSync(path.join(dir, 'en/a.json'), JSON.stringify({ x: 'Hello {name}', y: { z: 'Save the file' }, w: 'Open OBS', v: 'Stop' }));
    writeFileSync(path.join(dir, 'zh-CN/a.json'), JSON.stringify({ x: '你好 {user}', y: { z: 'Save the file' }, w: '打开 OBS', old: '旧' }));
    const problems = checkCatalogues(dir).map((p) => `${p.key}: ${p.problem.split(' ')[0]}`);
    expect(problems.sort()).toEqual(['old: not', 'v: missing', 'x: placeholders', 'y.z: untranslated:']);
  });

  it('tells English from Chinese with product names and code in it', () => {
    expect(looksEnglish('启动 Ollama（`ollama serve`）并检查 URL')).toBe(false);
    expect(looksEnglish('Live2D 模型')).toBe(false);
    expect(looksEnglish('Start talking')).toBe(true);
    expect(looksEnglish('Settings')).toBe(true);
    // Option names listed with Chinese punctuation are names; joined by spaces they are prose.
    expect(looksEnglish('请用 transparent、green（#00FF00）或 bg=00B140')).toBe(false);
    expect(looksEnglish('请用 transparent, green or magenta')).toBe(true);
  });

  it('finds English text and static attributes in a template, not bound ones or t() calls', () => {
    const sfc = `<template><div title="Open the file"><span>{{ t('a.b') }}</span> Save now <v-btn :title="t('x')" label="OBS" />Cubism {{ n }}</div></template>`;
    expect(englishInTemplate(sfc)).toEqual(['1: title="Open the file"', '1: Save now']);
  });

  it('reads static keys from t() and translate()', () => {
    expect(staticKeys("t('app.title'); translate('talk.send', { a }); t(`x.${y}`); t('local')\n/** t('in.comment') */")).toEqual(['app.title', 'talk.send']);
  });
});

describe('the real catalogues and templates', () => {
  it('zh-CN has every English key, with its placeholders, translated', () => {
    expect(checkCatalogues(locales)).toEqual([]);
  });

  it('no .vue template shows English outside t()', () => {
    const found: string[] = [];
    for (const file of listFiles(renderer, /\.vue$/)) {
      for (const hit of englishInTemplate(readFileSync(file, 'utf8'), file)) found.push(`${path.relative(root, file)}:${hit}`);
    }
    expect(found).toEqual([]);
  });

  it('every static key the renderer asks for exists in English', () => {
    const en: Record<string, string> = {};
    for (const file of listFiles(path.join(locales, 'en'), /\.json$/)) {
      const ns = path.basename(file, '.json');
      Object.assign(en, flatten({ [ns]: JSON.parse(readFileSync(file, 'utf8')) as Messages }));
    }
    const missing: string[] = [];
    for (const file of listFiles(renderer, /\.(vue|ts)$/)) {
      for (const key of staticKeys(readFileSync(file, 'utf8'))) {
        // A key may name a whole group (t('talk.states') is not used; a prefix passed on is).
        if (!(key in en) && !Object.keys(en).some((k) => k.startsWith(`${key}.`))) missing.push(`${path.relative(root, file)}: ${key}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
