import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, defaultDataDir, loadConfig, readSettingsFile, redactConfig, redactUrl, writeSettingsFile } from './load-config.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fav-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('loadConfig', () => {
  it('gives the defaults when nothing is set', () => {
    const { config, warnings } = loadConfig({ dataDir: dir }, {});
    expect(config.port).toBe(8000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.redisUrl).toBeUndefined();
    expect(config.bus.host).toBe('127.0.0.1');
    expect(config.asr.engine).toBe('pocketsphinx');
    expect(config.tts.engine).toBe('flite');
    expect(warnings).toEqual([]);
  });

  it('applies CLI > env > settings file > defaults', () => {
    writeSettingsFile(dir, { port: 9001, llm: { model: 'from-file', baseUrl: 'http://file:1/v1' }, tts: { engine: 'edge' } });
    const env = { FAV_PORT: '9002', FAV_LLM_MODEL: 'from-env' };
    const { config } = loadConfig({ dataDir: dir, port: 9003 }, env);
    expect(config.port).toBe(9003);
    expect(config.llm.model).toBe('from-env');
    expect(config.llm.baseUrl).toBe('http://file:1/v1');
    expect(config.tts.engine).toBe('edge');
    expect(loadConfig({ dataDir: dir }, env).config.port).toBe(9002);
    expect(loadConfig({ dataDir: dir }, {}).config.port).toBe(9001);
  });

  it('takes the data dir from FAV_DATA_DIR', () => {
    writeSettingsFile(dir, { port: 1234 });
    const { config } = loadConfig({}, { FAV_DATA_DIR: dir });
    expect(config.dataDir).toBe(path.resolve(dir));
    expect(config.port).toBe(1234);
  });

  it('rejects bad CLI and env values with every problem named', () => {
    expect(() => loadConfig({ dataDir: dir }, { FAV_PORT: 'eighty' })).toThrow(/FAV_PORT=eighty is not an integer/);
    expect(() => loadConfig({ dataDir: dir, port: 70000 }, { FAV_ASR_ENGINE: 'nope' })).toThrow(ConfigError);
    try {
      loadConfig({ dataDir: dir, port: 70000 }, { FAV_ASR_ENGINE: 'nope', FAV_REDIS_URL: 'http://x' });
    } catch (err) {
      expect((err as Error).message).toMatch(/port:/);
      expect((err as Error).message).toMatch(/asr\.engine:/);
      expect((err as Error).message).toMatch(/redisUrl: must start with redis:\/\//);
    }
  });
});

describe('settings file repair', () => {
  it('keeps a broken file as .bak and starts from defaults', () => {
    writeFileSync(path.join(dir, 'settings.json'), '{ "port": 80,, }');
    const { layer, warnings } = readSettingsFile(dir);
    expect(layer).toEqual({});
    expect(warnings[0]).toMatch(/not valid JSON/);
    expect(readFileSync(path.join(dir, 'settings.json.bak'), 'utf8')).toBe('{ "port": 80,, }');
    expect(JSON.parse(readFileSync(path.join(dir, 'settings.json'), 'utf8'))).toEqual({});
  });

  it('drops only the invalid fields and keeps the rest', () => {
    writeSettingsFile(dir, { port: 'x', llm: { model: 'kept' }, tts: { engine: 'bogus' } } as never);
    const { config, warnings } = loadConfig({ dataDir: dir }, {});
    expect(config.port).toBe(8000);
    expect(config.llm.model).toBe('kept');
    expect(config.tts.engine).toBe('flite');
    expect(warnings.join('\n')).toMatch(/ignored port/);
    expect(warnings.join('\n')).toMatch(/ignored tts\.engine/);
    expect(existsSync(path.join(dir, 'settings.json.bak'))).toBe(true);
    // The repaired file now loads without warnings.
    expect(loadConfig({ dataDir: dir }, {}).warnings).toEqual([]);
  });
});

describe('redaction and paths', () => {
  it('masks secrets and URL credentials', () => {
    const { config } = loadConfig({ dataDir: dir, redisUrl: 'redis://:hunter2@10.0.0.1:6379', llm: { apiKey: 'sk-secret' } }, {});
    const shown = JSON.stringify(redactConfig(config));
    expect(shown).not.toMatch(/hunter2|sk-secret/);
    expect(redactUrl('redis://user:pw@h:1/0')).toBe('redis://***@h:1/0');
    expect(redactUrl('redis://h:1')).toBe('redis://h:1');
  });

  it('uses the platform data folder', () => {
    expect(defaultDataDir({ XDG_DATA_HOME: '/xdg' }, 'linux')).toBe('/xdg/free-agent-vtuber');
    expect(defaultDataDir({ APPDATA: 'C:/Users/a/AppData/Roaming' }, 'win32')).toContain('free-agent-vtuber');
  });
});
