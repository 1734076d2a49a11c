import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, defaultDataDir, loadConfig, lockedPaths, readSettingsFile, redactConfig, redactUrl, writeSettingsFile } from './load-config.js';

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

describe('settings file: what a user may have put there', () => {
  const file = () => path.join(dir, 'settings.json');

  it('accepts a UTF-8 byte order mark (Notepad, PowerShell) and leaves the file alone', () => {
    const text = '\uFEFF' + JSON.stringify({ port: 9100, persona: { name: 'Mio' } });
    writeFileSync(file(), text, 'utf8');
    const { config, warnings } = loadConfig({ dataDir: dir }, {});
    expect(warnings).toEqual([]);
    expect(config.port).toBe(9100);
    expect(config.persona.name).toBe('Mio');
    expect(readFileSync(file(), 'utf8')).toBe(text);
    expect(readdirSync(dir)).toEqual(['settings.json']);
  });

  it('starts from defaults when a folder stands where the file should be, and writes nothing', () => {
    mkdirSync(file());
    writeFileSync(path.join(file(), 'inside.txt'), 'the user\'s');
    const { config, warnings } = loadConfig({ dataDir: dir }, {});
    expect(config.port).toBe(8000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(file());
    expect(warnings[0]).toMatch(/is a folder.*rename or remove it.*defaults/);
    expect(statSync(file()).isDirectory()).toBe(true);
    expect(readdirSync(file())).toEqual(['inside.txt']);
    expect(readdirSync(dir)).toEqual(['settings.json']);
    // Saving names the obstacle instead of failing with a bare EISDIR, and leaves no temp file.
    expect(() => writeSettingsFile(dir, { port: 1 })).toThrow(/settings\.json is in the way.*rename or remove it/);
    expect(readdirSync(dir)).toEqual(['settings.json']);
  });

  it('never overwrites an earlier backup: the original stays in settings.json.bak', () => {
    writeFileSync(file(), '{ "the": "original", }');
    expect(readSettingsFile(dir).warnings[0]).toMatch(/kept it as settings\.json\.bak and/);
    writeFileSync(file(), '{ "second": broken }');
    const second = readSettingsFile(dir).warnings[0];
    writeFileSync(file(), JSON.stringify({ port: 'third' }));
    const third = readSettingsFile(dir).warnings.join('\n');
    expect(readFileSync(path.join(dir, 'settings.json.bak'), 'utf8')).toBe('{ "the": "original", }');
    const secondCopy = /kept it as (settings\.json\.bak-\S+) and/.exec(second)?.[1] ?? 'missing';
    const thirdCopy = /original is kept as (settings\.json\.bak-\S+)/.exec(third)?.[1] ?? 'missing';
    expect(thirdCopy).not.toBe(secondCopy);
    expect(readFileSync(path.join(dir, secondCopy), 'utf8')).toBe('{ "second": broken }');
    expect(readFileSync(path.join(dir, thirdCopy), 'utf8')).toBe(JSON.stringify({ port: 'third' }));
    expect(JSON.parse(readFileSync(file(), 'utf8'))).toEqual({});
  });
});

describe('redaction and paths', () => {
  it('masks secrets and URL credentials', () => {
    const { config } = loadConfig(
      {
        dataDir: dir,
        redisUrl: 'redis://:hunter2@10.0.0.1:6379',
        llm: { apiKey: 'sk-secret' },
        asr: { openai: { apiKey: 'asr-secret' } },
        tts: { openai: { apiKey: 'tts-secret' } },
        memory: { embedder: { engine: 'openai', apiKey: 'embed-secret' } },
      },
      {},
    );
    const shown = JSON.stringify(redactConfig(config));
    expect(shown).not.toMatch(/hunter2|sk-secret|asr-secret|tts-secret|embed-secret/);
    expect(redactConfig(config).tts.openai.apiKey).toBe('***');
    expect(redactConfig(config).memory.embedder.apiKey).toBe('***');
    expect(redactUrl('redis://user:pw@h:1/0')).toBe('redis://***@h:1/0');
    expect(redactUrl('redis://h:1')).toBe('redis://h:1');
  });

  it('names the paths the environment and the CLI fix, a flag over a variable', () => {
    const { overrides } = loadConfig({ dataDir: dir, port: 9100, llm: { model: 'cli-model' } }, { FAV_PORT: '9000', FAV_LLM_BASE_URL: 'http://e:1/v1', FAV_DATA_DIR: dir });
    expect(lockedPaths(overrides)).toEqual({ port: 'cli', 'llm.model': 'cli', 'llm.baseUrl': 'env' });
  });

  it('uses the platform data folder', () => {
    expect(defaultDataDir({ XDG_DATA_HOME: '/xdg' }, 'linux')).toBe('/xdg/free-agent-vtuber');
    expect(defaultDataDir({ APPDATA: 'C:/Users/a/AppData/Roaming' }, 'win32')).toContain('free-agent-vtuber');
  });
});
