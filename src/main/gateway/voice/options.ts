/**
 * What the voice endpoints need from the core, and their tunables. The gateway talks to the
 * pipeline only through the bus (`busUrl`), so it runs the same against the embedded bus or Redis.
 */
export type VoiceLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type VoiceLog = (level: VoiceLogLevel, msg: string, fields?: Record<string, unknown>) => void;

export interface VoiceOptions {
  /** The bus URL, password included (the gateway opens two connections: commands and fav:deliver). */
  busUrl: string;
  /**
   * Input limits (settings `input`): upload bytes, typed text characters, and the bytes all
   * unfinished `/ws/input` uploads may hold together.
   */
  input: { maxBytes: number; maxTextChars: number; maxPendingUploadBytes?: number };
  /** How long `POST /api/asr` waits for the transcript and reply before answering 504, ms. */
  asrTimeoutMs?: number;
  /** How long a seed task keeps its output for a `/ws/output/{task_id}` socket that has not come, ms. */
  seedTaskTtlMs?: number;
  /** Bytes of output buffered per seed task while its output socket is absent; audio beyond is dropped. */
  seedBufferBytes?: number;
  /** Seed tasks waiting at once (input sockets open or outputs unclaimed); more are refused. */
  maxSeedTasks?: number;
  /**
   * Bytes held by unfinished `/ws/input` uploads of all sockets together (default: settings
   * input.maxPendingUploadBytes, else 4 x input.maxBytes).
   */
  maxPendingUploadBytes?: number;
  /** Most chunks one `/ws/input` upload may have. */
  maxChunks?: number;
  /** A socket's unsent bytes beyond which audio is dropped for it (text still goes), bytes. */
  maxSocketBufferBytes?: number;
  /** Largest binary mic frame on the session socket, bytes (32000 = 1 s of 16 kHz s16le). */
  maxMicFrameBytes?: number;
  /** Session of studio clients that name none with `?session=` (a seed upload is its own session). */
  defaultSession?: string;
  /** Structured log lines (the app routes them to the log hub as service 'gateway'). */
  log?: VoiceLog;
}

export type ResolvedVoiceOptions = Required<VoiceOptions>;

export function resolveVoiceOptions(o: VoiceOptions): ResolvedVoiceOptions {
  return {
    busUrl: o.busUrl,
    input: o.input,
    asrTimeoutMs: o.asrTimeoutMs ?? 120_000,
    seedTaskTtlMs: o.seedTaskTtlMs ?? 5 * 60_000,
    seedBufferBytes: o.seedBufferBytes ?? 32 * 1024 * 1024,
    maxSeedTasks: o.maxSeedTasks ?? 1000,
    maxPendingUploadBytes: o.maxPendingUploadBytes ?? o.input.maxPendingUploadBytes ?? 4 * o.input.maxBytes,
    maxChunks: o.maxChunks ?? 10_000,
    maxSocketBufferBytes: o.maxSocketBufferBytes ?? 4 * 1024 * 1024,
    maxMicFrameBytes: o.maxMicFrameBytes ?? 32_000,
    defaultSession: o.defaultSession ?? 'default',
    log: o.log ?? (() => {}),
  };
}

/** Session ids as the studio and seed clients send them (uuids, short names). */
export const SESSION_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
