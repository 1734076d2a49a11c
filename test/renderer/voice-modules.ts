/**
 * The DOM-free modules of src/renderer/voice (resampler, session client, conversation model) for
 * Node tests. WORKAROUND: tsconfig.test.json does not list src/renderer files, so a static import
 * of them fails `tsc -b` with TS6307. They are loaded here with a computed specifier (vitest
 * transforms them as usual; tsc does not follow it) and typed with the shapes the tests use.
 * Once tsconfig.test.json includes these four files, replace this loader by static imports.
 */
import type { ClientEvent, Emotion, SessionCommand, TurnState } from '../../src/shared/voice.js';

export type AudioEvent = Extract<ClientEvent, { type: 'audio' }>;
export type NonAudioEvent = Exclude<ClientEvent, { type: 'audio' }>;
export type SessionState = 'connecting' | 'open' | 'closed' | 'refused';

export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
}

export interface SessionClient {
  readonly isOpen: boolean;
  readonly stats: Record<'opened' | 'framesSent' | 'framesDropped' | 'eventsIn' | 'audioIn' | 'protocolErrors' | 'queuedDropped' | 'handleMs', number>;
  connect(): void;
  send(cmd: SessionCommand): boolean;
  startMic(language?: string): void;
  stopMic(): void;
  sendPcm(pcm: ArrayBuffer): boolean;
  dispose(): void;
}

export interface SessionOptions {
  url: string;
  createSocket?: (url: string) => SocketLike;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  maxBufferedBytes?: number;
  handlers: {
    onEvent(event: NonAudioEvent): void;
    onAudio(meta: AudioEvent, pcm: ArrayBuffer): void;
    onState(state: SessionState, info: { retryInMs?: number; code?: number }): void;
    onProtocolError(message: string): void;
  };
}

export interface Entry {
  id: number;
  role: 'user' | 'assistant';
  text: string;
  final: boolean;
  turnId?: string;
  source?: 'mic' | 'typed';
  status?: 'interrupted' | 'failed';
}

export interface ConversationState {
  entries: Entry[];
  turnState: TurnState;
  emotion: Emotion | undefined;
  alerts: Array<{ id: number; title: string; message: string; code?: string }>;
  nextId: number;
}

export interface StreamResampler {
  maxOutput(inputLength: number): number;
  process(input: Float32Array, out: Float32Array): number;
}

interface SessionModule {
  SessionClient: new (opts: SessionOptions) => SessionClient;
  sessionUrl(location: { protocol: string; host: string }, token: string, session: string): string;
}
interface ConversationModule {
  MAX_ENTRIES: number;
  createConversation(): ConversationState;
  addTyped(state: ConversationState, text: string): void;
  applyEvent(state: ConversationState, ev: NonAudioEvent): void;
}
interface ResamplerModule {
  StreamResampler: new (inRate: number, outRate: number) => StreamResampler;
}

const load = <T>(name: string): Promise<T> => import(/* @vite-ignore */ `../../src/renderer/voice/${name}.js`) as Promise<T>;

export const loadSession = () => load<SessionModule>('session');
export const loadConversation = () => load<ConversationModule>('conversation');
export const loadResampler = () => load<ResamplerModule>('resampler');
