/**
 * The configuration schema: one source of truth for the CLI, the environment, the settings file and
 * the studio's settings page. Precedence (highest first): CLI flags > FAV_* environment variables >
 * settings file in the data dir > defaults (see src/main/config/load-config.ts).
 */
import { z } from 'zod';
import { parseAccelerator } from './accelerator.js';
import { CHAT_PLATFORMS } from './live-chat.js';

export const ASR_ENGINES = ['pocketsphinx', 'sherpa-onnx', 'openai'] as const;
export const TTS_ENGINES = ['flite', 'edge', 'openai', 'gpt-sovits', 'espeak-ng'] as const;

const port = z.number().int().min(0).max(65535);

/** A hotkey as an accelerator string ("F8", "CommandOrControl+Shift+M"); '' = none. */
const hotkey = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .superRefine((v, ctx) => {
      if (v === '') return;
      const r = parseAccelerator(v);
      if ('error' in r) ctx.addIssue({ code: 'custom', message: r.error });
    });

/** One persona the control API can switch to (`persona` is always one of them, and the default). */
export const PersonaEntry = z.object({
  name: z.string().min(1),
  /** `{name}` is replaced by the persona's name. */
  systemPrompt: z.string().min(1),
});
export type PersonaEntry = z.infer<typeof PersonaEntry>;

/** One live-chat connection (several at once, any mix of platforms). */
export const ChatConnection = z.object({
  /** Stable id (names the connection in the feed, the status and the message ids). */
  id: z
    .string()
    .min(1)
    .regex(/^[a-z0-9][a-z0-9_-]*$/i, 'letters, digits, - and _ only'),
  platform: z.enum(CHAT_PLATFORMS),
  /**
   * What to read: a Twitch channel login ("shroud"), a YouTube video id / watch URL / channel
   * (@handle or UC... id: its current live stream), a Bilibili room id.
   */
  channel: z.string().trim().min(1),
  enabled: z.boolean().default(true),
  /**
   * Twitch: an OAuth user token (chat:read chat:edit) to post replies; without one the channel is
   * read anonymously. Bilibili: the SESSDATA cookie (without it Bilibili hides viewer names). A secret.
   */
  token: z.string().optional(),
  /** Twitch: the account the token belongs to (login). */
  username: z.string().optional(),
  /** Post the avatar's answers back into the chat (Twitch with a token). */
  postReplies: z.boolean().default(false),
  /**
   * Where the platform is reached, for a proxy or a local stand-in: Twitch's IRC WebSocket URL,
   * YouTube's origin, Bilibili's API origin. Unset: the platform's own.
   */
  endpoint: z.string().url().optional(),
});
export type ChatConnection = z.infer<typeof ChatConnection>;

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
      /** A known server; fills baseUrl when baseUrl is not given (see LLM_PRESETS). */
      preset: z.enum(['ollama', 'lmstudio', 'llamacpp', 'openai', 'deepseek', 'openrouter', 'custom']).default('ollama'),
      /** Overrides the preset's URL. Resolve with resolveLlm(). */
      baseUrl: z.string().url().optional(),
      /** Overrides the preset's default model. */
      model: z.string().min(1).optional(),
      apiKey: z.string().optional(),
      temperature: z.number().min(0).max(2).default(0.7),
      maxTokens: z.number().int().positive().default(512),
      /** No first token within this long: the turn fails with llm_timeout. */
      firstTokenTimeoutMs: z.number().int().positive().default(20_000),
      /** A stream that stalls this long between tokens fails with llm_timeout. */
      idleTimeoutMs: z.number().int().positive().default(20_000),
    })
    .prefault({}),
  persona: z
    .object({
      name: z.string().min(1).default('Aria'),
      /** The system prompt. `{name}` is replaced by the persona's name. */
      systemPrompt: z
        .string()
        .default(
          'You are {name}, a cheerful AI VTuber streaming live. Answer in one to three short spoken sentences, ' +
            'in the language the viewer uses. You may start a sentence with one emotion tag such as [joy], [sad], ' +
            '[angry], [surprised], [shy] or [thinking]. Do not use markdown, lists or emoji.',
        ),
    })
    .prefault({}),
  /**
   * More personas to switch to live (control API `persona`, by name). The `persona` above is always
   * available too and is the one in use until a switch; an entry with its name replaces it.
   */
  personas: z.array(PersonaEntry).default([]),
  /**
   * Hotkeys: global shortcuts in the desktop app, page hotkeys in the browser studio. F7-F10 by
   * default: OBS binds no hotkey by default, and these avoid the browsers' F5 (reload) and F11
   * (full screen). '' turns one off.
   */
  hotkeys: z
    .object({
      /** Hold to talk in the browser studio; in the desktop app (no key-up there) press to start, press again to stop. */
      pushToTalk: hotkey('F8'),
      /** Mute / unmute the studio's microphone. */
      mute: hotkey('F9'),
      /** Stop the current reply. */
      stop: hotkey('F10'),
      /** Drop the inputs waiting behind the current reply. */
      skip: hotkey('F7'),
      /** Push-to-talk mode: the mic sends only while the push-to-talk key is held. */
      pushToTalkMode: z.boolean().default(false),
    })
    .prefault({}),
  asr: z
    .object({
      engine: z.enum(ASR_ENGINES).default('pocketsphinx'),
      /** Language hint: '' = the engine's default / auto-detect; e.g. 'en', 'zh'. */
      language: z.string().default(''),
      vad: z
        .object({
          /** Silero speech probability threshold. */
          threshold: z.number().min(0.05).max(0.95).default(0.5),
          /** Silence that ends an utterance, ms (the issue's target: <= 300). */
          minSilenceMs: z.number().int().min(50).max(3000).default(300),
          /** Speech shorter than this is ignored (coughs, clicks), ms. */
          minSpeechMs: z.number().int().min(0).max(2000).default(150),
          /** An utterance is cut at this length, ms. */
          maxSpeechMs: z.number().int().min(1000).max(120_000).default(30_000),
        })
        .prefault({}),
      sherpa: z
        .object({
          /** Which model to use: SenseVoice (zh/en/ja/ko/yue), Whisper tiny/base, or a streaming Zipformer. */
          model: z.enum(['sense-voice', 'whisper-tiny', 'whisper-base', 'zipformer-bilingual']).default('sense-voice'),
          /** Where model archives are downloaded from (the sherpa-onnx GitHub release by default). */
          modelsBaseUrl: z.string().url().default('https://github.com/k2-fsa/sherpa-onnx/releases/download/asr-models'),
          numThreads: z.number().int().min(1).max(16).default(2),
        })
        .prefault({}),
      openai: z
        .object({
          /** OpenAI-compatible base URL (Speaches / faster-whisper server, OpenAI, Groq). Defaults to llm.baseUrl. */
          baseUrl: z.string().url().optional(),
          apiKey: z.string().optional(),
          model: z.string().min(1).default('whisper-1'),
        })
        .prefault({}),
    })
    .prefault({}),
  tts: z
    .object({
      engine: z.enum(TTS_ENGINES).default('flite'),
      /** Engine-specific voice name ('' = the engine's default: flite slt, edge en-US-AriaNeural, ...). */
      voice: z.string().default(''),
      /** Speaking rate multiplier. */
      rate: z.number().min(0.5).max(2).default(1),
      edge: z
        .object({
          /** The read-aloud WebSocket endpoint (configurable so a proxy or a test stand-in can be used). */
          url: z.string().url().default('wss://speech.platform.bing.com/consumer/speech/synthesize/readaloud/edge/v1'),
        })
        .prefault({}),
      openai: z
        .object({
          /** OpenAI-compatible base URL (Kokoro-FastAPI, Speaches, OpenAI). */
          baseUrl: z.string().url().default('http://127.0.0.1:8880/v1'),
          apiKey: z.string().optional(),
          model: z.string().min(1).default('kokoro'),
        })
        .prefault({}),
      gptSovits: z
        .object({
          /** GPT-SoVITS api_v2 server. */
          url: z.string().url().default('http://127.0.0.1:9880'),
          refAudioPath: z.string().default(''),
          promptText: z.string().default(''),
          promptLang: z.string().default('en'),
          textLang: z.string().default('en'),
        })
        .prefault({}),
    })
    .prefault({}),
  memory: z
    .object({
      /** Token budget of the history window sent to the LLM (estimated, not the model's tokenizer). */
      maxContextTokens: z.number().int().min(200).default(2000),
      /** Summarise turns that fall out of the window (with the LLM; extractive when it is unreachable). */
      summarise: z.boolean().default(true),
      /**
       * How long memory waits for long-term recall before going on without it, ms. Covers embedding
       * the query on the device (USE-lite: ~35 ms here) and the hybrid search; a spoken turn's recall
       * starts at its final transcript, so it rarely waits at all.
       */
      recallTimeoutMs: z.number().int().min(0).default(120),
      /** Long-term memories recalled per turn. */
      recallK: z.number().int().min(0).max(20).default(3),
      /**
       * Before `embedder` existed: an OpenAI-compatible embedding model. Still read: when set and
       * `embedder.engine` is left at its default, the engine is 'openai' with this model
       * (resolveEmbedder()).
       */
      embeddingModel: z.string().default(''),
      /** Where `embeddingModel` is served; defaults to the LLM's base URL. */
      embeddingBaseUrl: z.string().url().optional(),
      /** How memories are turned into vectors for recall by meaning (long-term-memory's Embedder). */
      embedder: z
        .object({
          /**
           *   use-lite  on the device, ships with the app: Universal Sentence Encoder lite (512-d,
           *             English only; other scripts fall back to keyword recall)
           *   onnx      on the device, a multilingual sentence model (ONNX) downloaded once into the
           *             data dir (`onnxModel`)
           *   openai    an OpenAI-compatible /v1/embeddings (Ollama nomic-embed-text, bge-m3, ...)
           *   off       keyword recall only (SQLite FTS5)
           * Switching re-embeds the stored memories in the background; recall never waits for it.
           */
          engine: z.enum(['use-lite', 'onnx', 'openai', 'off']).default('use-lite'),
          /** onnx: which model (long-term-memory's ONNX_MODELS). */
          onnxModel: z.string().min(1).default('multilingual-minilm-l12'),
          /** onnx: where model files are downloaded from (a Hugging Face mirror, e.g. https://hf-mirror.com). */
          downloadBaseUrl: z.string().url().default('https://huggingface.co'),
          /** openai: the model name. */
          model: z.string().default('nomic-embed-text'),
          /** openai: the server; defaults to `embeddingBaseUrl`, then the LLM's base URL. */
          baseUrl: z.string().url().optional(),
          apiKey: z.string().optional(),
        })
        .prefault({}),
      /**
       * Memories from finished turns (facts about the speaker, the streamer, promises, preferences,
       * events):
       *   llm    extracted by the LLM (mem0 style: candidates, then add/update/delete against the
       *          nearest stored memories), by rules while the LLM is unreachable
       *   rules  by rules only (no LLM calls)
       *   off    nothing new is stored (recall still works)
       */
      extraction: z.enum(['llm', 'rules', 'off']).default('llm'),
      /** Importance halves every this many days unless a memory is used (recalled) or pinned. */
      decayHalfLifeDays: z.number().positive().default(30),
    })
    .prefault({}),
  dialog: z
    .object({
      /** User speech during the avatar's turn cancels it. */
      bargeIn: z.boolean().default(true),
      /** Typed text while a turn runs: queue it, merge it with other waiting typed text, or drop it. */
      typedPolicy: z.enum(['queue', 'merge', 'drop']).default('queue'),
      /** Live-chat messages while a turn runs. */
      chatPolicy: z.enum(['queue', 'merge', 'drop']).default('merge'),
      /** Most inputs waiting per session; older chat is dropped first. */
      maxQueue: z.number().int().min(1).max(100).default(5),
      /**
       * A turn with no progress this long ends with worker_lost, ms. Generous on purpose: a worker
       * killed mid-turn gets its task back from the reliable queue after its restart, seconds later.
       */
      watchdogMs: z.number().int().min(1).default(60_000),
      /** After speech_end, how long to wait for the utterance's input before calling it noise, ms. */
      noiseMs: z.number().int().min(1).default(5000),
      /** Listening with no speech_end this long goes back to idle, ms. */
      listenMaxMs: z.number().int().min(1).default(30_000),
      /** Without a client's playback_done, a turn ends this long after its audio would have finished playing, ms. */
      playbackMarginMs: z.number().int().min(0).default(1500),
      /** Sessions the dialog engine keeps in memory; idle ones are forgotten first. */
      maxSessions: z.number().int().min(1).default(1000),
    })
    .prefault({}),
  liveChat: z
    .object({
      connections: z.array(ChatConnection).default([]),
      /** The studio session whose avatar answers chat (the studio's own is 'default'). */
      session: z.string().min(1).default('default'),
      arbiter: z
        .object({
          /** Least time between the end of one chat answer and the start of the next, ms. */
          minGapMs: z.number().int().min(0).default(8000),
          /** Messages of one author accepted per window (the rest are dropped as rate_limited). */
          perUserMax: z.number().int().min(1).default(2),
          perUserWindowMs: z.number().int().min(1000).default(60_000),
          /** Waiting messages kept; past it the oldest of the lowest priority go. */
          maxWaiting: z.number().int().min(1).max(10_000).default(200),
          /** An unpaid message waiting longer than this is dropped (aged_out), ms. Paid ones never age out. */
          maxAgeMs: z.number().int().min(1000).default(120_000),
          /** Gifts, subs and memberships arriving within this long are thanked together, ms. */
          thanksBatchMs: z.number().int().min(0).default(5000),
          /** Optional LLM pick: every `everyMs`, the waiting messages go to the LLM, which picks up to `maxPicks`. */
          llmPick: z
            .object({
              enabled: z.boolean().default(false),
              everyMs: z.number().int().min(1000).default(10_000),
              maxPicks: z.number().int().min(1).max(10).default(1),
              /** Slower than this: the rule order picks instead, ms. */
              timeoutMs: z.number().int().min(100).default(3000),
            })
            .prefault({}),
        })
        .prefault({}),
      moderation: z
        .object({
          /** Words (or phrases) never passed to the LLM and never spoken; case-insensitive. */
          bannedWords: z.array(z.string().trim().min(1)).default([]),
          /** Banned authors as `<platform>:<user id>`, or a name (any platform). */
          bannedUsers: z.array(z.string().trim().min(1)).default([]),
          /** Drop messages with links. */
          blockLinks: z.boolean().default(true),
          /** Drop messages that @-mention someone other than the avatar. */
          blockMentions: z.boolean().default(false),
          /** Longer messages are dropped (too_long). */
          maxChars: z.number().int().min(1).max(2000).default(300),
          /** A spoken sentence with a banned word: skip it, or replace the word with `replacement`. */
          outputAction: z.enum(['skip', 'replace']).default('replace'),
          replacement: z.string().default('***'),
        })
        .prefault({}),
    })
    .prefault({}),
  output: z
    .object({
      /**
       * Audio waiting behind a missing sentence this long (nothing new for the turn meanwhile) skips
       * the missing part, ms. Happens only when a TTS instance died with a sentence.
       */
      gapMs: z.number().int().min(1).default(5000),
      /** Turns tracked at once; past it the oldest is forgotten. */
      maxTurns: z.number().int().min(1).default(1000),
      /** A cancelled turn whose turn_end never comes is forgotten after this long, ms. */
      cancelKeepMs: z.number().int().min(1).default(30_000),
      /** Ended turns remembered so that their late messages are dropped. */
      maxClosed: z.number().int().min(1).default(10_000),
    })
    .prefault({}),
  gateway: z
    .object({
      /** How long POST /api/asr waits for the transcript and the reply before answering 504, ms. */
      asrTimeoutMs: z.number().int().positive().default(120_000),
      /**
       * Host names (or addresses) the gateway answers besides loopback ones and the address it is bound
       * to, e.g. ['studio.lan'] to reach it as http://studio.lan:8000. Any other `Host` is refused
       * (a web page of another site reaching 127.0.0.1 through DNS rebinding). No port, no scheme.
       */
      allowedHosts: z
        .array(z.string().regex(/^[^\s/@?#]+$/, 'a host name or address, without scheme, path or port'))
        .default([]),
    })
    .prefault({}),
  input: z
    .object({
      /** Largest accepted upload, bytes. */
      maxBytes: z.number().int().positive().default(25 * 1024 * 1024),
      /** Longest accepted utterance, seconds. */
      maxDurationS: z.number().positive().default(60),
      /** Longest accepted text, characters. */
      maxTextChars: z.number().int().positive().default(4000),
      /**
       * Bytes all unfinished seed `/ws/input` uploads may hold together; an upload beyond is refused.
       * Unset: 4 x maxBytes.
       */
      maxPendingUploadBytes: z.number().int().positive().optional(),
    })
    .prefault({}),
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
  FAV_TTS_VOICE: 'tts.voice',
  FAV_LLM_PRESET: 'llm.preset',
  FAV_ASR_LANGUAGE: 'asr.language',
} as const;

/** Config paths whose values are secrets: never logged, never sent to the renderer in clear. */
export const SECRET_PATHS = ['bus.password', 'llm.apiKey', 'asr.openai.apiKey', 'tts.openai.apiKey', 'memory.embedder.apiKey'] as const;

/** Known OpenAI-compatible LLM servers: base URL, whether a key is needed, and a default model. */
export const LLM_PRESETS = {
  ollama: { baseUrl: 'http://127.0.0.1:11434/v1', needsKey: false, model: 'qwen2.5:7b' },
  lmstudio: { baseUrl: 'http://127.0.0.1:1234/v1', needsKey: false, model: 'local-model' },
  llamacpp: { baseUrl: 'http://127.0.0.1:8080/v1', needsKey: false, model: 'local-model' },
  openai: { baseUrl: 'https://api.openai.com/v1', needsKey: true, model: 'gpt-4o-mini' },
  deepseek: { baseUrl: 'https://api.deepseek.com/v1', needsKey: true, model: 'deepseek-chat' },
  openrouter: { baseUrl: 'https://openrouter.ai/api/v1', needsKey: true, model: 'openai/gpt-4o-mini' },
  custom: { baseUrl: '', needsKey: false, model: '' },
} as const;

/** The LLM endpoint to use: explicit settings win over the preset's. */
export function resolveLlm(llm: Config['llm']): { baseUrl: string; model: string; apiKey: string | undefined; needsKey: boolean } {
  const preset = LLM_PRESETS[llm.preset];
  const baseUrl = llm.baseUrl ?? preset.baseUrl;
  return { baseUrl, model: llm.model ?? (preset.model || 'default'), apiKey: llm.apiKey, needsKey: preset.needsKey && !llm.baseUrl };
}

/** Every persona the control API can switch to: `persona` first (the default), then `personas` by name. */
export function personaList(config: Pick<Config, 'persona' | 'personas'>): PersonaEntry[] {
  const list: PersonaEntry[] = [];
  const main = config.personas.find((p) => p.name === config.persona.name) ?? { name: config.persona.name, systemPrompt: config.persona.systemPrompt };
  list.push(main);
  for (const p of config.personas) if (!list.some((q) => q.name === p.name)) list.push(p);
  return list;
}

/** The embedder long-term-memory runs, with the legacy `memory.embeddingModel` folded in. */
export type ResolvedEmbedder =
  | { engine: 'off' }
  | { engine: 'use-lite' }
  | { engine: 'onnx'; model: string; downloadBaseUrl: string }
  | { engine: 'openai'; model: string; baseUrl: string; apiKey: string | undefined };

export function resolveEmbedder(config: Pick<Config, 'memory' | 'llm'>): ResolvedEmbedder {
  const m = config.memory;
  const e = m.embedder;
  // A settings file from before `embedder`: its embedding model still means the OpenAI-compatible engine.
  const legacy = m.embeddingModel !== '' && e.engine === 'use-lite';
  if (e.engine === 'openai' || legacy) {
    const llm = resolveLlm(config.llm);
    return {
      engine: 'openai',
      model: legacy ? m.embeddingModel : e.model,
      baseUrl: e.baseUrl ?? m.embeddingBaseUrl ?? llm.baseUrl,
      apiKey: e.apiKey ?? llm.apiKey,
    };
  }
  if (e.engine === 'onnx') return { engine: 'onnx', model: e.onnxModel, downloadBaseUrl: e.downloadBaseUrl };
  return { engine: e.engine };
}
