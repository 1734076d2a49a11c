import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/shared/config.js';
import type { ProbeResult } from '../../../src/shared/settings-api.js';
import { loadConfig, writeSettingsFile } from '../../../src/main/config/load-config.js';
import { restartNeeds, SettingsRejected, SettingsService } from '../../../src/main/settings/index.js';

let dir: string;
const file = () => path.join(dir, 'settings.json');
const onDisk = () => JSON.parse(readFileSync(file(), 'utf8')) as Record<string, unknown>;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fav-settings-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function rejected(p: Promise<unknown>): Promise<SettingsRejected> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SettingsRejected);
  return err as SettingsRejected;
}

describe('SettingsService.save', () => {
  it('deep-merges a patch into settings.json, keeps the rest, and writes it 0600', async () => {
    writeSettingsFile(dir, { persona: { name: 'Mio' }, llm: { model: 'qwen2.5:7b', temperature: 0.4 } });
    const published: Config[] = [];
    const s = new SettingsService({ dataDir: dir, publish: async (c) => void published.push(c) });
    const r = await s.save({ llm: { temperature: 1.1 }, tts: { voice: 'slt' } });
    expect(onDisk()).toEqual({ persona: { name: 'Mio' }, llm: { model: 'qwen2.5:7b', temperature: 1.1 }, tts: { voice: 'slt' } });
    expect(statSync(file()).mode & 0o777).toBe(0o600);
    expect(r.changed).toEqual(['llm.temperature', 'tts.voice']);
    expect(s.current().llm.temperature).toBe(1.1);
    expect(published.map((c) => c.llm.temperature)).toEqual([1.1]);
    expect(r.view.settings.persona?.name).toBe('Mio');
    // A fresh service on the same folder (the app restarted) reads what was saved.
    expect(new SettingsService({ dataDir: dir }).current().tts.voice).toBe('slt');
  });

  it('null removes a key: back to its default', async () => {
    writeSettingsFile(dir, { llm: { model: 'm1', temperature: 0.2 }, port: 9001 });
    const s = new SettingsService({ dataDir: dir });
    const r = await s.save({ llm: { temperature: null }, port: null });
    expect(onDisk()).toEqual({ llm: { model: 'm1' } });
    expect(s.current().llm.temperature).toBe(0.7);
    expect(s.current().port).toBe(8000);
    expect(r.changed).toEqual(['llm.temperature', 'port']);
  });

  it('keeps a secret the patch leaves out, clears it with an empty string, and never shows it', async () => {
    writeSettingsFile(dir, { llm: { apiKey: 'sk-keep', model: 'gpt-4o-mini' } });
    const logs: string[] = [];
    const s = new SettingsService({ dataDir: dir, log: (_l, m) => void logs.push(m) });
    expect(s.view().secretsSet).toEqual(['llm.apiKey']);
    expect(JSON.stringify(s.view())).not.toContain('sk-keep');

    const kept = await s.save({ llm: { model: 'gpt-4o' } });
    expect((onDisk().llm as Record<string, unknown>).apiKey).toBe('sk-keep');
    expect(kept.view.secretsSet).toEqual(['llm.apiKey']);
    expect(kept.view.settings.llm?.apiKey).toBe('');

    const replaced = await s.save({ llm: { apiKey: 'sk-new' }, tts: { openai: { apiKey: 'tts-key' } } });
    expect(replaced.changed).toEqual(['llm.apiKey', 'tts.openai.apiKey']);
    expect(JSON.stringify(replaced)).not.toMatch(/sk-new|tts-key/);
    expect(s.current().llm.apiKey).toBe('sk-new');

    const cleared = await s.save({ llm: { apiKey: '' } });
    expect(onDisk().llm).toEqual({ model: 'gpt-4o' });
    expect(cleared.view.secretsSet).toEqual(['tts.openai.apiKey']);
    expect(s.current().llm.apiKey).toBeUndefined();
    expect(logs.join('\n')).not.toMatch(/sk-keep|sk-new|tts-key/);
    expect(logs.join('\n')).toContain('llm.apiKey');
  });

  it('refuses a bad value with the schema message and leaves the file byte for byte as it was', async () => {
    writeSettingsFile(dir, { llm: { temperature: 0.5 } });
    const before = readFileSync(file(), 'utf8');
    const published: Config[] = [];
    const s = new SettingsService({ dataDir: dir, publish: async (c) => void published.push(c) });
    const err = await rejected(s.save({ llm: { temperature: 5, baseUrl: 'not a url' }, persona: { name: 'ok' } }));
    expect(err.body().issues.map((i) => i.path).sort()).toEqual(['llm.baseUrl', 'llm.temperature']);
    expect(err.body().issues.find((i) => i.path === 'llm.temperature')?.message).toMatch(/<=\s*2/);
    expect(readFileSync(file(), 'utf8')).toBe(before);
    expect(s.current().llm.temperature).toBe(0.5);
    expect(published).toEqual([]);
  });

  it('refuses unknown keys, the data dir and a non-object, writing nothing', async () => {
    const s = new SettingsService({ dataDir: dir });
    const unknown = await rejected(s.save({ llm: { temprature: 1 }, colour: 'red' }));
    expect(unknown.body().issues).toEqual([
      { path: 'llm.temprature', message: "unknown setting 'llm.temprature'" },
      { path: 'colour', message: "unknown setting 'colour'" },
    ]);
    const dd = await rejected(s.save({ dataDir: '/elsewhere' }));
    expect(dd.body().issues[0]?.message).toMatch(/--data or FAV_DATA_DIR/);
    await rejected(s.save([1, 2]));
    expect(existsSync(file())).toBe(false);
    expect(s.view().firstRun).toBe(true);
  });

  it('checks an external Redis URL before saving it, and keeps the stored password when the masked URL comes back', async () => {
    const probed: string[] = [];
    let answer: ProbeResult = { ok: false, code: 'unreachable', error: 'nothing listens at 10.0.0.9:6379', fix: 'start Redis there' };
    const s = new SettingsService({ dataDir: dir, checkBus: async (url) => (probed.push(url), answer) });
    const err = await rejected(s.save({ redisUrl: 'redis://:pw@10.0.0.9:6379' }));
    expect(err.body().issues).toEqual([{ path: 'redisUrl', message: 'nothing listens at 10.0.0.9:6379: start Redis there' }]);
    expect(existsSync(file())).toBe(false);

    answer = { ok: true };
    const ok = await s.save({ redisUrl: 'redis://:pw@10.0.0.9:6379' });
    expect(ok.restart).toEqual({ services: [], app: ['redisUrl'] });
    expect(ok.view.settings.redisUrl).toBe('redis://***@10.0.0.9:6379');
    const again = await s.save({ redisUrl: 'redis://***@10.0.0.9:6379', persona: { name: 'Mio' } });
    expect(again.changed).toEqual(['persona.name']);
    expect(onDisk().redisUrl).toBe('redis://:pw@10.0.0.9:6379');
    expect(probed).toEqual(['redis://:pw@10.0.0.9:6379', 'redis://:pw@10.0.0.9:6379']);
  });

  it('reports paths locked by the environment or a flag, saves them to the file, and asks no restart for them', async () => {
    const { config, overrides } = loadConfig({ dataDir: dir, port: 9100 }, { FAV_LLM_MODEL: 'env-model' });
    const s = new SettingsService({ dataDir: dir, overrides, initial: config });
    expect(s.view().locked).toEqual({ port: 'cli', 'llm.model': 'env' });
    const r = await s.save({ llm: { model: 'file-model', temperature: 1 }, port: 9200 });
    expect(onDisk()).toEqual({ llm: { model: 'file-model', temperature: 1 }, port: 9200 });
    expect(s.current().llm.model).toBe('env-model');
    expect(s.current().port).toBe(9100);
    expect(r.changed).toEqual(['llm.model', 'llm.temperature', 'port']);
    expect(r.restart).toEqual({ services: ['chat-ai'], app: [] });
  });

  it('saves anyway and says what to do when the bus does not take the new settings', async () => {
    const s = new SettingsService({ dataDir: dir, publish: async () => Promise.reject(new Error('Connection is closed.')) });
    const r = await s.save({ persona: { name: 'Mio' } });
    expect(onDisk()).toEqual({ persona: { name: 'Mio' } });
    expect(r.warning).toMatch(/Connection is closed.*restart the app/);
  });

  it('runs saves one after another, each on the file the previous one wrote', async () => {
    const s = new SettingsService({ dataDir: dir });
    await Promise.all([s.save({ persona: { name: 'A' } }), s.save({ tts: { voice: 'v' } }), s.save({ llm: { temperature: 1.5 } })]);
    expect(onDisk()).toEqual({ persona: { name: 'A' }, tts: { voice: 'v' }, llm: { temperature: 1.5 } });
  });
});

describe('restartNeeds', () => {
  it('maps each changed path to the services that read it at start, or the app', () => {
    expect(restartNeeds(['llm.baseUrl'])).toEqual({ services: ['asr', 'chat-ai', 'long-term-memory', 'memory'], app: [] });
    expect(restartNeeds(['llm.temperature', 'persona.systemPrompt'])).toEqual({ services: ['chat-ai', 'memory'], app: [] });
    expect(restartNeeds(['asr.vad.minSilenceMs'])).toEqual({ services: ['asr'], app: [] });
    expect(restartNeeds(['asr.language'])).toEqual({ services: ['asr', 'input-handler'], app: [] });
    expect(restartNeeds(['tts.voice', 'memory.recallK'])).toEqual({ services: ['long-term-memory', 'memory', 'tts'], app: [] });
    expect(restartNeeds(['dialog.bargeIn', 'output.gapMs'])).toEqual({ services: ['dialog-engine', 'output-handler'], app: [] });
    expect(restartNeeds(['liveChat.connections', 'liveChat.arbiter.minGapMs'])).toEqual({ services: ['live-chat'], app: [] });
    expect(restartNeeds(['liveChat.moderation.bannedWords'])).toEqual({ services: ['chat-ai', 'live-chat'], app: [] });
    expect(restartNeeds(['input.maxBytes'])).toEqual({ services: ['asr', 'input-handler'], app: ['input.maxBytes'] });
    expect(restartNeeds(['port', 'bus.port', 'redisUrl', 'host', 'gateway.allowedHosts'])).toEqual({
      services: [],
      app: ['bus.port', 'gateway.allowedHosts', 'host', 'port', 'redisUrl'],
    });
    expect(restartNeeds(['tts.voice'], { 'tts.voice': 'env' })).toEqual({ services: [], app: [] });
  });
});
