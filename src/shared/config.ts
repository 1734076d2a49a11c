/**
 * The configuration schema: one source of truth for the CLI, the environment, the settings file and
 * the studio's settings page. Precedence (highest first): CLI flags > FAV_* environment variables >
 * settings file in the data dir > defaults (see src/main/config/load-config.ts).
 */
import { z } from 'zod';

export const ASR_ENGINES = ['pocketsphinx', 'sherpa-onnx', 'openai'] as const;
export const TTS_ENGINES = ['flite', 'edge', 'openai', 'gpt-sovits', 'espeak-ng'] as const;

const port = z.number().int().min(0).max(65535);

export const ConfigSchema = z.object({
  /** Gateway HTTP/WebSocket port (the seed's 8000). */
  port: port.default(8000),
  /** Gateway bind address. Loopback by default; anything else is an explicit user choice. */
  host: z.string().min(1).default('127.0.0.1'),
  /** External Redis URL. When set, no embedded bus starts. */
  redisUrl: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .optional(),
  /** Where settings, logs, the bus snapshot and memory live. */
  dataDir: z.string().min(1),
  bus: z
    .object({
      /** Embedded bus port; 0 picks a free one (the app passes the URL to its workers). */
      port: port.default(0),
      host: z.string().min(1).default('127.0.0.1'),
      /** Embedded bus password; generated per run when absent. */
      password: z.string().min(1).optional(),
      /** Keep the bus contents across restarts (snapshot in the data dir). */
      snapshot: z.boolean().default(true),
    })
    .prefault({}),
  llm: z
    .object({
      baseUrl: z.string().url().default('http://127.0.0.1:11434/v1'),
      model: z.string().min(1).default('qwen2.5:7b'),
      apiKey: z.string().optional(),
    })
    .prefault({}),
  asr: z.object({ engine: z.enum(ASR_ENGINES).default('pocketsphinx') }).prefault({}),
  tts: z.object({ engine: z.enum(TTS_ENGINES).default('flite') }).prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;
/** What a settings file or a layer of overrides may hold: any subset. */
export type ConfigInput = z.input<typeof ConfigSchema>;

/** The environment variables the app reads, mapped to config paths. */
export const ENV_KEYS = {
  FAV_PORT: 'port',
  FAV_HOST: 'host',
  FAV_REDIS_URL: 'redisUrl',
  FAV_DATA_DIR: 'dataDir',
  FAV_BUS_PORT: 'bus.port',
  FAV_BUS_PASSWORD: 'bus.password',
  FAV_LLM_BASE_URL: 'llm.baseUrl',
  FAV_LLM_MODEL: 'llm.model',
  FAV_LLM_API_KEY: 'llm.apiKey',
  FAV_ASR_ENGINE: 'asr.engine',
  FAV_TTS_ENGINE: 'tts.engine',
} as const;

/** Config paths whose values are secrets: never logged, never sent to the renderer in clear. */
export const SECRET_PATHS = ['bus.password', 'llm.apiKey'] as const;
