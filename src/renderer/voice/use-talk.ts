/**
 * The conversation panel's state: wires the session socket, the mic, the player and the
 * conversation model into reactive values for TalkPanel.vue (and, through `mouth`, the avatar of a
 * later issue). One instance per mounted panel; everything it opens is released on unmount.
 *
 * It also puts a read-only debug view on `window.__favVoice` (counters, the playback schedule, the
 * mouth value, the output level): no secrets, used by the browser tests and handy in devtools.
 */
import { onBeforeUnmount, onMounted, reactive, readonly, ref, shallowRef } from 'vue';
import type { SessionCommand } from '../../shared/voice.js';
import { addAlert, addTyped, applyEvent, createConversation, dismissAlert } from './conversation.js';
import { openMic, describeMicError, type MicHandle } from './mic.js';
import { Player } from './player.js';
import { SessionClient, sessionUrl, type SessionState } from './session.js';
import { STRINGS } from './strings.js';
import { getSessionId, getToken } from './token.js';

export type Connection = SessionState | 'notoken';
export type MicMode = 'toggle' | 'push';

/** SessionCommand `text` limit. */
export const MAX_TEXT = 4000;
/** A protocol error is shown at most once per this many ms (the console gets every one). */
const PROTOCOL_ALERT_EVERY_MS = 10_000;

export function useTalk() {
  const conversation = reactive(createConversation());
  const connection = ref<Connection>('connecting');
  const retryInMs = ref<number>();
  const micOn = ref(false);
  const micBusy = ref(false);
  const micLevel = ref(0);
  const micMode = ref<MicMode>('toggle');
  /** Mouth-open value in [0, 1] from the playing audio's envelope (for the avatar). */
  const mouth = shallowRef(0);
  const audioBlocked = ref(false);
  const sessionId = ref('');

  let client: SessionClient | undefined;
  let mic: MicHandle | undefined;
  /** Start and stop of the mic run one after another (push-to-talk can release before start ends). */
  let micChain: Promise<void> = Promise.resolve();
  let lastProtocolAlert = 0;
  let disposed = false;
  const debug = { micFrames: 0, micBytes: 0, micInputRate: 0, mouthMax: 0, mouthFrames: 0, playbackDone: [] as string[], mouthTrace: [] as [number, number][] };

  const player = new Player({
    onPlaybackDone(turnId) {
      debug.playbackDone.push(turnId);
      if (debug.playbackDone.length > 32) debug.playbackDone.shift();
      client?.send({ type: 'playback_done', turn_id: turnId });
    },
    onMouth(value, at) {
      mouth.value = value;
      debug.mouthTrace.push([at, value]);
      if (debug.mouthTrace.length > 512) debug.mouthTrace.shift();
      if (value > 0) debug.mouthFrames++;
      if (value > debug.mouthMax) debug.mouthMax = value;
    },
    onBlocked(blocked) {
      audioBlocked.value = blocked;
    },
  });

  function send(cmd: SessionCommand): boolean {
    return client?.send(cmd) ?? false;
  }

  function sendText(raw: string): boolean {
    const text = raw.trim();
    if (!text) return false;
    if (text.length > MAX_TEXT) {
      addAlert(conversation, { title: STRINGS.messageTitle, message: STRINGS.tooLong(text.length, MAX_TEXT), severity: 'warning' });
      return false;
    }
    player.resume();
    addTyped(conversation, text);
    if (!client) addAlert(conversation, { title: STRINGS.connection.notoken, message: STRINGS.noToken });
    else if (!send({ type: 'text', text, source: 'typed' })) addAlert(conversation, { title: STRINGS.offlineTitle, message: STRINGS.notConnected, code: 'offline', severity: 'info' });
    return true;
  }

  /** The stop button: silence now, and ask the core to stop the turn. */
  function stop(): void {
    player.stop();
    send({ type: 'stop' });
  }

  function startMic(): Promise<void> {
    micChain = micChain.then(async () => {
      if (mic || disposed) return;
      micBusy.value = true;
      player.resume();
      try {
        const handle = await openMic({
          onFrame(pcm, level) {
            debug.micFrames++;
            debug.micBytes += pcm.byteLength;
            micLevel.value = level;
            client?.sendPcm(pcm);
          },
          onEnded(message) {
            addAlert(conversation, { title: STRINGS.micTitle, message });
            void stopMic();
          },
        });
        if (disposed) {
          await handle.stop();
          return;
        }
        mic = handle;
        debug.micInputRate = handle.inputRate;
        client?.startMic();
        micOn.value = true;
      } catch (err) {
        const e = describeMicError(err);
        addAlert(conversation, { title: STRINGS.micTitle, message: e.message, code: e.code });
      } finally {
        micBusy.value = false;
      }
    });
    return micChain;
  }

  function stopMic(): Promise<void> {
    micChain = micChain.then(async () => {
      const handle = mic;
      if (!handle) return;
      mic = undefined;
      await handle.stop(); // posts the tail frame while the session still has the mic open
      client?.stopMic();
      micOn.value = false;
      micLevel.value = 0;
    });
    return micChain;
  }

  function toggleMic(): Promise<void> {
    return mic ? stopMic() : startMic();
  }

  function onGesture(): void {
    player.resume();
  }

  const debugView = Object.freeze({
    stats: () => {
      const ctx = player.context;
      return {
        ...player.stats,
        log: player.stats.log.slice(),
        activeSources: player.activeSources,
        mouth: player.mouthValue,
        contextTime: ctx?.currentTime ?? 0,
        playingTime: ctx ? player.playingTime(ctx) : 0,
        outputTimestamp: ctx?.getOutputTimestamp?.(),
        contextState: ctx?.state ?? 'none',
        ...debug,
        playbackDone: debug.playbackDone.slice(),
        mouthTrace: debug.mouthTrace.slice(),
        session: client ? { ...client.stats } : undefined,
        connection: connection.value,
        micOn: micOn.value,
      };
    },
    outputLevel: () => player.outputLevel(),
  });

  onMounted(async () => {
    document.addEventListener('pointerdown', onGesture, true);
    document.addEventListener('keydown', onGesture, true);
    (window as unknown as { __favVoice?: unknown }).__favVoice = debugView;
    sessionId.value = getSessionId();
    const token = await getToken();
    if (disposed) return;
    if (!token) {
      connection.value = 'notoken';
      addAlert(conversation, { title: STRINGS.connection.notoken, message: STRINGS.noToken });
      return;
    }
    client = new SessionClient({
      url: sessionUrl(window.location, token, sessionId.value),
      handlers: {
        onEvent(ev) {
          if (ev.type === 'stop') player.stop(ev.turn_id);
          else if (ev.type === 'audio_end') player.audioEnd(ev.turn_id);
          else if (ev.type === 'turn_end') player.turnEnd(ev.turn_id);
          applyEvent(conversation, ev);
        },
        onAudio(meta, pcm) {
          player.enqueue(meta, pcm);
        },
        onState(state, info) {
          connection.value = state;
          retryInMs.value = info.retryInMs;
          // The queued messages went out with the reconnect: the offline notice is stale.
          if (state === 'open') for (const a of conversation.alerts.filter((x) => x.code === 'offline')) dismissAlert(conversation, a.id);
          if (state === 'refused') {
            const message = info.code === 4400 ? STRINGS.badSession : STRINGS.tokenRefused;
            addAlert(conversation, { title: STRINGS.connection.refused, message, code: `closed_${info.code}` });
          }
        },
        onProtocolError(message) {
          console.warn(`[session] ${message}`);
          const now = Date.now();
          if (now - lastProtocolAlert > PROTOCOL_ALERT_EVERY_MS) {
            lastProtocolAlert = now;
            addAlert(conversation, { title: STRINGS.protocolTitle, message: `${STRINGS.protocolError} (${message})`, severity: 'warning' });
          }
        },
      },
    });
    client.connect();
  });

  onBeforeUnmount(() => {
    disposed = true;
    document.removeEventListener('pointerdown', onGesture, true);
    document.removeEventListener('keydown', onGesture, true);
    void stopMic();
    client?.dispose();
    player.dispose();
    const w = window as unknown as { __favVoice?: unknown };
    if (w.__favVoice === debugView) delete w.__favVoice;
  });

  return {
    conversation: readonly(conversation),
    connection: readonly(connection),
    retryInMs: readonly(retryInMs),
    micOn: readonly(micOn),
    micBusy: readonly(micBusy),
    micLevel: readonly(micLevel),
    micMode,
    mouth: readonly(mouth),
    audioBlocked: readonly(audioBlocked),
    sessionId: readonly(sessionId),
    sendText,
    stop,
    startMic,
    stopMic,
    toggleMic,
    enableAudio: onGesture,
    dismissAlert: (id: number) => dismissAlert(conversation, id),
  };
}
