import { describe, expect, it } from 'vitest';
import { ConfigSchema, TTS_ENGINES } from '../../shared/config.js';
import { choiceFromDetected, KNOWN_VOICES, llmProbe, llmReach, settingsPatch, TTS_REACH } from './wizard-state.js';

describe('first-run wizard choices', () => {
  it('saves a detected server on its usual port without a base URL, and one on another port with it', () => {
    const usual = choiceFromDetected({ preset: 'ollama', baseUrl: 'http://127.0.0.1:11434/v1', models: ['qwen2.5:7b', 'llama3.2'] });
    expect(settingsPatch(usual, { engine: 'flite', voice: 'slt' })).toEqual({
      llm: { preset: 'ollama', baseUrl: null, model: 'qwen2.5:7b' },
      tts: { engine: 'flite', voice: 'slt' },
    });
    const moved = choiceFromDetected({ preset: 'ollama', baseUrl: 'http://127.0.0.1:41234/v1', models: ['m'] }, 'm');
    expect(settingsPatch(moved, { engine: 'edge', voice: ' zh-CN-XiaoxiaoNeural ' })).toEqual({
      llm: { preset: 'ollama', baseUrl: 'http://127.0.0.1:41234/v1', model: 'm' },
      tts: { engine: 'edge', voice: 'zh-CN-XiaoxiaoNeural' },
    });
  });

  it('sends a key only when one was typed', () => {
    const cloud = { preset: 'deepseek' as const, baseUrl: 'https://api.deepseek.com/v1/', model: 'deepseek-chat', apiKey: 'sk-1' };
    expect(settingsPatch(cloud, { engine: 'flite', voice: '' }).llm).toEqual({ preset: 'deepseek', baseUrl: null, model: 'deepseek-chat', apiKey: 'sk-1' });
    expect(llmProbe({ ...cloud, apiKey: '' })).toEqual({ preset: 'deepseek', baseUrl: 'https://api.deepseek.com/v1/', model: 'deepseek-chat' });
  });

  it('produces patches the config schema accepts (nulls removed)', () => {
    const patch = settingsPatch(choiceFromDetected({ preset: 'lmstudio', baseUrl: 'http://127.0.0.1:5555/v1', models: ['x'] }), { engine: 'espeak-ng', voice: 'en-us' });
    const llm = Object.fromEntries(Object.entries(patch.llm as Record<string, unknown>).filter(([, v]) => v !== null));
    expect(ConfigSchema.safeParse({ dataDir: '/tmp/x', llm, tts: patch.tts }).success).toBe(true);
  });

  it('says where each choice runs', () => {
    expect(llmReach({ preset: 'ollama', baseUrl: '' })).toBe('offline');
    expect(llmReach({ preset: 'openai', baseUrl: '' })).toBe('internet');
    expect(llmReach({ preset: 'custom', baseUrl: 'http://127.0.0.1:9000/v1' })).toBe('offline');
    expect(llmReach({ preset: 'custom', baseUrl: 'http://gpu-box.lan:9000/v1' })).toBe('server');
    expect(TTS_REACH.flite).toBe('offline');
    expect(TTS_REACH['espeak-ng']).toBe('offline');
    expect(TTS_REACH.edge).toBe('internet');
    // Every engine of the schema has a reach and a voice list.
    for (const e of TTS_ENGINES) {
      expect(TTS_REACH[e]).toBeDefined();
      expect(KNOWN_VOICES[e]).toBeDefined();
    }
  });
});
