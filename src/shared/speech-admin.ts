/**
 * The studio's speech admin over the bus: the gateway asks the tts worker for a voice preview or its
 * voice list (`fav:tts:admin`) and the asr worker to list, download, cancel or delete sherpa-onnx
 * models (`fav:asr:models`). Request/reply over pub/sub: a request carries a `request_id`, the answer
 * goes to `<channel>:<request_id>` (the workers' serveRequests). A failure names a stable `code`
 * (the page translates it), the English `error` and the `fix`.
 * Imports nothing of ours but its siblings in src/shared.
 */
import { z } from 'zod';
import { TTS_ENGINES } from './config.js';

export const SpeechChannels = {
  ttsAdmin: 'fav:tts:admin',
  ttsAdminReply: (requestId: string) => `fav:tts:admin:${requestId}`,
  asrModels: 'fav:asr:models',
  asrModelsReply: (requestId: string) => `fav:asr:models:${requestId}`,
} as const;
export const TTS_ADMIN_REPLY_PATTERN = 'fav:tts:admin:*';
export const ASR_MODELS_REPLY_PATTERN = 'fav:asr:models:*';

/** Longest preview text, characters; the audio is cut at PREVIEW_MAX_AUDIO_MS. */
export const PREVIEW_MAX_CHARS = 300;
/** Longest preview audio: keeps the reply (base64 WAV on pub/sub) well under a megabyte and a half. */
export const PREVIEW_MAX_AUDIO_MS = 20_000;

const RequestBase = { request_id: z.string().min(1), ts: z.number() };

export const TtsPreviewBody = z.object({
  engine: z.enum(TTS_ENGINES),
  /** '' = the engine's default voice. */
  voice: z.string().max(200).default(''),
  text: z.string().trim().min(1, 'type something to say').max(PREVIEW_MAX_CHARS),
  rate: z.number().min(0.5).max(2).default(1),
});
export type TtsPreviewBody = z.infer<typeof TtsPreviewBody>;

export const TtsAdminRequest = z.discriminatedUnion('action', [
  z.object({ ...RequestBase, action: z.literal('voices') }),
  z.object({ ...RequestBase, action: z.literal('preview'), ...TtsPreviewBody.shape }),
]);
export type TtsAdminRequest = z.infer<typeof TtsAdminRequest>;

export const TtsEngineVoices = z.object({
  engine: z.enum(TTS_ENGINES),
  /** The voice used when `tts.voice` is ''. */
  defaultVoice: z.string(),
  /** Known voices (a few examples for engines with many). */
  voices: z.array(z.string()),
  /** Any other voice name may be typed (the engine or its server decides). */
  freeText: z.boolean(),
  /** none: runs on this machine; server: needs its server (URL in the settings); internet: a cloud service. */
  network: z.enum(['none', 'server', 'internet']),
  /** Why the list is empty or the engine cannot run here (e.g. espeak-ng not installed), with the fix. */
  problem: z.string().optional(),
});
export type TtsEngineVoices = z.infer<typeof TtsEngineVoices>;

const FailureFields = {
  code: z.string().optional(),
  error: z.string().optional(),
  fix: z.string().optional(),
};

export const TtsAdminReply = z.object({
  request_id: z.string(),
  ok: z.boolean(),
  /** preview: the WAV (16-bit mono), base64. */
  wav_b64: z.string().optional(),
  duration_ms: z.number().optional(),
  /** preview: the speech ran past PREVIEW_MAX_AUDIO_MS and was cut there. */
  truncated: z.boolean().optional(),
  /** voices: every engine. */
  engines: z.array(TtsEngineVoices).optional(),
  ...FailureFields,
});
export type TtsAdminReply = z.infer<typeof TtsAdminReply>;

/** settings-api.ts SpeechModelView, as a schema. */
export const SpeechModel = z.object({
  name: z.string(),
  languages: z.string(),
  sizeBytes: z.number().optional(),
  state: z.enum(['absent', 'downloading', 'installed', 'broken']),
  progress: z.object({ receivedBytes: z.number(), totalBytes: z.number().optional() }).optional(),
  error: z.string().optional(),
  active: z.boolean().optional(),
  partialBytes: z.number().optional(),
  fix: z.string().optional(),
  code: z.string().optional(),
});

export const ASR_MODEL_ACTIONS = ['list', 'download', 'cancel', 'delete'] as const;

export const AsrModelsRequest = z.object({
  ...RequestBase,
  action: z.enum(ASR_MODEL_ACTIONS),
  /** Every action but list. */
  name: z.string().max(100).optional(),
});
export type AsrModelsRequest = z.infer<typeof AsrModelsRequest>;

export const AsrModelsReply = z.object({
  request_id: z.string(),
  ok: z.boolean(),
  /** The list after the action. */
  models: z.array(SpeechModel).optional(),
  ...FailureFields,
});
export type AsrModelsReply = z.infer<typeof AsrModelsReply>;
