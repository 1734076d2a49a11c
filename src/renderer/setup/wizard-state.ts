/**
 * The first-run wizard's choices and what they become: one settings patch for PUT /api/settings.
 * Also which engines work offline, so the page can say so next to each. Pure (no DOM), tested alone.
 */
import { LLM_PRESETS, type TTS_ENGINES } from '../../shared/config.js';
import type { DetectedLlm, SettingsPatch } from '../../shared/settings-api.js';

export type Preset = keyof typeof LLM_PRESETS;
export type TtsEngine = (typeof TTS_ENGINES)[number];
export const PRESETS = Object.keys(LLM_PRESETS) as Preset[];

export interface LlmChoice {
  preset: Preset;
  baseUrl: string;
  model: string;
  /** '' = none (local servers need none). */
  apiKey: string;
}

export interface VoiceChoice {
  engine: TtsEngine;
  /** '' = the engine's default voice. */
  voice: string;
}

/** Where something runs: on this computer without a network, or a server it needs. */
export type Reach = 'offline' | 'internet' | 'server';

/** Local presets run on this machine; the others are cloud services; `custom` is whatever the URL says. */
export function llmReach(choice: Pick<LlmChoice, 'preset' | 'baseUrl'>): Reach {
  if (choice.preset === 'ollama' || choice.preset === 'lmstudio' || choice.preset === 'llamacpp') return 'offline';
  if (choice.preset === 'custom') return isLoopback(choice.baseUrl) ? 'offline' : 'server';
  return 'internet';
}

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
  } catch {
    return false;
  }
}

/** flite and espeak-ng synthesise on this computer; Edge TTS is Microsoft's online service; the others are servers you run. */
export const TTS_REACH: Record<TtsEngine, Reach> = { flite: 'offline', 'espeak-ng': 'offline', edge: 'internet', openai: 'server', 'gpt-sovits': 'server' };

/** Voices to offer when the core does not list them (the engines' built-in names). */
export const KNOWN_VOICES: Record<TtsEngine, string[]> = {
  flite: ['slt', 'kal16', 'rms', 'awb', 'kal'],
  'espeak-ng': ['en-us', 'en', 'cmn'],
  edge: ['en-US-AriaNeural', 'en-US-GuyNeural', 'zh-CN-XiaoxiaoNeural', 'zh-CN-YunxiNeural'],
  openai: ['af_heart', 'alloy'],
  'gpt-sovits': [],
};

export function choiceFromDetected(d: DetectedLlm, model?: string): LlmChoice {
  return { preset: d.preset, baseUrl: d.baseUrl, model: model ?? d.models[0] ?? '', apiKey: '' };
}

function sameUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

/** What the wizard saves. The base URL only when it is not the preset's own; the key only when typed. */
export function settingsPatch(llm: LlmChoice, voice: VoiceChoice): SettingsPatch {
  const baseUrl = llm.baseUrl.trim();
  const llmPatch: Record<string, unknown> = { preset: llm.preset };
  if (baseUrl && !sameUrl(baseUrl, LLM_PRESETS[llm.preset].baseUrl)) llmPatch.baseUrl = baseUrl;
  else llmPatch.baseUrl = null;
  if (llm.model.trim()) llmPatch.model = llm.model.trim();
  if (llm.apiKey) llmPatch.apiKey = llm.apiKey;
  return { llm: llmPatch, tts: { engine: voice.engine, voice: voice.voice.trim() } };
}

/** The probe for the LLM test and model list: the form's values (a blank key: the saved one). */
export function llmProbe(llm: LlmChoice): { preset: Preset; baseUrl?: string; model?: string; apiKey?: string } {
  return {
    preset: llm.preset,
    ...(llm.baseUrl.trim() ? { baseUrl: llm.baseUrl.trim() } : {}),
    ...(llm.model.trim() ? { model: llm.model.trim() } : {}),
    ...(llm.apiKey ? { apiKey: llm.apiKey } : {}),
  };
}
