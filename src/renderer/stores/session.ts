/**
 * The page's one session socket, as a store: one SessionClient per page, whichever components
 * (the studio's conversation panel, the overlay's avatar and subtitles) use it. The entry chooses
 * the role once with `start()` (src/shared/session-api.ts: a control socket needs the token, a
 * view socket connects without one on this machine); components read the reactive state and
 * subscribe to the events for as long as they are mounted.
 *
 * The audio flag follows the gateway: a `session_role` notice says when another socket of the
 * session took the audio or gave it back, and a reconnect asks for the audio only if this socket
 * had it, so a network blip does not take it back from the window the user chose.
 */
import { readonly, ref } from 'vue';
import type { SessionAccess, SessionCommand, SessionRole } from '../../shared/voice.js';
import { SessionClient, sessionUrl, type AudioEvent, type NonAudioEvent, type SessionState } from '../voice/session.js';
import { getSessionId, getToken } from '../voice/token.js';

export type Connection = SessionState | 'notoken';

export interface SessionListener {
  onEvent?(event: NonAudioEvent): void;
  onAudio?(meta: AudioEvent, pcm: ArrayBuffer): void;
  onState?(state: Connection, info: { retryInMs?: number; code?: number }): void;
  onProtocolError?(message: string): void;
}

function createSessionStore() {
  const connection = ref<Connection>('connecting');
  const retryInMs = ref<number>();
  const sessionId = ref('');
  const role = ref<SessionRole>('control');
  /** This socket gets the reply audio (and reports playback_done). */
  const audio = ref(false);
  const listeners = new Set<SessionListener>();
  let client: SessionClient | undefined;
  let started: Promise<void> | undefined;
  let disposed = false;

  const each = (f: (l: SessionListener) => void) => {
    for (const l of [...listeners]) f(l);
  };

  function setState(state: Connection, info: { retryInMs?: number; code?: number }): void {
    connection.value = state;
    retryInMs.value = info.retryInMs;
    each((l) => l.onState?.(state, info));
  }

  async function open(access: SessionAccess): Promise<void> {
    role.value = access.role;
    audio.value = access.audio;
    sessionId.value = getSessionId();
    const token = await getToken();
    if (disposed) return;
    if (!token && access.role === 'control') return setState('notoken', {});
    const c = new SessionClient({
      url: () => sessionUrl(window.location, token, sessionId.value, { role: role.value, audio: audio.value }),
      handlers: {
        onEvent(ev) {
          if (ev.type === 'session_role') audio.value = ev.audio;
          each((l) => l.onEvent?.(ev));
        },
        onAudio(meta, pcm) {
          each((l) => l.onAudio?.(meta, pcm));
        },
        onState: setState,
        onProtocolError(message) {
          each((l) => l.onProtocolError?.(message));
        },
      },
    });
    client = c;
    c.connect();
  }

  return {
    connection: readonly(connection),
    retryInMs: readonly(retryInMs),
    sessionId: readonly(sessionId),
    role: readonly(role),
    audio: readonly(audio),
    /** The page's SessionClient once started (for counters in debug views). */
    get client(): SessionClient | undefined {
      return client;
    },
    /** Opens the page's socket; later calls return the first one's promise (the role stays). */
    start(access: SessionAccess): Promise<void> {
      started ??= open(access);
      return started;
    },
    /** Listens until the returned function is called. */
    subscribe(listener: SessionListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    send(cmd: SessionCommand): boolean {
      return client?.send(cmd) ?? false;
    },
    startMic(language?: string): void {
      client?.startMic(language);
    },
    stopMic(): void {
      client?.stopMic();
    },
    sendPcm(pcm: ArrayBuffer): boolean {
      return client?.sendPcm(pcm) ?? false;
    },
    /** Play the audio in this window (the gateway moves it here and tells the window that had it). */
    claimAudio(): void {
      audio.value = true;
      client?.send({ type: 'claim_audio' });
    },
    dispose(): void {
      disposed = true;
      client?.dispose();
      client = undefined;
      listeners.clear();
    },
  };
}

export type SessionStore = ReturnType<typeof createSessionStore>;

let store: SessionStore | undefined;

/** The page's session store (created on first use). */
export function useSession(): SessionStore {
  return (store ??= createSessionStore());
}

/** Closes the page's socket and forgets the store (page teardown, tests). */
export function disposeSession(): void {
  store?.dispose();
  store = undefined;
}
