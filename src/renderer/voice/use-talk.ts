/**
 * The conversation panel's state: the conversation model and the mic, on the page's session and
 * player stores (src/renderer/stores: one socket and one player per page, shared with any other
 * component), as reactive values for TalkPanel.vue. The panel's own subscriptions, mic and alerts
 * are released on unmount; the stores live as long as the page.
 *
 * It also puts a read-only debug view on `window.__favVoice` (counters, the playback schedule, the
 * mouth value, the output level): no secrets, used by the browser tests and handy in devtools.
 */
import { onBeforeUnmount, onMounted, reactive, readonly, ref } from 'vue';
import { usePlayer } from '../stores/player.js';
import { useSession } from '../stores/session.js';
import { addAlert, addTyped, applyEvent, createConversation, dismissAlert } from './conversation.js';
import { openMic, describeMicError, type MicHandle } from './mic.js';
import { STRINGS } from './strings.js';

export type { Connection } from '../stores/session.js';
export type MicMode = 'toggle' | 'push';

/** SessionCommand `text` limit. */
export const MAX_TEXT = 4000;
/** A protocol error is shown at most once per this many ms (the console gets every one). */
const PROTOCOL_ALERT_EVERY_MS = 10_000;

export function useTalk() {
  const session = useSession();
  const playback = usePlayer();
  const { player } = playback;
  const conversation = reactive(createConversation());
  const micOn = ref(false);
  const micBusy = ref(false);
  const micLevel = ref(0);
  const micMode = ref<MicMode>('toggle');
  /** The control API (or a hotkey through it) muted the mic: it stays off until unmuted. */
  const muted = ref(false);
  /** The mic was on when the mute came: unmuting turns it back on. */
  let micOnBeforeMute = false;

  let mic: MicHandle | undefined;
  /** Start and stop of the mic run one after another (push-to-talk can release before start ends). */
  let micChain: Promise<void> = Promise.resolve();
  let lastProtocolAlert = 0;
  let disposed = false;
  const debug = { micFrames: 0, micBytes: 0, micInputRate: 0 };

  function sendText(raw: string): boolean {
    const text = raw.trim();
    if (!text) return false;
    if (text.length > MAX_TEXT) {
      addAlert(conversation, { title: STRINGS.messageTitle, message: STRINGS.tooLong(text.length, MAX_TEXT), severity: 'warning' });
      return false;
    }
    player.resume();
    addTyped(conversation, text);
    if (!session.client) addAlert(conversation, { title: STRINGS.connection.notoken, message: STRINGS.noToken });
    else if (!session.send({ type: 'text', text, source: 'typed' })) addAlert(conversation, { title: STRINGS.offlineTitle, message: STRINGS.notConnected, code: 'offline', severity: 'info' });
    return true;
  }

  /** The stop button: silence now, and ask the core to stop the turn. */
  function stop(): void {
    player.stop();
    session.send({ type: 'stop' });
  }

  function startMic(): Promise<void> {
    micChain = micChain.then(async () => {
      if (mic || disposed || muted.value) return;
      micBusy.value = true;
      player.resume();
      try {
        const handle = await openMic({
          onFrame(pcm, level) {
            debug.micFrames++;
            debug.micBytes += pcm.byteLength;
            micLevel.value = level;
            session.sendPcm(pcm);
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
        session.startMic();
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
      session.stopMic();
      micOn.value = false;
      micLevel.value = 0;
    });
    return micChain;
  }

  function toggleMic(): Promise<void> {
    return mic ? stopMic() : startMic();
  }

  const debugView = Object.freeze({
    stats: () => {
      const ctx = player.context;
      const client = session.client;
      return {
        ...player.stats,
        log: player.stats.log.slice(),
        activeSources: player.activeSources,
        mouth: player.mouthValue,
        contextTime: ctx?.currentTime ?? 0,
        playingTime: ctx ? player.playingTime(ctx) : 0,
        outputTimestamp: ctx?.getOutputTimestamp?.(),
        contextState: ctx?.state ?? 'none',
        ...playback.debug,
        ...debug,
        playbackDone: playback.debug.playbackDone.slice(),
        mouthTrace: playback.debug.mouthTrace.slice(),
        session: client ? { ...client.stats } : undefined,
        connection: session.connection.value,
        audio: session.audio.value,
        micOn: micOn.value,
        muted: muted.value,
      };
    },
    outputLevel: () => player.outputLevel(),
  });

  /** mic_mute from the gateway: stop capturing now (the gateway sees mic_stop), or resume. */
  function setMuted(value: boolean): void {
    if (muted.value === value) return;
    muted.value = value;
    if (value) {
      micOnBeforeMute = mic !== undefined;
      void stopMic();
    } else if (micOnBeforeMute && micMode.value === 'toggle') {
      micOnBeforeMute = false;
      void startMic();
    }
  }

  const unsubscribe = session.subscribe({
    onEvent(ev) {
      if (ev.type === 'mic_mute') return setMuted(ev.muted);
      applyEvent(conversation, ev);
    },
    onState(state, info) {
      if (state === 'notoken') addAlert(conversation, { title: STRINGS.connection.notoken, message: STRINGS.noToken });
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
  });

  onMounted(() => {
    (window as unknown as { __favVoice?: unknown }).__favVoice = debugView;
    // The studio: commands and mic, and the reply audio plays here.
    void session.start({ role: 'control', audio: true });
  });

  onBeforeUnmount(() => {
    disposed = true;
    unsubscribe();
    void stopMic();
    const w = window as unknown as { __favVoice?: unknown };
    if (w.__favVoice === debugView) delete w.__favVoice;
  });

  return {
    conversation: readonly(conversation),
    connection: session.connection,
    retryInMs: session.retryInMs,
    micOn: readonly(micOn),
    micBusy: readonly(micBusy),
    micLevel: readonly(micLevel),
    micMode,
    muted: readonly(muted),
    mouth: playback.mouth,
    audioBlocked: playback.audioBlocked,
    /** This window plays the reply audio (false: another window of the session took it). */
    audioHere: session.audio,
    sessionId: session.sessionId,
    sendText,
    stop,
    startMic,
    stopMic,
    toggleMic,
    enableAudio: playback.resume,
    playAudioHere: session.claimAudio,
    dismissAlert: (id: number) => dismissAlert(conversation, id),
    /** Mute state from the control API's state, for a page that opens while muted. */
    setMuted,
  };
}
