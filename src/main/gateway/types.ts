/**
 * What the gateway needs from the rest of the core. Kept as narrow interfaces so the gateway can be
 * tested with the real supervisor or alone, and so it never reaches into their internals.
 */
import type { BusReader } from './bus-lengths.js';
import type { ChatRoutesOptions } from './chat-routes.js';
import type { MemoryRoutesOptions } from './memory-routes.js';
import type { ModelsRoutesOptions } from './models-routes.js';
import type { SetupRoutesOptions } from './setup-routes.js';
import type { SettingsRoutesOptions } from './settings-routes.js';
import type { SpeechRoutesOptions } from './speech-routes.js';
import type { VoiceOptions } from './voice/options.js';

export interface ServiceView {
  name: string;
  /** starting | ready | unhealthy | restarting | failed | stopped */
  state: string;
  restarts?: number;
  instances?: ReadonlyArray<{ pid?: number; state?: string }>;
  /** What the running service wants the user to know (shown in /health and the studio). */
  notice?: string;
}

export interface ServicesSource {
  status(): ServiceView[];
  restart(name: string): Promise<void>;
  /** Stop one service and keep it stopped (the manager); absent: the manager offers restart only. */
  stopService?(name: string): Promise<void>;
  /** Start a service that was stopped or failed. */
  startService?(name: string): Promise<void>;
}

export interface LogRecordView {
  service?: string;
}

export interface LogSource {
  tail(n: number, service?: string): LogRecordView[];
  subscribe(listener: (record: LogRecordView) => void): () => void;
}

export interface BusView {
  kind: 'embedded' | 'external';
  /** The bus URL with credentials removed. */
  url: string;
  ping(): Promise<boolean>;
  /** A core bus connection the manager reads queue and stream lengths over. */
  reader?: BusReader;
}

export interface GatewayDeps {
  version: string;
  token: string;
  services: ServicesSource;
  logs: LogSource;
  bus: BusView;
  /** Built renderer (index.html and assets); the status page stands in when it is missing. */
  rendererDir?: string;
  /** Redacted configuration, shown to token holders. */
  config?: () => unknown;
  /** The voice endpoints (seed /ws/input, /ws/output, /api/asr, /control/stop; studio /api/session). Absent: not served. */
  voice?: VoiceOptions;
  /** The Live2D model library (/api/models, /models/<id>/...). Absent: not served. */
  models?: ModelsRoutesOptions;
  /** The first-run detection (GET /api/setup). Absent: it answers that this is no first run. */
  setup?: SetupRoutesOptions;
  /** The settings page's API (/api/settings...). Absent: not served. */
  settings?: SettingsRoutesOptions;
  /** The speech settings' helpers (TTS preview and voices, sherpa-onnx models), asked of the workers over the bus. Absent: not served. */
  speech?: SpeechRoutesOptions;
  /** The chat panel's feed and buttons (/api/chat...) and /health's liveChat. Absent: not served, liveChat []. */
  chat?: ChatRoutesOptions;
  /** The memory view (/api/memory...), asked of long-term-memory over the bus, and the last replies' memories. Absent: not served. */
  memory?: MemoryRoutesOptions;
}
