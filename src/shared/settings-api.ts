/**
 * The studio's settings API: what `GET/PUT /api/settings` and the setup endpoints exchange. The
 * settings page, the first-run wizard and the speech section all write through `PUT /api/settings`;
 * the one config schema (config.ts) validates on both sides: the page with the user's locale for its
 * messages, the gateway again before anything is written. Imports nothing of ours but config.ts.
 */
import type { ConfigInput } from './config.js';

export const SettingsPaths = {
  /** GET (token): SettingsView. PUT (token) SettingsPatch: SaveResult, or 400 SettingsRejection. */
  settings: '/api/settings',
  /** POST (token) LlmProbe: LlmModelsResult, the endpoint's `/v1/models` list. */
  llmModels: '/api/settings/llm/models',
  /** POST (token) LlmProbe: LlmTestResult, one short prompt streamed, time to first token. */
  llmTest: '/api/settings/llm/test',
  /** POST (token) { redisUrl }: ProbeResult, connects and PINGs before the URL may be saved. */
  busTest: '/api/settings/bus/test',
  /** POST (token) { services: string[] }: restarts those services so they read the new settings. */
  restart: '/api/settings/restart',
  /** GET (token): SetupState, whether this is a first run, and the local LLM servers found. */
  setup: '/api/setup',
  /** POST (token) { engine, voice, text, rate? }: audio/wav of that voice (settings unsaved). */
  ttsPreview: '/api/speech/tts/preview',
  /** GET (token): the TTS engines' voices, by engine. */
  ttsVoices: '/api/speech/tts/voices',
  /** GET (token): SpeechModelView[]; POST .../:name/download starts, DELETE .../:name/download cancels, DELETE .../:name removes. */
  speechModels: '/api/speech/models',
} as const;

/** A settings tree as the page sees it: the resolved config, secrets blanked. */
export type SettingsTree = Omit<ConfigInput, 'dataDir'>;

export interface SettingsView {
  /** The resolved settings (defaults filled in). Secret fields are '' whether set or not. */
  settings: SettingsTree;
  /** Secret paths (config.ts SECRET_PATHS) that hold a value: the page shows "set" and never the value. */
  secretsSet: string[];
  /** Dotted paths fixed by a FAV_* variable or a CLI flag: saving them changes the file, not this run. */
  locked: Record<string, 'env' | 'cli'>;
  /** True until settings.json exists (the first run). */
  firstRun: boolean;
  dataDir: string;
}

/**
 * A partial settings tree, deep-merged into settings.json. `null` removes a key (back to its
 * default). A secret left out keeps its stored value; '' clears it.
 */
export type SettingsPatch = Record<string, unknown>;

/** Where the saved settings take effect. */
export interface RestartNeeds {
  /** Services that read the changed settings at start: restart them (POST restart) to apply. */
  services: string[];
  /** Changed settings that only a restart of the whole app applies (ports, bus, data dir). */
  app: string[];
}

export interface SaveResult {
  view: SettingsView;
  /** Dotted paths that changed. */
  changed: string[];
  restart: RestartNeeds;
  /** Saved, but something after the write failed (the bus did not take the new settings): what to do. */
  warning?: string;
}

/** 400 answer of PUT /api/settings: nothing was written. */
export interface SettingsRejection {
  error: string;
  issues: Array<{ path: string; message: string }>;
}

/** The LLM endpoint to probe: unsaved values from the form, over the saved ones. */
export interface LlmProbe {
  preset?: string;
  baseUrl?: string;
  model?: string;
  /** Omitted: the saved key is used. */
  apiKey?: string;
}

/** A failure the page can show: what happened and what to do about it. */
export interface ProbeFailure {
  ok: false;
  /**
   * Stable code: a ProbeCode from the LLM and bus probes (unreachable, unauthorized, not_found,
   * timeout, bad_response, model_missing, bad_url, rate_limited, http_error); the speech routes
   * answer with codes of their own (tts_not_running, bus_unreachable, bad_request, a worker's code).
   */
  code: string;
  error: string;
  fix: string;
  /** Values the page puts into its translated fix (url, models, status, preset). */
  params?: Record<string, string>;
}

export type ProbeCode =
  | 'unreachable'
  | 'unauthorized'
  | 'not_found'
  | 'timeout'
  | 'bad_response'
  | 'model_missing'
  | 'bad_url'
  | 'rate_limited'
  | 'http_error';

export type ProbeResult = { ok: true } | ProbeFailure;
export type LlmModelsResult = { ok: true; baseUrl: string; models: string[] } | ProbeFailure;
export type LlmTestResult = { ok: true; model: string; firstTokenMs: number; totalMs: number; text: string } | ProbeFailure;

/** A local LLM server found on its usual port. */
export interface DetectedLlm {
  preset: 'ollama' | 'lmstudio' | 'llamacpp';
  baseUrl: string;
  models: string[];
}

/** A local LLM server that was probed and not found, and why (for the first-run page). */
export interface MissedLlm {
  preset: DetectedLlm['preset'];
  baseUrl: string;
  /** unreachable | timeout | bad_response | http_error */
  code: string;
  reason: string;
}

export interface SetupState {
  firstRun: boolean;
  detected: DetectedLlm[];
  /** The probed servers that did not answer like an LLM server. Absent when not probed (`?detect=0`). */
  notFound?: MissedLlm[];
}

export interface SpeechModelView {
  name: string;
  /** What it recognises, for the picker. */
  languages: string;
  /** Archive size, bytes, when known. */
  sizeBytes?: number;
  state: 'absent' | 'downloading' | 'installed' | 'broken';
  /** While downloading. */
  progress?: { receivedBytes: number; totalBytes?: number };
  error?: string;
  /** The model asr.sherpa.model names (deleting it is refused). */
  active?: boolean;
  /** Bytes of an interrupted download kept for a resume. */
  partialBytes?: number;
  /** With `error`: what to do about it. */
  fix?: string;
  /** With `error`: a stable code the page translates (broken, download_failed). */
  code?: string;
}

/** GET ttsVoices: each engine's voices and what it needs to run. */
export interface TtsVoicesView {
  engines: Array<{
    engine: string;
    defaultVoice: string;
    voices: string[];
    /** Any other voice name may be typed. */
    freeText: boolean;
    /** none: runs here offline; server: its server (URL in the settings); internet: a cloud service. */
    network: 'none' | 'server' | 'internet';
    problem?: string;
  }>;
}

/** The body of POST ttsPreview. */
export interface TtsPreviewRequest {
  engine: string;
  voice: string;
  text: string;
  rate?: number;
}
